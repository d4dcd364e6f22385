package org.baton.client;

/** 413: the request body is over the server's limit. */
public class PayloadTooLargeException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public PayloadTooLargeException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
