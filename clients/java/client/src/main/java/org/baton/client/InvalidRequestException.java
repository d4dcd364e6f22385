package org.baton.client;

/** 422: the request body or parameters are not valid for this API version. */
public class InvalidRequestException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public InvalidRequestException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
