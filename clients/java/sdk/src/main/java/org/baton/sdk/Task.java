package org.baton.sdk;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A task of a {@link Dag}, as {@link Dag#addTask} returns it: set its options fluently. Every
 * setting left unset takes the DAG's default, else the server's (no retries, 300 s retry delay, no
 * timeout, {@link TriggerRule#ALL_SUCCESS}, queue {@code default}).
 */
public final class Task {
  private final Dag dag;
  final TaskMethod method;
  private String taskId;
  final List<Object> upstream = new ArrayList<>();
  Integer retries;
  Duration retryDelay;
  Duration executionTimeout;
  TriggerRule triggerRule;
  String queue;

  Task(Dag dag, TaskMethod method) {
    this.dag = dag;
    this.method = method;
    this.taskId = method.name();
  }

  String where() {
    String which = taskId == null ? "a task given as a lambda (" + method.label() + ")" : "task '" + taskId + "'";
    return which + " of DAG '" + dag.dagId() + "'";
  }

  /** The task's id. */
  public String taskId() {
    return taskId;
  }

  /** Gives the task another id than its method's name. */
  public Task id(String taskId) {
    this.taskId = Ids.check(where(), "task id", taskId);
    return this;
  }

  /**
   * Makes this task wait for these tasks. Its parameters that are neither injected nor
   * {@link FromTask} take their return values, in this order.
   */
  public Task upstream(Task... tasks) {
    for (Task task : tasks) {
      upstream.add(Objects.requireNonNull(task, "upstream task"));
    }
    return this;
  }

  /** Makes this task wait for the tasks of these ids (of the same DAG). */
  public Task upstream(String... taskIds) {
    for (String id : taskIds) {
      upstream.add(Ids.check(where(), "upstream task id", id));
    }
    return this;
  }

  /** Attempts after the first one that fails (0 to 100). */
  public Task retries(int retries) {
    this.retries = Ids.retries(where(), retries);
    return this;
  }

  /** The wait before a retry (whole seconds, rounded up). */
  public Task retryDelay(Duration retryDelay) {
    this.retryDelay = Ids.atLeast(where(), "retryDelay", retryDelay, Duration.ZERO);
    return this;
  }

  /** How long an attempt may run: past this it is interrupted and fails (at least one second). */
  public Task executionTimeout(Duration executionTimeout) {
    this.executionTimeout = Ids.atLeast(where(), "executionTimeout", executionTimeout, Duration.ofSeconds(1));
    return this;
  }

  /** When the task may start, given how its upstream tasks ended. */
  public Task triggerRule(TriggerRule triggerRule) {
    this.triggerRule = Objects.requireNonNull(triggerRule, "triggerRule");
    return this;
  }

  /** The queue the task waits on; only workers serving it run the task. */
  public Task queue(String queue) {
    this.queue = Ids.check(where(), "queue", queue);
    return this;
  }

  @Override
  public String toString() {
    return "Task(" + dag.dagId() + "/" + taskId + ")";
  }
}
