package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.TaskInstanceState;
import org.junit.jupiter.api.Test;

/**
 * A task that ends while the server is down for longer than its attempt's execution token lives is
 * recorded a success by the server started again on the same database: the worker renews the expired
 * token with its own credential. Before, its end was refused (401 token_expired) and it failed at the
 * heartbeat timeout.
 */
class TokenRenewalLiveTest {
  private static final long TOKEN_TTL_MS = 30_000; // the least the server allows

  @Test
  void serverDownLongerThanTheTokenLives_taskEndedMeanwhile_isRecorded() throws Exception {
    LiveServer own =
        LiveServer.start(
            Map.of(
                "BATON_EXECUTION_TOKEN_TTL", "30",
                "BATON_TOKEN_REFRESH_BEFORE", "5",
                "BATON_HEARTBEAT_TIMEOUT", "120",
                "BATON_SCHEDULER_INTERVAL", "0.2"));
    try {
      Runs runs = new Runs(own);
      String id = Runs.suffix();
      String dagId = "java_renewal_" + id;
      Worker worker =
          Worker.builder()
              .serverUrl(own.baseUrl)
              .token(own.workerToken())
              .bundle(
                  RegistrationTest.bundle(
                      "renewal_" + id,
                      registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::waitsForRelease)))
              .heartbeatInterval(Duration.ofMillis(500))
              .claimWait(Duration.ofSeconds(1))
              .logInterval(Duration.ofMillis(200))
              .build();
      worker.start();
      try {
        String runId = runs.trigger(dagId);
        Runs.waitFor("the task to begin", () -> TestTasks.SEEN.get(runId + "/began"));
        own.kill();
        long down = System.nanoTime();
        Thread.sleep(3_000);
        TestTasks.RELEASE.countDown(); // the task ends while no server answers
        Thread.sleep(TOKEN_TTL_MS + 10_000 - (System.nanoTime() - down) / 1_000_000);
        own.up();
        DagRunDetail run = runs.await(dagId, runId);
        assertEquals(
            TaskInstanceState.SUCCESS,
            Runs.task(run, "waitsForRelease").getState(),
            run + "\nworker results " + worker.results());
      } finally {
        TestTasks.RELEASE.countDown();
        worker.stop();
      }
    } finally {
      own.close();
    }
  }
}
