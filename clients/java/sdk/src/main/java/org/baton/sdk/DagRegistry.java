package org.baton.sdk;

/** Where a {@link Bundle} adds its DAGs. */
public interface DagRegistry {
  /**
   * Adds a DAG, which the worker registers with the server: its id is 1 to 250 letters, digits,
   * {@code _ . -}, not starting with {@code .} or {@code -}.
   */
  Dag addDag(String dagId);

  /**
   * Serves Java tasks of a DAG that another bundle describes (a Python or Go bundle, say, that
   * declares these tasks with runtime {@code java} and their entry points): the worker runs them
   * but does not register the DAG. Their upstream tasks are not known here, so only
   * {@link FromTask} parameters bind XComs.
   */
  Dag tasksFor(String dagId);
}
