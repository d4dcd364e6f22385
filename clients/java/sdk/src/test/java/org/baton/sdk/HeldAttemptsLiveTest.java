package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.model.TaskInstanceState;
import org.baton.client.generated.model.TaskInstanceSummary;
import org.junit.jupiter.api.Test;

/**
 * A worker's claims list an attempt until its thread has ended: the server keeps a stopped
 * attempt's pool slot until the worker no longer lists it.
 */
class HeldAttemptsLiveTest {
  /** The claim bodies sent after the first {@code after}, once {@code count} of them have been. */
  private static List<String> claimsAfter(LostAnswersLiveTest.Lossy proxy, int after, int count) {
    Runs.waitFor(count + " more claims", () -> proxy.claimBodies.size() >= after + count);
    synchronized (proxy.claimBodies) {
      return new ArrayList<>(proxy.claimBodies.subList(after, proxy.claimBodies.size()));
    }
  }

  @Test
  void abandonedAttempt_listedInEveryClaim_untilItsThreadHasEnded() throws Exception {
    LiveServer live = LiveServer.get();
    Runs runs = new Runs(live);
    String id = Runs.suffix();
    String dagId = "java_held_" + id;
    try (LostAnswersLiveTest.Lossy proxy = new LostAnswersLiveTest.Lossy(live.baseUrl, false)) {
      Worker worker =
          Worker.builder()
              .serverUrl(proxy.url())
              .token(live.workerToken())
              .bundle(
                  RegistrationTest.bundle(
                      "held_" + id,
                      registry ->
                          registry
                              .addDag(dagId)
                              .queue("q_" + id)
                              .addTask(TestTasks::ignoresStop)
                              .executionTimeout(Duration.ofSeconds(1))))
              .concurrency(2) // the abandoned attempt keeps one slot: the worker goes on claiming with the other
              .stopGrace(Duration.ofMillis(500))
              .heartbeatInterval(Duration.ofSeconds(1))
              .claimWait(Duration.ofSeconds(1))
              .logInterval(Duration.ofMillis(200))
              .build();
      worker.start();
      String runId = runs.trigger(dagId);
      try {
        Runs.waitFor("the attempt to be reported", () -> worker.results().get("failed"));
        assertTrue(!TestTasks.SEEN.containsKey(runId + "/ended"), "the task's thread ended");
        TaskInstanceSummary task = Runs.task(runs.run(dagId, runId), "ignoresStop");
        assertEquals(TaskInstanceState.FAILED, task.getState());
        String ti = task.getId().toString();
        // The claim on its way when the attempt was reported may be older: the two after it are not.
        for (String claim : claimsAfter(proxy, proxy.claimBodies.size(), 2)) {
          // Before, it was no longer listed from its report on, while its thread ran on.
          assertTrue(claim.contains(ti), "a claim after the report, its task still running, does not list it: " + claim);
        }
        TestTasks.SEEN.put(runId + "/release", true);
        Runs.waitFor("the task's thread to end", () -> TestTasks.SEEN.get(runId + "/ended"));
        int ended = proxy.claimBodies.size();
        List<String> later = claimsAfter(proxy, ended, 2);
        assertTrue(!later.get(later.size() - 1).contains(ti), "still listed once its thread ended: " + later);
      } finally {
        TestTasks.SEEN.put(runId + "/release", true);
        worker.stop();
      }
      assertEquals(Map.of("failed", 1), worker.results());
    }
  }
}
