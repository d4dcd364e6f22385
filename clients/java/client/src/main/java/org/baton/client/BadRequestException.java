package org.baton.client;

/** 400: the request was refused before it reached a handler. */
public class BadRequestException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public BadRequestException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
