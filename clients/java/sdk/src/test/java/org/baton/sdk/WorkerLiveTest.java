package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.api.AdminApi;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.DagRunState;
import org.baton.client.generated.model.LogRecordOut;
import org.baton.client.generated.model.TaskInstanceState;
import org.baton.client.generated.model.TaskInstanceSummary;
import org.baton.client.generated.model.VariablePutBody;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The SDK's worker against a live server (on PostgreSQL when BATON_TEST_POSTGRES_URL is set):
 * XComs between Java tasks, injection, a retried task, an exception's stack in the logs, a task
 * interrupted by a 409 heartbeat, and a drain that hands a running task back.
 */
class WorkerLiveTest {
  private static LiveServer server;
  private static Runs runs;

  @BeforeAll
  static void startServer() throws Exception {
    server = LiveServer.get();
    runs = new Runs(server);
  }

  private static Worker.Builder worker(LiveServer on, String name, Consumer<DagRegistry> definition) throws Exception {
    return Worker.builder()
        .serverUrl(on.baseUrl)
        .token(on.workerToken())
        .bundle(RegistrationTest.bundle(name, definition))
        .heartbeatInterval(Duration.ofSeconds(1))
        .claimWait(Duration.ofSeconds(1))
        .logInterval(Duration.ofMillis(200));
  }

  /**
   * Runs once, on a worker of its own, a DAG of one queue whose tasks {@code tasks} adds; the run once
   * it ended (the worker stopped).
   */
  private static DagRunDetail runAlone(String name, Consumer<Dag> tasks) throws Exception {
    String id = Runs.suffix();
    String dagId = "java_" + name + "_" + id;
    Worker worker = worker(server, name + "_" + id, registry -> tasks.accept(registry.addDag(dagId).queue("q_" + id))).build();
    worker.start();
    try {
      return runs.await(dagId, runs.trigger(dagId));
    } finally {
      worker.stop();
    }
  }

  @Test
  void pipeline_passesXComsThroughJackson_andInjectsWhatEachTaskDeclares() throws Exception {
    String id = Runs.suffix();
    String dagId = "java_pipeline_" + id;
    new AdminApi(server.admin().apiClient()).adminSetVariable("java_sdk_test_greeting", new VariablePutBody().value("hello"));
    Worker worker =
        worker(
                server,
                "pipeline_" + id,
                registry -> {
                  Dag dag = registry.addDag(dagId).queue("q_" + id);
                  Task extract = dag.addTask(TestTasks::extract);
                  Task total = dag.addTask(TestTasks::total).upstream(extract);
                  dag.addTask(TestTasks::report).upstream(total);
                })
            .build();
    worker.start();
    try {
      String runId = runs.trigger(dagId);
      DagRunDetail run = runs.await(dagId, runId);
      assertEquals(DagRunState.SUCCESS, run.getState(), run.toString());
      assertEquals(
          "242.5|3|Order[id=1, amount=120.0, currency=EUR]|hello", TestTasks.SEEN.get(runId + "/report"));
      TaskInstanceSummary extract = Runs.task(run, "extract");
      String extractLog = runs.logText(extract.getId(), 1);
      assertTrue(extractLog.contains("info extracting orders for run " + runId + " {logger=org.baton.sdk.TestTasks}"), extractLog);
      assertTrue(extractLog.contains("attempt 1 of 1 started on"), extractLog);
      assertTrue(extractLog.contains("attempt 1 ended after"), extractLog);
      String totalLog = runs.logText(Runs.task(run, "total").getId(), 1);
      assertTrue(totalLog.contains("summing 3 orders {logger=org.baton.sdk.TestTasks, orders=3}"), totalLog);
    } finally {
      worker.stop();
    }
    assertEquals(Map.of("success", 3), worker.results());
  }

  @Test
  void failingTask_isRetried_thenSucceeds() throws Exception {
    String id = Runs.suffix();
    String dagId = "java_retry_" + id;
    Worker worker =
        worker(server, "retry_" + id, registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::flaky).retries(1).retryDelay(Duration.ZERO))
            .build();
    worker.start();
    try {
      String runId = runs.trigger(dagId);
      DagRunDetail run = runs.await(dagId, runId);
      assertEquals(DagRunState.SUCCESS, run.getState(), run.toString());
      TaskInstanceSummary flaky = Runs.task(run, "flaky");
      assertEquals(2, flaky.getTryNumber());
      String first = runs.logText(flaky.getId(), 1);
      assertTrue(first.contains("java.lang.IllegalStateException: the first try fails on purpose"), first);
      assertTrue(first.contains("attempt 1 ended after"), first);
      assertTrue(first.contains(": up_for_retry: java.lang.IllegalStateException"), first);
      assertTrue(runs.logText(flaky.getId(), 2).contains("try 2 of 2 works"));
    } finally {
      worker.stop();
    }
    assertEquals(Map.of("success", 1, "up_for_retry", 1), worker.results());
  }

  @Test
  void exception_failsTheAttempt_withItsStackTraceInTheLogs() throws Exception {
    DagRunDetail run = runAlone("boom", dag -> dag.addTask(TestTasks::boom));
    assertEquals(DagRunState.FAILED, run.getState());
    TaskInstanceSummary boom = Runs.task(run, "boom");
    assertEquals(TaskInstanceState.FAILED, boom.getState());
    String log = runs.logText(boom.getId(), 1);
    assertTrue(log.contains("error task boom failed: java.lang.IllegalArgumentException: boom in boom"), log);
    assertTrue(log.contains("at org.baton.sdk.TestTasks.deeper(TestTasks.java:"), log);
    assertTrue(log.contains("at org.baton.sdk.TestTasks.boom(TestTasks.java:"), log);
    assertFalse(log.contains("java.lang.reflect.Method.invoke"), "the SDK's frames are cut: " + log);
    assertTrue(log.contains("ended after") && log.contains(": failed: java.lang.IllegalArgumentException: boom in boom"), log);
  }

  @Test
  void heartbeatAnswered409_interruptsTheTask_andReportsNothing() throws Exception {
    // A server that fails a task instance whose heartbeat is 2 s old, and a worker that heartbeats
    // every 6 s: the server ends the attempt first, so the worker's next heartbeat meets a 409.
    LiveServer strict = LiveServer.start(Map.of("BATON_HEARTBEAT_TIMEOUT", "2", "BATON_SCHEDULER_INTERVAL", "0.2"));
    try {
      Runs strictRuns = new Runs(strict);
      String id = Runs.suffix();
      String dagId = "java_409_" + id;
      Worker worker =
          worker(strict, "interrupt_" + id, registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::waitForStop))
              .heartbeatInterval(Duration.ofSeconds(6))
              .build();
      worker.start();
      try {
        String runId = strictRuns.trigger(dagId);
        Object stopped = Runs.waitFor("the task to be interrupted", () -> TestTasks.SEEN.get(runId + "/stopped"));
        assertTrue(stopped.toString().startsWith("interrupted: the server answered 409"), stopped.toString());
        DagRunDetail run = strictRuns.await(dagId, runId);
        TaskInstanceSummary task = Runs.task(run, "waitForStop");
        assertEquals(TaskInstanceState.FAILED, task.getState(), "the server's verdict stands");
        Runs.waitFor("the attempt to be over", () -> worker.results().get("not_reported"));
      } finally {
        worker.stop();
      }
      assertEquals(Map.of("not_reported", 1), worker.results());
    } finally {
      strict.close();
    }
  }

  @Test
  void stop_handsARunningTaskBackAfterTheGracePeriod() throws Exception {
    String id = Runs.suffix();
    String dagId = "java_drain_" + id;
    Worker worker =
        worker(server, "drain_" + id, registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::waitForStop).retries(1))
            .gracePeriod(Duration.ofSeconds(1))
            .build();
    worker.start();
    String runId = runs.trigger(dagId);
    Runs.waitFor("the task to run", () -> TestTasks.SEEN.get(runId + "/waiting"));
    worker.stop();
    assertEquals(
        "interrupted: the worker is shutting down: the attempt is handed back", TestTasks.SEEN.get(runId + "/stopped"));
    assertEquals(Map.of("up_for_retry", 1), worker.results());
    TaskInstanceSummary task = Runs.task(runs.run(dagId, runId), "waitForStop");
    assertEquals(1, task.getTryNumber());
    assertTrue(
        task.getState() == TaskInstanceState.UP_FOR_RETRY || task.getState() == TaskInstanceState.QUEUED
            || task.getState() == TaskInstanceState.SCHEDULED,
        "handed back for another try: " + task.getState());
  }

  @Test
  void secondStopWhileTheServerIsDown_givesTheReportsUpAndTheWorkerStops() throws Exception {
    // A task ended while the server cannot be reached: one stop (SIGTERM) waits for its last logs and
    // its final state, five minutes each; a second gives them one last try and the worker stops.
    // Before, the second stop only handed running tasks back: the reports went on waiting.
    LiveServer own = LiveServer.start(Map.of("BATON_SCHEDULER_INTERVAL", "0.2"));
    Worker worker = null;
    try {
      Runs ownRuns = new Runs(own);
      String id = Runs.suffix();
      String dagId = "java_hurry_" + id;
      worker = worker(own, "hurry_" + id, registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::ignoresStop))
          .gracePeriod(Duration.ofMinutes(10))
          .build();
      worker.start();
      String runId = ownRuns.trigger(dagId);
      Runs.waitFor("the task to run", () -> TestTasks.SEEN.get(runId + "/running"));
      own.kill();
      TestTasks.SEEN.put(runId + "/release", true); // the task ends while the server is down
      Runs.waitFor("the task to end", () -> TestTasks.SEEN.get(runId + "/ended"));
      worker.drain();
      assertFalse(worker.awaitTermination(Duration.ofSeconds(5)), "one stop: the worker waits for the server");

      long hurried = System.nanoTime();
      worker.drain();
      assertTrue(worker.awaitTermination(Duration.ofMinutes(1)), "the worker did not stop within a minute of the second stop");
      long took = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - hurried);
      assertTrue(took < 30, "the worker took " + took + " s to stop after the second stop");
      assertEquals(Map.of("not_reported", 1), worker.results());
    } finally {
      if (worker != null) {
        worker.drain();
        worker.drain();
      }
      own.close();
    }
  }

  @Test
  void halfCharactersInALogLine_areStoredAsReplacementCharacters_withTheLinesAroundThem() throws Exception {
    // A lone surrogate has no UTF-8 form: the server refuses a batch holding one (422), and the whole
    // batch — here every line of the attempt — was dropped.
    DagRunDetail run = runAlone("half", dag -> dag.addTask(TestTasks::halfCharacters));
    assertEquals(DagRunState.SUCCESS, run.getState());
    String log = runs.logText(Runs.task(run, "halfCharacters").getId(), 1);
    assertTrue(log.contains("info before "), log);
    assertTrue(log.contains("info half a character: \uFFFD! {") && log.contains("half=\uFFFD"), log);
    assertTrue(log.contains("xxx … (truncated)"), log);
    assertTrue(log.contains("info after "), log);
    assertTrue(log.contains("attempt 1 ended after"), log);
  }

  @Test
  void nulAndFieldsPastARequest_everyLineIsStored() throws Exception {
    // A NUL made the server refuse its whole batch (422); lines whose fields together passed the
    // request limit were refused as one batch (413): every line of the attempt was lost.
    DagRunDetail run = runAlone("noisy", dag -> dag.addTask(TestTasks::noisy));
    assertEquals(DagRunState.SUCCESS, run.getState());
    String log = runs.logText(Runs.task(run, "noisy").getId(), 1);
    assertTrue(log.contains("info before\uFFFDafter "), log.substring(0, Math.min(2000, log.length())));
    for (int i = 0; i < 60; i++) {
      assertTrue(log.contains("info big " + i + " {"), "big " + i);
    }
    assertTrue(log.contains("info escaped six times over {"), "the line of control characters");
    assertTrue(log.contains("info done "), "done");
  }

  @Test
  void hugeFieldName_isCutAt1000Bytes_andTheLinesAroundItAreStored() throws Exception {
    // A field's name was never cut: one of 5 MB made a line past the server's request limit, and its
    // batch was refused (413) with the lines around it.
    DagRunDetail run = runAlone("names", dag -> dag.addTask(TestTasks::hugeFieldName));
    assertEquals(DagRunState.SUCCESS, run.getState());
    List<LogRecordOut> lines = runs.logs(Runs.task(run, "hugeFieldName").getId(), 1);
    LogRecordOut huge = lines.stream().filter(line -> line.getMessage().equals("huge name")).findFirst()
        .orElseThrow(() -> new AssertionError("the line is not stored: " + lines.size() + " lines"));
    String name = huge.getFields().keySet().stream().filter(key -> !key.equals("logger")).findFirst().orElseThrow();
    assertTrue(name.getBytes(StandardCharsets.UTF_8).length <= 1_000 && name.startsWith("\u00e9\u00e9"), name);
    assertTrue(name.endsWith(" … (truncated)"), name);
    assertTrue(lines.stream().anyMatch(line -> line.getMessage().equals("before")), "before");
    assertTrue(lines.stream().anyMatch(line -> line.getMessage().equals("after")), "after");
  }

  @Test
  void outOfMemoryError_failsTheAttempt_andIsReported() throws Exception {
    // Thrown straight through the supervisor, it left the attempt unreported: running on the server
    // until the heartbeat timeout, its log line lost.
    String id = Runs.suffix();
    String dagId = "java_oom_" + id;
    Worker worker =
        worker(server, "oom_" + id, registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::outOfMemory).retries(1))
            .build();
    worker.start();
    try {
      String runId = runs.trigger(dagId);
      Runs.waitFor("the attempt to be reported", () -> worker.results().isEmpty() ? null : true);
      assertEquals(Map.of("up_for_retry", 1), worker.results());
      TaskInstanceSummary task = Runs.task(runs.run(dagId, runId), "outOfMemory");
      String log = runs.logText(task.getId(), 1);
      assertTrue(log.contains("task outOfMemory failed: java.lang.OutOfMemoryError: Java heap space (thrown by the test)"), log);
      assertTrue(log.contains(": up_for_retry: java.lang.OutOfMemoryError"), log);
    } finally {
      worker.stop();
    }
  }

  @Test
  void nonFiniteNumbers_areRefusedAsXComValues_notStoredAsStrings() throws Exception {
    // Jackson writes NaN and the infinities as the strings "NaN" and "Infinity": the task succeeded and
    // a downstream task expecting a number got a string.
    DagRunDetail run = runAlone("nan", dag -> dag.addTask(TestTasks::notANumber));
    assertEquals(DagRunState.FAILED, run.getState(), run.toString());
    assertEquals("the value[1] is Infinity, which JSON has no number for", TestTasks.SEEN.get("notANumber/push"));
    String log = runs.logText(Runs.task(run, "notANumber").getId(), 1);
    assertTrue(
        log.contains("the return value cannot be written as JSON (the value.ratio is NaN, which JSON has no number for)"),
        log);
  }

  @Test
  void taskReturningWithItsInterruptFlagSet_succeeds_andItsValueIsPassedOn() throws Exception {
    // The worker pushed the return value on the task's thread, flag and all: the push threw
    // InterruptedException and the attempt failed ('TransportException: pushXCom').
    DagRunDetail run =
        runAlone("selfint", dag -> dag.addTask(TestTasks::readKept).upstream(dag.addTask(TestTasks::selfInterrupted)));
    assertEquals(DagRunState.SUCCESS, run.getState(), run.toString());
    assertEquals("kept", TestTasks.SEEN.get("readKept"));
  }

  @Test
  void exceptionWhoseMessageCannotBeRead_failsTheAttempt_andIsReported() throws Exception {
    // getMessage threw out of the worker's own summary of the failure: the attempt was left unreported,
    // running on the server until its heartbeat timeout, with no line in its log; and logging such an
    // exception threw into the task.
    String id = Runs.suffix();
    String dagId = "java_unreadable_" + id;
    Worker worker =
        worker(server, "unreadable_" + id, registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::unreadableMessage))
            .build();
    worker.start();
    try {
      String runId = runs.trigger(dagId);
      Runs.waitFor("the attempt to be over", () -> worker.results().isEmpty() ? null : true);
      assertEquals(Map.of("failed", 1), worker.results());
      assertEquals(null, TestTasks.SEEN.get("unreadableMessage/log"), "the task's logger threw");
      DagRunDetail run = runs.await(dagId, runId);
      TaskInstanceSummary task = Runs.task(run, "unreadableMessage");
      assertEquals(TaskInstanceState.FAILED, task.getState());
      String log = runs.logText(task.getId(), 1);
      String unreadable = "org.baton.sdk.TestTasks$UnreadableMessage (its message cannot be read: getMessage threw"
          + " java.lang.IllegalStateException)";
      assertTrue(log.contains("error logging it works\n" + unreadable), log);
      assertTrue(log.contains("task unreadableMessage failed: " + unreadable), log);
      assertTrue(log.contains("at org.baton.sdk.TestTasks.unreadableMessage(TestTasks.java:"), log);
      assertTrue(log.contains(": failed: " + unreadable), log);
    } finally {
      worker.stop();
    }
  }
}
