package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.model.TaskInstanceState;
import org.baton.client.generated.model.TaskInstanceSummary;
import org.junit.jupiter.api.Test;

/**
 * A worker stopped while an attempt's start is on its way to a live server: the start is seen
 * through and the attempt reported {@code up_for_retry}, its task not run. Cut off there, the
 * attempt was reported by nobody while the server had started it: running until its heartbeat
 * timeout.
 */
class StopDuringStartLiveTest {
  private static final Set<String> HOP_BY_HOP =
      Set.of("connection", "content-length", "host", "upgrade", "expect", "transfer-encoding", "keep-alive", "http2-settings");

  /** A proxy in front of the server that holds the first start ({@code .../run}) until released. */
  private static final class HoldingStart implements AutoCloseable {
    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final String target;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final HttpServer server;

    HoldingStart(String target) throws IOException {
      this.target = target;
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/", this::forward);
      server.setExecutor(threads); // claims long-poll and a start is held: one thread per request
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void forward(HttpExchange exchange) throws IOException {
      try {
        byte[] body = exchange.getRequestBody().readAllBytes();
        if (exchange.getRequestURI().getRawPath().endsWith("/run") && held.getCount() > 0) {
          held.countDown();
          if (!release.await(5, TimeUnit.MINUTES)) {
            throw new IOException("the held start was never released");
          }
        }
        HttpRequest.Builder request =
            HttpRequest.newBuilder(URI.create(target + exchange.getRequestURI()))
                .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
        exchange.getRequestHeaders().forEach((name, values) -> {
          if (!HOP_BY_HOP.contains(name.toLowerCase())) {
            values.forEach(value -> request.header(name, value));
          }
        });
        HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        byte[] answer = response.body();
        response.headers().map().forEach((name, values) -> {
          if (!HOP_BY_HOP.contains(name.toLowerCase()) && !name.startsWith(":")) {
            values.forEach(value -> exchange.getResponseHeaders().add(name, value));
          }
        });
        exchange.sendResponseHeaders(response.statusCode(), answer.length == 0 ? -1 : answer.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(answer);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      } finally {
        exchange.close();
      }
    }

    @Override
    public void close() {
      release.countDown();
      server.stop(0);
      threads.shutdownNow();
    }
  }

  @Test
  void handedBackWhileStarting_startIsSeenThrough_reportedUpForRetry_taskNotRun() throws Exception {
    LiveServer live = LiveServer.get();
    Runs runs = new Runs(live);
    String id = Runs.suffix();
    String dagId = "java_stop_starting_" + id;
    try (HoldingStart proxy = new HoldingStart(live.baseUrl)) {
      Worker worker =
          Worker.builder()
              .serverUrl(proxy.url())
              .token(live.workerToken())
              .bundle(RegistrationTest.bundle("stop_starting_" + id,
                  registry -> registry.addDag(dagId).queue("q_" + id).addTask(TestTasks::sayOnce).retries(1)))
              .heartbeatInterval(Duration.ofSeconds(1))
              .claimWait(Duration.ofSeconds(1))
              .logInterval(Duration.ofMillis(200))
              .build();
      worker.start();
      String runId = runs.trigger(dagId);
      assertTrue(proxy.held.await(3, TimeUnit.MINUTES), "the attempt was never started");
      worker.drain();
      worker.drain(); // the second stop hands the running attempts back at once: this one is starting
      // The hand back reaches the attempt within 100 ms (the drain polls); nothing shows it while the start is
      // held. Not a verdict: released too early, the test could only pass where it should fail.
      Thread.sleep(1_000);
      proxy.release.countDown();
      assertTrue(worker.awaitTermination(Duration.ofMinutes(3)), "the worker did not stop");
      assertEquals(Map.of("up_for_retry", 1), worker.results());
      TaskInstanceSummary task = Runs.task(runs.run(dagId, runId), "sayOnce");
      assertEquals(1, task.getTryNumber());
      assertTrue(
          task.getState() == TaskInstanceState.UP_FOR_RETRY || task.getState() == TaskInstanceState.QUEUED
              || task.getState() == TaskInstanceState.SCHEDULED,
          "handed back for another try: " + task.getState());
      String log = runs.logText(task.getId(), 1);
      assertTrue(log.contains("the worker is shutting down: the attempt is handed back"), log);
      assertTrue(log.contains(": up_for_retry: stopped before it began"), log);
      assertFalse(log.contains("said once"), log);
    }
  }
}
