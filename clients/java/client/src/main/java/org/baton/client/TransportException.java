package org.baton.client;

/** The request got no HTTP answer (connection refused, reset, timed out), after the retries. */
public class TransportException extends BatonException {
  private static final long serialVersionUID = 1L;

  /** Creates the error around the I/O failure. */
  public TransportException(String message, Throwable cause) {
    super(message, cause);
  }
}
