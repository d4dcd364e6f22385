package org.baton.sdk;

import org.baton.client.BatonException;

/** No connection of that id on the server. */
public class ConnectionNotFoundException extends BatonException {
  private static final long serialVersionUID = 1L;

  /** Creates the error for a connection id, with the server's answer as its cause. */
  public ConnectionNotFoundException(String connectionId, Throwable cause) {
    super("no connection '" + connectionId + "'", cause);
  }
}
