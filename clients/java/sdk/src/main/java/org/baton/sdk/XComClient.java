package org.baton.sdk;

import com.fasterxml.jackson.core.type.TypeReference;

/** XComs of the running DAG run: push this task's own, pull those of any task of the run. */
public interface XComClient {
  /** Pushes a value (anything Jackson writes as JSON) as this task's XCom {@code key}. */
  void pushXCom(String key, Object value);

  /** Another task's return value read as {@code type}; null when it pushed none. */
  <T> T pullXCom(String taskId, Class<T> type);

  /** Another task's XCom {@code key} read as {@code type}; null when there is none. */
  <T> T pullXCom(String taskId, String key, Class<T> type);

  /** Another task's XCom {@code key} read as a generic type ({@code new TypeReference<List<Order>>() {}}). */
  <T> T pullXCom(String taskId, String key, TypeReference<T> type);
}
