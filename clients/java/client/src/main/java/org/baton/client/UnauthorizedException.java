package org.baton.client;

/** 401: the token is missing, invalid, expired or revoked. */
public class UnauthorizedException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public UnauthorizedException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
