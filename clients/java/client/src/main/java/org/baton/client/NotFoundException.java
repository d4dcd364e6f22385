package org.baton.client;

/** 404: no such resource (or route, in this API version). */
public class NotFoundException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public NotFoundException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
