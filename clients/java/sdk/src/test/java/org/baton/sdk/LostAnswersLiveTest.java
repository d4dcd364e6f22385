package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
  private static final Set<String> HOP_BY_HOP =
      Set.of("connection", "content-length", "host", "upgrade", "expect", "transfer-encoding", "keep-alive", "http2-settings");

  /**
   * A proxy in front of the server that keeps the claims' bodies and, when losing, turns the first
   * workload-carrying claim answer and the first log answer into 502s.
   */
  static final class Lossy implements AutoCloseable {
    final AtomicBoolean claimLost = new AtomicBoolean();
    final AtomicBoolean logsLost = new AtomicBoolean();
    final List<String> claimBodies = Collections.synchronizedList(new ArrayList<>());
    private final String target;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final HttpServer server;
    private final boolean losing;

    Lossy(String target) throws IOException {
      this(target, true);
    }

    Lossy(String target, boolean losing) throws IOException {
      this.target = target;
      this.losing = losing;
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/", this::forward);
      server.setExecutor(threads); // claims long-poll: one thread per request
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void forward(HttpExchange exchange) throws IOException {
      try {
        String path = exchange.getRequestURI().getRawPath();
        byte[] body = exchange.getRequestBody().readAllBytes();
        boolean post = "POST".equals(exchange.getRequestMethod());
        if (post && path.endsWith("/claims")) {
          claimBodies.add(new String(body, StandardCharsets.UTF_8));
        }
        HttpRequest.Builder request =
            HttpRequest.newBuilder(URI.create(target + exchange.getRequestURI()))
                .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
        exchange.getRequestHeaders().forEach((name, values) -> {
          if (!HOP_BY_HOP.contains(name.toLowerCase())) {
            values.forEach(value -> request.header(name, value));
          }
        });
        HttpResponse<byte[]> response;
        try {
          response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException(e);
        }
        int status = response.statusCode();
        byte[] answer = response.body();
        String text = new String(answer, StandardCharsets.UTF_8);
        boolean lose =
            losing && post && status == 200
                && (path.endsWith("/claims") && text.contains("\"token\"") && claimLost.compareAndSet(false, true)
                    || path.endsWith("/logs") && logsLost.compareAndSet(false, true));
        if (lose) {
          status = 502;
          answer = "{\"reason\":\"bad_gateway\",\"message\":\"answer lost on purpose\"}".getBytes(StandardCharsets.UTF_8);
        }
        response.headers().map().forEach((name, values) -> {
          if (!HOP_BY_HOP.contains(name.toLowerCase()) && !name.startsWith(":")) {
            values.forEach(value -> exchange.getResponseHeaders().add(name, value));
          }
        });
        exchange.sendResponseHeaders(status, answer.length == 0 ? -1 : answer.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(answer);
        }
      } finally {
        exchange.close();
      }
    }

    @Override
    public void close() {
      server.stop(0);
      threads.shutdownNow();
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
