package org.baton.sdk;

import org.baton.client.BatonException;

/**
 * A worker-side secret cannot be read: the secrets file is missing or malformed, or a
 * {@code BATON_CONN_<ID>} variable (or a connection of the file) is neither a connection URI nor a
 * connection's JSON object. The message names the file or the variable, never the secret.
 */
public class SecretsException extends BatonException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message. */
  public SecretsException(String message) {
    super(message);
  }

  /** Creates the error with a message and its cause. */
  public SecretsException(String message, Throwable cause) {
    super(message, cause);
  }
}
