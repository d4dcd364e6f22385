package org.baton.sdk;

import org.baton.client.BatonException;

/** No variable of that key on the server. */
public class VariableNotFoundException extends BatonException {
  private static final long serialVersionUID = 1L;

  /** Creates the error for a key, with the server's answer as its cause. */
  public VariableNotFoundException(String key, Throwable cause) {
    super("no variable '" + key + "'", cause);
  }
}
