package org.baton.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.baton.client.generated.ApiException;
import org.baton.client.generated.api.AdminApi;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.DagRunState;
import org.baton.client.generated.model.LogPage;
import org.baton.client.generated.model.LogRecordOut;
import org.baton.client.generated.model.TaskInstanceSummary;
import org.baton.client.generated.model.TriggerDagRunPayload;

/**
 * Triggers DAG runs on a live server and reads them back, as an operator does (admin API).
 * Public, with the test jar, for the SDK's and the worker's tests.
 */
public final class Runs {
  private final BatonClient admin;
  private final AdminApi api;

  public Runs(LiveServer server) throws Exception {
    this.admin = server.admin();
    this.api = new AdminApi(admin.apiClient());
  }

  /** A unique suffix for ids of one test. */
  public static String suffix() {
    return UUID.randomUUID().toString().replace("-", "").substring(0, 8);
  }

  public String trigger(String dagId) {
    String runId = "test__" + suffix();
    admin.triggerDagRun(dagId, new TriggerDagRunPayload().runId(runId));
    return runId;
  }

  public DagRunDetail run(String dagId, String runId) {
    try {
      return api.getDagRun(dagId, runId);
    } catch (ApiException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits (polling, up to three minutes) for the run to end; returns it. */
  public DagRunDetail await(String dagId, String runId) {
    return waitFor(
        "run " + dagId + "/" + runId + " to end",
        () -> {
          DagRunDetail run = run(dagId, runId);
          return run.getState() == DagRunState.SUCCESS || run.getState() == DagRunState.FAILED ? run : null;
        });
  }

  public static TaskInstanceSummary task(DagRunDetail run, String taskId) {
    return run.getTaskInstances().stream()
        .filter(ti -> ti.getTaskId().equals(taskId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no task " + taskId + " in " + run));
  }

  /** Every log line of one try of a task instance. */
  public List<LogRecordOut> logs(UUID taskInstanceId, int tryNumber) {
    List<LogRecordOut> lines = new ArrayList<>();
    Integer after = null;
    while (true) {
      LogPage page;
      try {
        page = api.getTaskInstanceLogs(taskInstanceId, tryNumber, after, 1000);
      } catch (ApiException e) {
        throw new IllegalStateException(e);
      }
      lines.addAll(page.getLines());
      if (page.getNextAfter() == null || page.getLines().isEmpty()) {
        return lines;
      }
      after = page.getNextAfter();
    }
  }

  /** The messages of one try's log, joined by newlines. */
  public String logText(UUID taskInstanceId, int tryNumber) {
    StringBuilder text = new StringBuilder();
    for (LogRecordOut line : logs(taskInstanceId, tryNumber)) {
      text.append(line.getLevel()).append(' ').append(line.getMessage()).append(' ')
          .append(line.getFields() == null ? Map.of() : line.getFields()).append('\n');
    }
    return text.toString();
  }

  /** Polls {@code probe} until it returns non-null (or true), for up to three minutes. */
  public static <T> T waitFor(String what, Supplier<T> probe) {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (true) {
      T value = probe.get();
      if (value != null && !Boolean.FALSE.equals(value)) {
        return value;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after 3 minutes waiting for " + what);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what);
      }
    }
  }
}
