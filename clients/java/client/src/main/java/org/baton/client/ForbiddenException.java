package org.baton.client;

/** 403: the token may not touch this resource. */
public class ForbiddenException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public ForbiddenException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
