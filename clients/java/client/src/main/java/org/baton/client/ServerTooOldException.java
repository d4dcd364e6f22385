package org.baton.client;

/** 400: this client speaks a newer API version than the server knows; upgrade the server. */
public class ServerTooOldException extends VersionMismatchException {
  private static final long serialVersionUID = 1L;

  /** Creates the error; its message tells the reader to upgrade the server. */
  public ServerTooOldException(int status, String reason, String message, String requestId) {
    super(status, reason, "upgrade the Baton server: " + message, requestId);
  }
}
