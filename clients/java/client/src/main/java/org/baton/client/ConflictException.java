package org.baton.client;

/** 409: the resource is not in a state that allows this request. */
public class ConflictException extends ApiErrorException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public ConflictException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
