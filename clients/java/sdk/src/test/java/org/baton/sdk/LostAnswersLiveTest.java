package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.DagRunState;
import org.baton.client.generated.model.TaskInstanceSummary;
import org.junit.jupiter.api.Test;

/**
 * Answers lost on their way back from a live server: a claim whose answer is lost costs the worker
 * no claim timeout (its claims list what it holds, so the server hands the workload out again at
 * once), and a log batch whose answer is lost is sent again under its batch id and stored once.
 */
class LostAnswersLiveTest {
  /**
   * A proxy in front of the server that keeps the claims' bodies and, when losing, turns the first
   * workload-carrying claim answer and the first log answer into 502s.
   */
  static final class Lossy extends TestProxy {
    final AtomicBoolean claimLost = new AtomicBoolean();
    final AtomicBoolean logsLost = new AtomicBoolean();
    final List<String> claimBodies = Collections.synchronizedList(new ArrayList<>());
    private final boolean losing;

    Lossy(String target) throws IOException {
      this(target, true);
    }

    Lossy(String target, boolean losing) throws IOException {
      super(target);
      this.losing = losing;
    }

    @Override
    Answer answer(String method, String path, byte[] body, Answer fromServer) {
      boolean post = "POST".equals(method);
      if (post && path.endsWith("/claims")) {
        claimBodies.add(new String(body, StandardCharsets.UTF_8));
      }
      boolean lose =
          losing && post && fromServer.status() == 200
              && (path.endsWith("/claims")
                      && new String(fromServer.body(), StandardCharsets.UTF_8).contains("\"token\"")
                      && claimLost.compareAndSet(false, true)
                  || path.endsWith("/logs") && logsLost.compareAndSet(false, true));
      if (!lose) {
        return fromServer;
      }
      return new Answer(502, "{\"reason\":\"bad_gateway\",\"message\":\"answer lost on purpose\"}".getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void lostClaimAnswer_handedOutAgainAtOnce_lostLogAnswer_batchStoredOnce() throws Exception {
    LiveServer live = LiveServer.get();
    Runs runs = new Runs(live);
    String id = Runs.suffix();
    String dagId = "java_lost_" + id;
    try (Lossy proxy = new Lossy(live.baseUrl)) {
      Worker worker =
          Worker.builder()
              .serverUrl(proxy.url())
              .token(live.workerToken())
              .bundle(RegistrationTest.bundle("lost_" + id, registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::sayOnce)))
              .heartbeatInterval(Duration.ofSeconds(1))
              .claimWait(Duration.ofSeconds(1))
              .logInterval(Duration.ofMillis(200))
              .build();
      worker.start();
      try {
        String runId = runs.trigger(dagId);
        // Runs.await gives up after three minutes, well under the server's claim timeout (300 s):
        // the lost workload came back at the worker's next claim.
        DagRunDetail run = runs.await(dagId, runId);
        assertEquals(DagRunState.SUCCESS, run.getState(), run.toString());
        assertTrue(proxy.claimLost.get(), "no claim answer was lost");
        assertTrue(proxy.logsLost.get(), "no log answer was lost");
        for (String body : proxy.claimBodies) {
          assertTrue(body.contains("\"held_task_instance_ids\""), "a claim did not list what the worker holds: " + body);
        }
        TaskInstanceSummary task = Runs.task(run, "sayOnce");
        assertEquals(1, task.getTryNumber());
        String log = runs.logText(task.getId(), 1);
        for (String line : List.of("attempt 1 of 1 started", "said once", "attempt 1 ended")) {
          assertEquals(1, log.split(line, -1).length - 1, "'" + line + "' must be stored once:\n" + log);
        }
      } finally {
        worker.stop();
      }
      assertEquals(Map.of("success", 1), worker.results());
    }
  }
}
