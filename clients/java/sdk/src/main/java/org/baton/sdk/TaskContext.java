package org.baton.sdk;

import java.time.OffsetDateTime;
import java.util.Map;
import java.util.UUID;

/**
 * The facts of the running attempt (which task instance, which run, which try), and whether the
 * attempt must stop. A task method receives it by declaring a parameter of this type.
 *
 * <p>When the server ends the attempt (a heartbeat answered 404 or 409), its execution timeout
 * passes or the worker shuts down, {@link #stopRequested()} turns true and the task's thread is
 * interrupted: a long task should check one or the other and return (or throw) soon after.
 */
public final class TaskContext {
  private final UUID taskInstanceId;
  private final String dagId;
  private final String runId;
  private final String taskId;
  private final int mapIndex;
  private final int tryNumber;
  private final int maxTries;
  private final OffsetDateTime logicalDate;
  private final String runType;
  private final OffsetDateTime dataIntervalStart;
  private final OffsetDateTime dataIntervalEnd;
  private final Map<String, Object> conf;
  private volatile String stopReason;

  TaskContext(
      UUID taskInstanceId,
      String dagId,
      String runId,
      String taskId,
      int mapIndex,
      int tryNumber,
      int maxTries,
      OffsetDateTime logicalDate,
      String runType,
      OffsetDateTime dataIntervalStart,
      OffsetDateTime dataIntervalEnd,
      Map<String, Object> conf) {
    this.taskInstanceId = taskInstanceId;
    this.dagId = dagId;
    this.runId = runId;
    this.taskId = taskId;
    this.mapIndex = mapIndex;
    this.tryNumber = tryNumber;
    this.maxTries = maxTries;
    this.logicalDate = logicalDate;
    this.runType = runType;
    this.dataIntervalStart = dataIntervalStart;
    this.dataIntervalEnd = dataIntervalEnd;
    this.conf = conf == null ? Map.of() : Map.copyOf(conf);
  }

  /** The task instance's id. */
  public UUID taskInstanceId() {
    return taskInstanceId;
  }

  /** The DAG's id. */
  public String dagId() {
    return dagId;
  }

  /** The DAG run's id. */
  public String runId() {
    return runId;
  }

  /** The task's id. */
  public String taskId() {
    return taskId;
  }

  /** The map index (-1: not mapped). */
  public int mapIndex() {
    return mapIndex;
  }

  /** This attempt's number, from 1. */
  public int tryNumber() {
    return tryNumber;
  }

  /** How many attempts the task instance may have in all (its retries + 1). */
  public int maxTries() {
    return maxTries;
  }

  /** Whether a failure of this attempt fails the task instance for good. */
  public boolean isLastTry() {
    return tryNumber >= maxTries;
  }

  /** The run's logical date. */
  public OffsetDateTime logicalDate() {
    return logicalDate;
  }

  /** How the run was created ({@code manual}, {@code scheduled}). */
  public String runType() {
    return runType;
  }

  /** The start of the run's data interval, or null. */
  public OffsetDateTime dataIntervalStart() {
    return dataIntervalStart;
  }

  /** The end of the run's data interval, or null. */
  public OffsetDateTime dataIntervalEnd() {
    return dataIntervalEnd;
  }

  /** The run's configuration (the JSON object given when it was triggered). */
  public Map<String, Object> conf() {
    return conf;
  }

  /** Whether the attempt must stop (the server ended it, it timed out, or the worker shuts down). */
  public boolean stopRequested() {
    return stopReason != null;
  }

  /** Why the attempt must stop, or null while it may go on. */
  public String stopReason() {
    return stopReason;
  }

  void requestStop(String reason) {
    if (stopReason == null) {
      stopReason = reason;
    }
  }

  @Override
  public String toString() {
    return "TaskContext(" + dagId + "/" + runId + "/" + taskId + ", try " + tryNumber + "/" + maxTries + ")";
  }
}
