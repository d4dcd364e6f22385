package org.baton.client;

/** 400: the server does not serve the API version this client was generated for. */
public class VersionMismatchException extends BadRequestException {
  private static final long serialVersionUID = 1L;

  /** Creates the error from the answer's status, reason, message and request id. */
  public VersionMismatchException(int status, String reason, String message, String requestId) {
    super(status, reason, message, requestId);
  }
}
