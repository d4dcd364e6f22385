package org.baton.client;

import java.util.regex.Pattern;

/**
 * A variable key, connection id or XCom address (DAG, run, task, key) the API cannot take: empty,
 * past 250 characters, or with a character it does not allow ({@code /} among them). Thrown before
 * anything is sent: the server would answer some of them 404, which reads as "not set".
 */
public class InvalidKeyException extends BatonException {
  private static final long serialVersionUID = 1L;

  /** The spec's pattern of ids and keys. */
  private static final Pattern ID = Pattern.compile("^[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,249}$");

  /** The spec's pattern of run ids. */
  private static final Pattern RUN_ID = Pattern.compile("^[A-Za-z0-9_][A-Za-z0-9_.:\\-]{0,249}$");

  /** Creates the error with a message. */
  public InvalidKeyException(String message) {
    super(message);
  }

  /** {@code value}, or an InvalidKeyException naming {@code kind} when the API cannot take it. */
  static String check(String kind, String value) {
    if (value != null && ID.matcher(value).matches()) {
      return value;
    }
    throw new InvalidKeyException(
        kind
            + " "
            + quoted(value)
            + " is not valid: use 1 to 250 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
  }

  /** A run id, or an InvalidKeyException when the API cannot take it. */
  static String checkRunId(String value) {
    if (value != null && RUN_ID.matcher(value).matches()) {
      return value;
    }
    throw new InvalidKeyException(
        "run id "
            + quoted(value)
            + " is not valid: use 1 to 250 letters, digits, '_', '.', ':' or '-', not starting with '.', ':' or '-'");
  }

  private static String quoted(String value) {
    return value == null ? "null" : "'" + value + "'";
  }
}
