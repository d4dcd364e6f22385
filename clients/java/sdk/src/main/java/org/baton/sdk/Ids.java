package org.baton.sdk;

import java.time.Duration;
import java.util.regex.Pattern;

/** Checks of ids and settings, shared by DAGs and tasks; each failure names where it happened. */
final class Ids {
  /** DAG, task and queue ids: 1 to 250 letters, digits, {@code _ . -}, not starting with . or -. */
  static final Pattern ID = Pattern.compile("^[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,249}$");

  private Ids() {}

  static String check(String where, String kind, String value) {
    if (value == null || !ID.matcher(value).matches()) {
      throw new DagDefinitionException(
          where
              + ": "
              + kind
              + " "
              + (value == null ? "null" : "'" + value + "'")
              + " is not a valid id: use 1 to 250 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    }
    return value;
  }

  static int retries(String where, int retries) {
    if (retries < 0 || retries > 100) {
      throw new DagDefinitionException(where + ": retries must be from 0 to 100, not " + retries);
    }
    return retries;
  }

  static Duration atLeast(String where, String what, Duration value, Duration minimum) {
    if (value == null || value.compareTo(minimum) < 0) {
      throw new DagDefinitionException(
          where + ": " + what + " must be at least " + minimum.toSeconds() + " s, not " + value);
    }
    return value;
  }

  /** Whole seconds, rounded up. */
  static int seconds(Duration value) {
    long whole = value.getSeconds() + (value.getNano() > 0 ? 1 : 0);
    return (int) Math.min(Integer.MAX_VALUE, whole);
  }
}
