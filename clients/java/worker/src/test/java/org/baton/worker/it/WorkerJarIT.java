package org.baton.worker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.api.AdminApi;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.DagRunState;
import org.baton.client.generated.model.TaskInstanceState;
import org.baton.client.generated.model.TaskInstanceSummary;
import org.baton.client.generated.model.VariablePutBody;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code baton-worker.jar} as its users run it — {@code java -jar} in a process of its own — with a
 * bundle jar made from {@link ItBundle}, against a live server (PostgreSQL when
 * BATON_TEST_POSTGRES_URL is set): bundles found through ServiceLoader, DAGs registered, a task run
 * with the worker's own secrets and its prints in its log, a drain on SIGTERM, a second SIGTERM
 * handing a task back at once, an exit on SIGTERM despite threads a task left running, a bad bundle folder refused, and a server older than the worker.
 */
class WorkerJarIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static LiveServer server;
  private static Runs runs;
  private static Path bundles;

  @TempDir static Path work;

  @BeforeAll
  static void setUp() throws Exception {
    server = LiveServer.get();
    runs = new Runs(server);
    bundles = Files.createDirectories(work.resolve("bundles"));
    bundleJar(bundles.resolve("it-bundle.jar"), "org.baton.worker.it.ItBundle");
  }

  /** A jar of this package's compiled classes, declaring {@code services} as its bundles. */
  static void bundleJar(Path jar, String... services) throws IOException {
    Path classes = Path.of(System.getProperty("baton.test.classes", "target/test-classes"));
    Path folder = classes.resolve("org/baton/worker/it");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.list(folder)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".class")).sorted().toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace('\\', '/')));
        out.write(Files.readAllBytes(file));
        out.closeEntry();
      }
      if (services.length > 0) {
        out.putNextEntry(new JarEntry("META-INF/services/org.baton.sdk.Bundle"));
        out.write((String.join("\n", services) + "\n").getBytes(StandardCharsets.UTF_8));
        out.closeEntry();
      }
    }
  }

  private static WorkerProcess start(Map<String, String> env, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("--bundles", bundles.toString(), "--heartbeat-interval", "1"));
    command.addAll(List.of(args));
    Map<String, String> environment = new HashMap<>(env);
    environment.put("BATON_SERVER_URL", server.baseUrl);
    environment.put("BATON_WORKER_TOKEN", server.workerToken());
    return WorkerProcess.start(work, environment, command);
  }

  @Test
  void loadsTheBundleJar_registersItsDags_andRunsATaskWithTheWorkersSecretsAndItsPrintsInItsLog() throws Exception {
    Path secrets = work.resolve("secrets.json");
    Files.writeString(
        secrets, "{\"connections\": {\"it_warehouse\": \"postgres://etl:s3cr%40t@db.internal:5432/dw?sslmode=require\"}}");
    Map<String, String> env = Map.of("BATON_VAR_IT_REGION", "eu-west", "BATON_SECRETS_FILE", secrets.toString());
    try (WorkerProcess worker = start(env)) {
      worker.awaitOutput("registered worker");
      String runId = runs.trigger("it_greet");
      DagRunDetail run = runs.await("it_greet", runId);
      assertEquals(DagRunState.SUCCESS, run.getState(), worker.output());
      TaskInstanceSummary greet = Runs.task(run, "greet");
      String shown = runs.logText(Runs.task(run, "show").getId(), 1);
      assertTrue(shown.contains("received Greeting[region=eu-west, warehouseHost=db.internal, warehousePort=5432]"), shown);
      String log = runs.logText(greet.getId(), 1);
      assertTrue(log.contains("info printed by greet on stdout {stream=stdout}"), log);
      assertTrue(log.contains("error printed on stderr in two writes {stream=stderr}"), log);
      assertTrue(!log.contains("s3cr"), "a secret reached the log:\n" + log);
      worker.terminate();
      assertEquals(0, worker.awaitExit());
    }
  }

  @Test
  void sigterm_drains_runningTaskFinishes_thenTheWorkerExits() throws Exception {
    Path release = work.resolve("release-drain");
    try (WorkerProcess worker = start(Map.of("IT_RELEASE_FILE", release.toString()), "--grace-period", "600")) {
      String runId = holdThenTerminate(worker);
      assertTrue(worker.alive(), "the worker left before its task ended:\n" + worker.output());
      Files.createFile(release);
      assertEquals(0, worker.awaitExit(), worker.output());
      DagRunDetail run = runs.run("it_hold", runId);
      assertEquals(TaskInstanceState.SUCCESS, Runs.task(run, "hold").getState(), worker.output());
      assertTrue(worker.output().contains("stopped"), worker.output());
    }
  }

  @Test
  void secondSigterm_handsTheRunningTaskBackAtOnce() throws Exception {
    Path never = work.resolve("release-never");
    try (WorkerProcess worker = start(Map.of("IT_RELEASE_FILE", never.toString()), "--grace-period", "600")) {
      String runId = holdThenTerminate(worker);
      worker.terminate();
      assertEquals(0, worker.awaitExit(), worker.output());
      assertTrue(worker.output().contains("handing back 1 task(s) still running"), worker.output());
      TaskInstanceSummary hold = Runs.task(runs.run("it_hold", runId), "hold");
      assertEquals(TaskInstanceState.UP_FOR_RETRY, hold.getState(), worker.output());
      String log = runs.logText(hold.getId(), 1);
      assertTrue(log.contains("the worker is shutting down: the attempt is handed back"), log);
    }
  }

  @Test
  void sigterm_exits_evenWhenATaskLeftNonDaemonThreadsRunning() throws Exception {
    // The worker's main thread returned after the drain and left the exit to the JVM, which waits for
    // every thread that is not a daemon: a task's forgotten thread pool kept the worker up forever.
    try (WorkerProcess worker = start(Map.of())) {
      worker.awaitOutput("registered worker");
      String runId = runs.trigger("it_leak");
      assertEquals(DagRunState.SUCCESS, runs.await("it_leak", runId).getState(), worker.output());
      worker.terminate();
      assertEquals(0, worker.awaitExit(Duration.ofSeconds(60)), worker.output());
      assertTrue(worker.output().contains("stopped"), worker.output());
    }
  }

  /** Runs it_hold's task on the worker, sends SIGTERM once it runs, and waits for the drain; the run id. */
  private static String holdThenTerminate(WorkerProcess worker) throws Exception {
    worker.awaitOutput("registered worker");
    String runId = runs.trigger("it_hold");
    Runs.waitFor(
        "it_hold/" + runId + " to be running",
        () -> runs.run("it_hold", runId).getTaskInstances().stream()
            .anyMatch(ti -> ti.getTaskId().equals("hold") && ti.getState() == TaskInstanceState.RUNNING));
    worker.terminate();
    worker.awaitOutput("waiting up to 600 s for 1 running task(s)");
    return runId;
  }

  @Test
  void serverKilledAndRestartedMidTask_tasksCallingTheApiRideItOut() throws Exception {
    LiveServer own = LiveServer.start(Map.of());
    try {
      Runs ownRuns = new Runs(own);
      new AdminApi(own.admin().apiClient()).adminSetVariable("it_probe", new VariablePutBody().value("from the server"));
      Path restarted = work.resolve("restarted");
      Map<String, String> env =
          Map.of(
              "BATON_SERVER_URL", own.baseUrl,
              "BATON_WORKER_TOKEN", own.workerToken(),
              "IT_RESTARTED_FILE", restarted.toString());
      List<String> args =
          List.of("--bundles", bundles.toString(), "--heartbeat-interval", "1", "--queue", "it_restart");
      try (WorkerProcess worker = WorkerProcess.start(work, env, args)) {
        worker.awaitOutput("registered worker");
        String runId = ownRuns.trigger("it_restart");
        Runs.waitFor(
            "every caller to run",
            () -> ownRuns.run("it_restart", runId).getTaskInstances().stream()
                    .filter(ti -> ti.getState() == TaskInstanceState.RUNNING)
                    .count()
                == ItBundle.RESTART_CALLERS);
        // The callers call the API every 100 ms while the server is down: their calls are refused
        // until it answers again (its start takes seconds), longer than the default retries last.
        own.restart();
        Files.createFile(restarted);
        DagRunDetail run = ownRuns.await("it_restart", runId);
        for (TaskInstanceSummary ti : run.getTaskInstances()) {
          assertEquals(TaskInstanceState.SUCCESS, ti.getState(), ti.getTaskId() + ":\n" + ownRuns.logText(ti.getId(), 1));
          assertEquals(1, ti.getTryNumber(), ti.getTaskId());
        }
        assertEquals(DagRunState.SUCCESS, run.getState(), worker.output());
      }
    } finally {
      own.close();
    }
  }

  @Test
  void serverDown_theExecutionTimeoutStillStopsTheTaskOnTime() throws Exception {
    // While the server is down the attempt's heartbeats and log batches wait for it (up to a minute
    // each); the timers that stop a task must not wait behind them.
    LiveServer own = LiveServer.start(Map.of());
    try {
      Runs ownRuns = new Runs(own);
      Map<String, String> env =
          Map.of("BATON_SERVER_URL", own.baseUrl, "BATON_WORKER_TOKEN", own.workerToken());
      List<String> args =
          List.of("--bundles", bundles.toString(), "--heartbeat-interval", "1", "--queue", "it_restart");
      try (WorkerProcess worker = WorkerProcess.start(work, env, args)) {
        worker.awaitOutput("registered worker");
        String runId = ownRuns.trigger("it_outage");
        worker.awaitOutput("it_outage/" + runId + "/spin try 1/1: started");
        own.kill();
        long killed = System.nanoTime();
        worker.awaitOutput("execution timeout of 3 s exceeded");
        Duration took = Duration.ofNanos(System.nanoTime() - killed);
        // Behind a blocked heartbeat it would come only when that gives up, a minute after its call.
        assertTrue(took.compareTo(Duration.ofSeconds(45)) < 0, "the timeout came " + took + " after the kill");
        own.restart();
        DagRunDetail run = ownRuns.await("it_outage", runId);
        assertEquals(TaskInstanceState.FAILED, Runs.task(run, "spin").getState(), worker.output());
      }
    } finally {
      own.close();
    }
  }

  @Test
  void badBundleFolder_isRefusedWithAClearMessage() throws Exception {
    Map<String, String> env = Map.of("BATON_SERVER_URL", server.baseUrl, "BATON_WORKER_TOKEN", "unused");
    Path missing = work.resolve("no-such-folder");
    try (WorkerProcess worker = WorkerProcess.start(work, env, List.of("--bundles", missing.toString()))) {
      assertEquals(1, worker.awaitExit());
      assertTrue(worker.output().contains("baton-worker: the bundle folder " + missing + " does not exist"), worker.output());
    }
    Path empty = Files.createDirectories(work.resolve("empty-bundles"));
    try (WorkerProcess worker = WorkerProcess.start(work, env, List.of("--bundles", empty.toString()))) {
      assertEquals(1, worker.awaitExit());
      assertTrue(worker.output().contains("baton-worker: no bundle jar (*.jar) in " + empty), worker.output());
    }
    Path undeclared = Files.createDirectories(work.resolve("undeclared"));
    bundleJar(undeclared.resolve("plain.jar"));
    try (WorkerProcess worker = WorkerProcess.start(work, env, List.of("--bundles", undeclared.toString()))) {
      assertEquals(1, worker.awaitExit());
      assertTrue(
          worker.output().contains("the jar plain.jar declares no bundle: list its org.baton.sdk.Bundle classes in"
              + " META-INF/services/org.baton.sdk.Bundle"),
          worker.output());
    }
    Path broken = Files.createDirectories(work.resolve("broken"));
    bundleJar(broken.resolve("broken.jar"), "org.baton.worker.it.NoSuchBundle");
    try (WorkerProcess worker = WorkerProcess.start(work, env, List.of("--bundles", broken.toString()))) {
      assertEquals(1, worker.awaitExit());
      assertTrue(worker.output().contains("the bundle jar broken.jar cannot be loaded"), worker.output());
      assertTrue(worker.output().contains("org.baton.worker.it.NoSuchBundle"), worker.output());
    }
  }

  @Test
  void serverOlderThanTheWorker_saysUpgradeTheServer() throws Exception {
    // What the live server answers a client newer than itself, replayed by a server that is "older".
    HttpResponse<String> real =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(server.baseUrl + "/workers/registrations"))
                    .header("Baton-API-Version", "2999-01-01")
                    .header("Authorization", "Bearer " + server.workerToken())
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    JsonNode body = JSON.readTree(real.body());
    assertEquals(400, real.statusCode(), real.body());
    assertEquals("client_version_too_new", body.path("reason").asText(), real.body());
    HttpServer older = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    older.createContext(
        "/",
        exchange -> {
          try (InputStream in = exchange.getRequestBody(); OutputStream out = exchange.getResponseBody()) {
            in.readAllBytes();
            byte[] bytes = real.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(real.statusCode(), bytes.length);
            out.write(bytes);
          }
        });
    older.start();
    try {
      String url = "http://127.0.0.1:" + older.getAddress().getPort();
      Map<String, String> env = Map.of("BATON_SERVER_URL", url, "BATON_WORKER_TOKEN", "any");
      try (WorkerProcess worker = WorkerProcess.start(work, env, List.of("--bundles", bundles.toString()))) {
        assertEquals(1, worker.awaitExit(), worker.output());
        assertTrue(worker.output().contains("baton-worker: upgrade the Baton server"), worker.output());
        assertTrue(worker.output().contains(body.path("message").asText()), worker.output());
      }
    } finally {
      older.stop(0);
    }
  }
}
