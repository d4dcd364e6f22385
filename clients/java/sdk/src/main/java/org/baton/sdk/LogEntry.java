package org.baton.sdk;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;

/**
 * One structured line of an attempt's log, as the API stores it: a level ({@code debug},
 * {@code info}, {@code warning}, {@code error}, {@code critical}), a message and fields saying
 * where it came from ({@code logger} for a task's logger, {@code source: worker} for the worker's
 * own lines), plus any key-value pairs the task logged.
 */
record LogEntry(OffsetDateTime timestamp, String level, String message, Map<String, Object> fields) {
  /** A line the worker itself writes into the task's log. */
  static LogEntry worker(String level, String message) {
    return new LogEntry(OffsetDateTime.now(ZoneOffset.UTC), level, message, Map.of("source", "worker"));
  }

  /**
   * The message with the stack trace of {@code error} (and its causes) below it; never throws, even
   * for an exception whose {@code getMessage} or {@code toString} does (then its class and frames).
   */
  static String withStackTrace(String message, Throwable error) {
    if (error == null) {
      return message;
    }
    StringWriter trace = new StringWriter();
    try {
      error.printStackTrace(new PrintWriter(trace));
    } catch (RuntimeException | StackOverflowError unwritable) {
      trace = new StringWriter();
      trace.append(describe(error));
      for (StackTraceElement frame : error.getStackTrace()) {
        trace.append("\n\tat ").append(String.valueOf(frame));
      }
    }
    return message + "\n" + trace.toString().stripTrailing();
  }

  /**
   * {@code error}'s class and message, as {@link Throwable#toString()} has them, without calling the
   * error's own code beyond {@code getMessage}: a message that cannot be read is said to be so.
   */
  static String describe(Throwable error) {
    String name = error.getClass().getName();
    String text;
    try {
      text = error.getMessage();
    } catch (RuntimeException | StackOverflowError unreadable) {
      return name + " (its message cannot be read: getMessage threw " + unreadable.getClass().getName() + ")";
    }
    return text == null ? name : name + ": " + text;
  }
}
