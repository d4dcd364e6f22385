package org.baton.sdk;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A DAG of a bundle, built fluently: its settings, then its tasks.
 *
 * <pre>{@code
 * Dag dag = registry.addDag("orders").description("Nightly orders").schedule("0 6 * * *").queue("java");
 * Task extract = dag.addTask(Orders::extract);
 * dag.addTask(Orders::load).upstream(extract).retries(2).retryDelay(Duration.ofSeconds(30));
 * }</pre>
 *
 * <p>The DAG-level settings ({@link #queue}, {@link #retries}, ...) apply to each of its tasks
 * that does not set its own.
 */
// The addTask overloads differ by the method's shape; for a method reference (the intended use)
// the compiler picks the one matching its parameter count and return type (JLS 15.12.2.5). Only an
// implicitly typed lambda can be ambiguous, and it then fails to compile, saying so.
@SuppressWarnings("overloads")
public final class Dag {
  private final String dagId;
  private final boolean registered;
  final List<Task> tasks = new ArrayList<>();
  String description;
  String cron;
  Duration interval;
  OffsetDateTime startAt;
  Integer retries;
  Duration retryDelay;
  Duration executionTimeout;
  TriggerRule triggerRule;
  String queue;

  Dag(String dagId, boolean registered) {
    this.dagId = Ids.check("DAG", "DAG id", dagId);
    this.registered = registered;
  }

  private String where() {
    return "DAG '" + dagId + "'";
  }

  /** The DAG's id. */
  public String dagId() {
    return dagId;
  }

  /** Whether the worker registers this DAG (false for {@link DagRegistry#tasksFor}). */
  boolean registered() {
    return registered;
  }

  /** A description, shown to operators. */
  public Dag description(String description) {
    this.description = description;
    return this;
  }

  /** Runs on a cron schedule (five fields, UTC), e.g. {@code "0 6 * * *"}. */
  public Dag schedule(String cron) {
    this.cron = Objects.requireNonNull(cron, "cron");
    this.interval = null;
    return this;
  }

  /** Runs every {@code interval} (at least one second). */
  public Dag scheduleEvery(Duration interval) {
    this.interval = Ids.atLeast(where(), "schedule interval", interval, Duration.ofSeconds(1));
    this.cron = null;
    return this;
  }

  /** No scheduled run before this time. */
  public Dag startAt(OffsetDateTime startAt) {
    this.startAt = Objects.requireNonNull(startAt, "startAt");
    return this;
  }

  /** The default queue of its tasks. */
  public Dag queue(String queue) {
    this.queue = Ids.check(where(), "queue", queue);
    return this;
  }

  /** The default retries of its tasks (0 to 100). */
  public Dag retries(int retries) {
    this.retries = Ids.retries(where(), retries);
    return this;
  }

  /** The default retry delay of its tasks. */
  public Dag retryDelay(Duration retryDelay) {
    this.retryDelay = Ids.atLeast(where(), "retryDelay", retryDelay, Duration.ZERO);
    return this;
  }

  /** The default execution timeout of its tasks (at least one second). */
  public Dag executionTimeout(Duration executionTimeout) {
    this.executionTimeout = Ids.atLeast(where(), "executionTimeout", executionTimeout, Duration.ofSeconds(1));
    return this;
  }

  /** The default trigger rule of its tasks. */
  public Dag triggerRule(TriggerRule triggerRule) {
    this.triggerRule = Objects.requireNonNull(triggerRule, "triggerRule");
    return this;
  }

  private Task add(TaskFunction.Any function) {
    Objects.requireNonNull(function, "task method");
    Task task = new Task(this, TaskMethod.resolve(function, where()));
    if (task.taskId() != null) {
      Ids.check(task.where(), "task id", task.taskId());
    }
    tasks.add(task);
    return task;
  }

  /** Adds a task running {@code method} (its id: the method's name, unless {@link Task#id} says otherwise). */
  public <R> Task addTask(TaskFunction.Returning0<R> method) {
    return add(method);
  }

  /** Adds a task running {@code method}, which returns nothing. */
  public Task addTask(TaskFunction.Void0 method) {
    return add(method);
  }

  /** Adds a task running {@code method} (its id: the method's name, unless {@link Task#id} says otherwise). */
  public <A, R> Task addTask(TaskFunction.Returning1<A, R> method) {
    return add(method);
  }

  /** Adds a task running {@code method}, which returns nothing. */
  public <A> Task addTask(TaskFunction.Void1<A> method) {
    return add(method);
  }

  /** Adds a task running {@code method} (its id: the method's name, unless {@link Task#id} says otherwise). */
  public <A, B, R> Task addTask(TaskFunction.Returning2<A, B, R> method) {
    return add(method);
  }

  /** Adds a task running {@code method}, which returns nothing. */
  public <A, B> Task addTask(TaskFunction.Void2<A, B> method) {
    return add(method);
  }

  /** Adds a task running {@code method} (its id: the method's name, unless {@link Task#id} says otherwise). */
  public <A, B, C, R> Task addTask(TaskFunction.Returning3<A, B, C, R> method) {
    return add(method);
  }

  /** Adds a task running {@code method}, which returns nothing. */
  public <A, B, C> Task addTask(TaskFunction.Void3<A, B, C> method) {
    return add(method);
  }

  /** Adds a task running {@code method} (its id: the method's name, unless {@link Task#id} says otherwise). */
  public <A, B, C, D, R> Task addTask(TaskFunction.Returning4<A, B, C, D, R> method) {
    return add(method);
  }

  /** Adds a task running {@code method}, which returns nothing. */
  public <A, B, C, D> Task addTask(TaskFunction.Void4<A, B, C, D> method) {
    return add(method);
  }

  /** Adds a task running {@code method} (its id: the method's name, unless {@link Task#id} says otherwise). */
  public <A, B, C, D, E, R> Task addTask(TaskFunction.Returning5<A, B, C, D, E, R> method) {
    return add(method);
  }

  /** Adds a task running {@code method}, which returns nothing. */
  public <A, B, C, D, E> Task addTask(TaskFunction.Void5<A, B, C, D, E> method) {
    return add(method);
  }

  /** Adds a task running {@code method} (its id: the method's name, unless {@link Task#id} says otherwise). */
  public <A, B, C, D, E, F, R> Task addTask(TaskFunction.Returning6<A, B, C, D, E, F, R> method) {
    return add(method);
  }

  /** Adds a task running {@code method}, which returns nothing. */
  public <A, B, C, D, E, F> Task addTask(TaskFunction.Void6<A, B, C, D, E, F> method) {
    return add(method);
  }

  @Override
  public String toString() {
    return "Dag(" + dagId + ", " + tasks + ")";
  }
}
