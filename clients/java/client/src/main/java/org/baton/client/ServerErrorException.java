package org.baton.client;

/** 5xx: the server failed; idempotent requests were already retried. */
public class ServerErrorException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public ServerErrorException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
