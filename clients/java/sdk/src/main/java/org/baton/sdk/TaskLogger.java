package org.baton.sdk;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Marker;
import org.slf4j.event.KeyValuePair;
import org.slf4j.event.Level;
import org.slf4j.event.LoggingEvent;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.LoggingEventAware;

/**
 * The SLF4J {@link org.slf4j.Logger} a task method receives: each line goes to the attempt's log
 * in Baton (with its stack trace, and the key-value pairs of the fluent API as fields), whatever
 * SLF4J binding the application uses.
 */
final class TaskLogger extends AbstractLogger implements LoggingEventAware {
  private static final long serialVersionUID = 1L;

  private final transient Consumer<LogEntry> sink;
  private final Level threshold;

  TaskLogger(String name, Level threshold, Consumer<LogEntry> sink) {
    this.name = name;
    this.threshold = threshold;
    this.sink = sink;
  }

  private boolean enabled(Level level) {
    return level.toInt() >= threshold.toInt();
  }

  static String wireLevel(Level level) {
    switch (level) {
      case ERROR:
        return "error";
      case WARN:
        return "warning";
      case INFO:
        return "info";
      default:
        return "debug";
    }
  }

  private void emit(Level level, String pattern, Object[] args, Throwable error, List<KeyValuePair> pairs) {
    Throwable thrown = error;
    String message = pattern;
    if (args != null && args.length > 0) {
      var formatted = MessageFormatter.arrayFormat(pattern, args, error);
      message = formatted.getMessage();
      thrown = formatted.getThrowable();
    }
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("logger", name);
    if (pairs != null) {
      for (KeyValuePair pair : pairs) {
        // A null key (addKeyValue(null, v)) is the field "null": the task's log call must never throw.
        fields.put(String.valueOf(pair.key), pair.value == null ? null : String.valueOf(pair.value));
      }
    }
    sink.accept(
        new LogEntry(
            OffsetDateTime.now(ZoneOffset.UTC), wireLevel(level), LogEntry.withStackTrace(String.valueOf(message), thrown), fields));
  }

  @Override
  protected void handleNormalizedLoggingCall(
      Level level, Marker marker, String messagePattern, Object[] arguments, Throwable throwable) {
    emit(level, messagePattern, arguments, throwable, null);
  }

  @Override
  public void log(LoggingEvent event) {
    if (enabled(event.getLevel())) {
      emit(event.getLevel(), event.getMessage(), event.getArgumentArray(), event.getThrowable(), event.getKeyValuePairs());
    }
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  public boolean isTraceEnabled() {
    return enabled(Level.TRACE);
  }

  @Override
  public boolean isTraceEnabled(Marker marker) {
    return enabled(Level.TRACE);
  }

  @Override
  public boolean isDebugEnabled() {
    return enabled(Level.DEBUG);
  }

  @Override
  public boolean isDebugEnabled(Marker marker) {
    return enabled(Level.DEBUG);
  }

  @Override
  public boolean isInfoEnabled() {
    return enabled(Level.INFO);
  }

  @Override
  public boolean isInfoEnabled(Marker marker) {
    return enabled(Level.INFO);
  }

  @Override
  public boolean isWarnEnabled() {
    return enabled(Level.WARN);
  }

  @Override
  public boolean isWarnEnabled(Marker marker) {
    return enabled(Level.WARN);
  }

  @Override
  public boolean isErrorEnabled() {
    return enabled(Level.ERROR);
  }

  @Override
  public boolean isErrorEnabled(Marker marker) {
    return enabled(Level.ERROR);
  }
}
