package org.baton.sdk;

import org.baton.client.BatonException;

/**
 * A DAG or task is defined wrongly: a bad or duplicate id, an unknown upstream task, a cycle, a
 * task method whose parameters cannot be served. Thrown while the bundle registers its DAGs, never
 * while a task runs; the message names the DAG and the task.
 */
public class DagDefinitionException extends BatonException {
  private static final long serialVersionUID = 1L;

  /** Creates the error with a message naming the DAG and the task. */
  public DagDefinitionException(String message) {
    super(message);
  }
}
