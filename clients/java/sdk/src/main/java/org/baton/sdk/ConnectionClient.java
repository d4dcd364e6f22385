package org.baton.sdk;

/** Connections granted to the task's DAG, read through the Task Execution API. */
public interface ConnectionClient {
  /**
   * A connection; {@link ConnectionNotFoundException} when unknown, the client's
   * {@code ForbiddenException} when it is not granted to this DAG.
   */
  Connection getConnection(String connectionId);
}
