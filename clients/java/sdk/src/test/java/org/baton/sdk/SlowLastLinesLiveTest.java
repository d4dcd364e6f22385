package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.TaskInstanceState;
import org.baton.client.generated.model.TaskInstanceSummary;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/**
 * A task whose last log lines are slow to ship (log uploads refused for three heartbeat timeouts)
 * is recorded a success: its attempt is heartbeated until its final state is reported. Before, the
 * heartbeats stopped when the task method returned, the server failed the silent attempt at its
 * heartbeat timeout and refused its success (409).
 */
class SlowLastLinesLiveTest {
  /** Set by the task once it has logged its first line: from then on the proxy refuses log uploads. */
  private static final AtomicBoolean REFUSE = new AtomicBoolean();

  /** Logs a line, starts the log outage, and logs its last line, which waits for the server. */
  static void lastLineWaits(Logger log) {
    log.info("before the outage");
    REFUSE.set(true);
    log.info("a line that waits for the server");
  }

  /** A proxy in front of the server that answers every log upload ({@code .../logs}) 503 while {@link #REFUSE} is set. */
  private static final class RefusingLogs extends TestProxy {
    final AtomicInteger refused = new AtomicInteger();

    RefusingLogs(String target) throws IOException {
      super(target);
    }

    @Override
    boolean intercept(HttpExchange exchange, String path, byte[] body) throws IOException {
      if (!path.endsWith("/logs") || !REFUSE.get()) {
        return false;
      }
      refused.incrementAndGet();
      exchange.sendResponseHeaders(503, -1);
      return true;
    }
  }

  @Test
  void lastLinesSlowToShip_heartbeatsGoOn_andTheSuccessIsReported() throws Exception {
    LiveServer own = LiveServer.start(Map.of("BATON_HEARTBEAT_TIMEOUT", "2", "BATON_SCHEDULER_INTERVAL", "0.2"));
    try (RefusingLogs proxy = new RefusingLogs(own.baseUrl)) {
      Runs runs = new Runs(own);
      String id = Runs.suffix();
      String dagId = "java_slow_last_lines_" + id;
      Worker worker =
          Worker.builder()
              .serverUrl(proxy.url())
              .token(own.workerToken())
              .bundle(RegistrationTest.bundle("slow_last_lines_" + id,
                  registry -> registry.addDag(dagId).queue("q_" + id).addTask(SlowLastLinesLiveTest::lastLineWaits)))
              .heartbeatInterval(Duration.ofMillis(500))
              .claimWait(Duration.ofSeconds(1))
              .logInterval(Duration.ofMillis(200))
              .build();
      worker.start();
      DagRunDetail run;
      try {
        String runId = runs.trigger(dagId);
        Runs.waitFor("the task to run", REFUSE::get);
        long outage = System.nanoTime();
        // The outage lasts three heartbeat timeouts (a scenario, not a verdict): the attempt must be heartbeated meanwhile.
        Runs.waitFor("the log uploads to be refused", () -> proxy.refused.get() > 0);
        Thread.sleep(Math.max(0, 6_000 - (System.nanoTime() - outage) / 1_000_000));
        REFUSE.set(false);
        run = runs.await(dagId, runId);
      } finally {
        REFUSE.set(false);
        worker.stop();
      }
      TaskInstanceSummary task = Runs.task(run, "lastLineWaits");
      String log = runs.logText(task.getId(), 1);
      assertEquals(TaskInstanceState.SUCCESS, task.getState(), run + "\nworker results " + worker.results() + "\n" + log);
      assertEquals(Map.of("success", 1), worker.results());
      assertTrue(log.contains("a line that waits for the server"), log);
    } finally {
      own.close();
    }
  }
}
