package org.baton.sdk;

import org.baton.client.BatonException;

/**
 * The worker cannot go on: its credential was refused, the server is too old for it ("upgrade the
 * server"), its bundles cannot be loaded, or it was configured wrongly.
 */
public class WorkerException extends BatonException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message. */
  public WorkerException(String message) {
    super(message);
  }

  /** Creates the error with a message and its cause. */
  public WorkerException(String message, Throwable cause) {
    super(message, cause);
  }
}
