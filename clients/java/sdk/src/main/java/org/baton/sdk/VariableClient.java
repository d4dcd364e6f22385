package org.baton.sdk;

/** Variables, read and written through the Task Execution API with the attempt's own token. */
public interface VariableClient {
  /** A variable's JSON value read as {@code type}; {@link VariableNotFoundException} when unset. */
  <T> T getVariable(String key, Class<T> type);

  /** A variable's JSON value read as {@code type}, or {@code fallback} when unset. */
  <T> T getVariable(String key, Class<T> type, T fallback);

  /** Stores a value (anything Jackson writes as JSON) under a variable's key. */
  void setVariable(String key, Object value);
}
