package org.baton.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.baton.client.generated.model.ClaimWorkloadsPayload;
import org.baton.client.generated.model.DagDescription;
import org.baton.client.generated.model.ExecuteTaskWorkload;
import org.baton.client.generated.model.RegisterDagsPayload;
import org.baton.client.generated.model.RegisterWorkerPayload;
import org.baton.client.generated.model.TaskDescription;
import org.baton.client.generated.model.TriggerDagRunPayload;
import org.baton.client.generated.model.Worker;

/**
 * A real {@code baton-server serve} on 127.0.0.1, over a temporary SQLite folder, or over a fresh
 * PostgreSQL database when {@code BATON_TEST_POSTGRES_URL} is set (created beside the one that URL
 * names, dropped when the server stops). The shared one is started once per test JVM; tests that
 * need other settings start their own. Every server stops when the JVM exits, and its temporary
 * folder (its keys and log) is removed then. The server is
 * {@code $BATON_SERVER}, else {@code baton-server} on the PATH, else the workspace's
 * {@code .venv/bin/baton-server} above the working folder; its Python environment (the folder of
 * that command) also runs the Python worker of the polyglot tests.
 *
 * <p>Public, with the test jar, for the SDK's and the worker's tests.
 */
public final class LiveServer {
  private static LiveServer instance;

  /** The server's base URL. */
  public final String baseUrl;
  /** Whether the server runs on PostgreSQL. */
  public final boolean postgres;
  private final Path command;
  private final Map<String, String> env;
  private final Path log;
  private Process process;
  private final Runnable cleanUp;
  private final Map<String, String> tokens = new HashMap<>();
  private boolean closed;

  private LiveServer(
      Path command,
      Map<String, String> env,
      String baseUrl,
      Path log,
      Process process,
      boolean postgres,
      Runnable cleanUp) {
    this.command = command;
    this.env = env;
    this.baseUrl = baseUrl;
    this.log = log;
    this.process = process;
    this.postgres = postgres;
    this.cleanUp = cleanUp;
  }

  /** The shared server, started on first use. */
  public static synchronized LiveServer get() throws IOException, InterruptedException {
    if (instance == null) {
      instance = start(Map.of());
    }
    return instance;
  }

  /** A server of its own, with these {@code BATON_*} settings added; stopped when the JVM exits (or by {@link #close}). */
  public static LiveServer start(Map<String, String> settings) throws IOException, InterruptedException {
    LiveServer server = launch(settings);
    Runtime.getRuntime().addShutdownHook(new Thread(server::close));
    return server;
  }

  /** The command beside {@code baton-server} in its environment ({@code baton}, {@code python}). */
  public Path tool(String name) {
    return command.resolveSibling(name);
  }

  /** A client of this server with {@code token}. */
  public BatonClient client(String token) {
    return BatonClient.builder().baseUrl(baseUrl).token(token).build();
  }

  /** A client with an admin token. */
  public BatonClient admin() throws IOException, InterruptedException {
    return client(token("create-admin-token"));
  }

  /** A worker credential, issued once per server. */
  public String workerToken() throws IOException, InterruptedException {
    return token("create-worker-credential");
  }

  private static Runnable createPostgresDatabase(Path python, String adminUrl, Map<String, String> env)
      throws IOException, InterruptedException {
    String name = "baton_java_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    String plain = adminUrl.replace("postgresql+asyncpg://", "postgresql://");
    String script =
        "import asyncio, sys, asyncpg\n"
            + "async def main():\n"
            + "    conn = await asyncpg.connect(sys.argv[1])\n"
            + "    try:\n"
            + "        await conn.execute(sys.argv[2])\n"
            + "    finally:\n"
            + "        await conn.close()\n"
            + "asyncio.run(main())\n";
    runPython(python, script, plain, "CREATE DATABASE \"" + name + "\"");
    env.put("BATON_DATABASE_URL", plain.substring(0, plain.lastIndexOf('/') + 1) + name);
    return () -> {
      try {
        runPython(python, script, plain, "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
      } catch (IOException | InterruptedException | IllegalStateException e) {
        System.err.println("could not drop the test database " + name + ": " + e);
      }
    };
  }

  private static void runPython(Path python, String script, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(python.toString(), "-c", script));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = process.getInputStream().readAllBytes();
    if (process.waitFor() != 0) {
      throw new IllegalStateException("creating the PostgreSQL test database failed: " + new String(out, StandardCharsets.UTF_8));
    }
  }

  private static Path findUp(String relative) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(relative);
      if (Files.exists(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  private static Path serverCommand() {
    String explicit = System.getenv("BATON_SERVER");
    if (explicit != null && !explicit.isEmpty()) {
      return Path.of(explicit);
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        Path candidate = Path.of(dir, "baton-server");
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    Path venv = findUp(".venv/bin/baton-server");
    if (venv == null) {
      throw new IllegalStateException(
          "baton-server not found: set BATON_SERVER or install the workspace (uv sync --all-packages)");
    }
    return venv;
  }

  private static LiveServer launch(Map<String, String> settings) throws IOException, InterruptedException {
    Path command = serverCommand();
    Path dataDir = Files.createTempDirectory("baton-java-test-");
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Map<String, String> env = new HashMap<>(System.getenv());
    env.remove("BATON_DATABASE_URL");
    env.put("BATON_DATA_DIR", dataDir.toString());
    env.put("BATON_HOST", "127.0.0.1");
    env.put("BATON_PORT", Integer.toString(port));
    env.put("BATON_LOG_LEVEL", "warning");
    // Every response of a running attempt carries a fresh token: the token swap is exercised.
    env.put("BATON_TOKEN_REFRESH_BEFORE", "3600");
    env.putAll(settings);
    String postgresUrl = System.getenv("BATON_TEST_POSTGRES_URL");
    boolean postgres = postgresUrl != null && !postgresUrl.isEmpty();
    Runnable drop = () -> removeFolder(dataDir);
    if (postgres) {
      Runnable dropDatabase = createPostgresDatabase(command.resolveSibling("python"), postgresUrl, env);
      drop = () -> {
        dropDatabase.run();
        removeFolder(dataDir);
      };
    }
    Path log = dataDir.resolve("server.log");
    String baseUrl = "http://127.0.0.1:" + port;
    Process process = spawn(command, env, log);
    String failure = awaitHealthy(process, baseUrl, log);
    if (failure != null) {
      drop.run();
      throw new IllegalStateException(failure);
    }
    return new LiveServer(command, Map.copyOf(env), baseUrl, log, process, postgres, drop);
  }

  /** Starts {@code baton-server serve} with {@code env}, its output appended to {@code log}. */
  private static Process spawn(Path command, Map<String, String> env, Path log) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command.toString(), "serve");
    builder.environment().clear();
    builder.environment().putAll(env);
    builder.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return builder.start();
  }

  /** Waits until the server answers its health check: null then, else why it never will. */
  private static String awaitHealthy(Process process, String baseUrl, Path log)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
    while (true) {
      if (!process.isAlive()) {
        return "baton-server exited with " + process.exitValue() + ":\n" + Files.readString(log);
      }
      if (answers(baseUrl + "/execution/health")) {
        return null;
      }
      if (System.nanoTime() > deadline) {
        process.destroyForcibly();
        process.waitFor(15, TimeUnit.SECONDS);
        return "baton-server did not answer within 300 s:\n" + Files.readString(log);
      }
      Thread.sleep(100);
    }
  }

  /** Kills the server with SIGKILL (no shutdown: what a crash leaves) and waits for it to end. */
  public synchronized void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  /**
   * Kills the server with SIGKILL (no shutdown: what a crash or an OOM kill leaves) and starts it
   * again on the same port and data, waiting until it answers.
   */
  public synchronized void restart() throws IOException, InterruptedException {
    kill();
    up();
  }

  /** Starts a killed server again on the same port and data, waiting until it answers. */
  public synchronized void up() throws IOException, InterruptedException {
    process = spawn(command, env, log);
    String failure = awaitHealthy(process, baseUrl, log);
    if (failure != null) {
      throw new IllegalStateException(failure);
    }
  }

  private static boolean answers(String url) {
    try {
      HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
      connection.setConnectTimeout(5000);
      connection.setReadTimeout(10000);
      try {
        return connection.getResponseCode() == 200;
      } finally {
        connection.disconnect();
      }
    } catch (IOException notYet) {
      return false;
    }
  }

  /** Stops the server, drops its PostgreSQL database and removes its folder; repeating it is harmless. */
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(15, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    cleanUp.run();
  }

  /** Removes {@code folder} and everything in it; what cannot be removed is reported, not thrown. */
  private static void removeFolder(Path folder) {
    try (Stream<Path> paths = Files.walk(folder)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException | UncheckedIOException e) {
      System.err.println("could not remove the test server's folder " + folder + ": " + e);
    }
  }

  /** Runs {@code baton-server ARGS} against this server's database; its standard output. */
  public String cli(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(this.command.toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().clear();
    builder.environment().putAll(env);
    builder.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process process = builder.start();
    byte[] out = process.getInputStream().readAllBytes();
    if (process.waitFor() != 0) {
      throw new IllegalStateException("baton-server " + args[0] + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  /** A token of a kind ({@code create-admin-token}, {@code create-worker-credential}), issued once per server. */
  public synchronized String token(String kind) throws IOException, InterruptedException {
    String cached = tokens.get(kind);
    if (cached == null) {
      JsonNode issued = new ObjectMapper().readTree(cli(kind, "java-client-tests", "--json"));
      cached = issued.get("token").asText();
      tokens.put(kind, cached);
    }
    return cached;
  }

  /** The environment the server runs with (its settings and database URL). */
  public Map<String, String> environment() {
    return env;
  }

  /** One claimed task instance of a queued run, with its workload token. */
  record QueuedTask(UUID id, String taskId, String workloadToken) {}

  /** A triggered DAG run whose task instances were claimed. */
  record QueuedRun(String dagId, String runId, List<QueuedTask> taskInstances) {}

  /**
   * Does what a Java worker and an operator do, through the API: registers a worker on a queue of
   * its own and a DAG of independent Java tasks, triggers a run, and claims its workloads.
   */
  QueuedRun queueRun(String... taskIds) throws IOException, InterruptedException {
    BatonClient worker = BatonClient.builder().baseUrl(baseUrl).token(token("create-worker-credential")).build();
    BatonClient admin = BatonClient.builder().baseUrl(baseUrl).token(token("create-admin-token")).build();
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String dagId = "java_client_tests_" + suffix;
    String runId = "test__" + suffix;
    String queue = "q_" + suffix;

    Worker registered =
        worker.registerWorker(
            new RegisterWorkerPayload()
                .name("w_" + suffix)
                .queues(List.of(queue))
                .capacity(100)
                .runtime("java"));
    List<TaskDescription> tasks = new ArrayList<>();
    for (String taskId : taskIds) {
      tasks.add(
          new TaskDescription()
              .taskId(taskId)
              .entryPoint("org.example.Tasks#" + taskId)
              .runtime("java")
              .queue(queue));
    }
    worker.registerDags(
        new RegisterDagsPayload().dags(List.of(new DagDescription().dagId(dagId).tasks(tasks))));
    admin.triggerDagRun(dagId, new TriggerDagRunPayload().runId(runId));

    Map<String, ExecuteTaskWorkload> claimed = new HashMap<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
    while (claimed.size() < taskIds.length && System.nanoTime() < deadline) {
      ClaimWorkloadsPayload claim =
          new ClaimWorkloadsPayload().maxWorkloads(taskIds.length).waitSeconds(BigDecimal.valueOf(5));
      for (ExecuteTaskWorkload workload : worker.claimWorkloads(registered.getId(), claim).getWorkloads()) {
        claimed.put(workload.getTaskInstance().getTaskId(), workload);
      }
    }
    List<QueuedTask> queued = new ArrayList<>();
    for (String taskId : taskIds) {
      ExecuteTaskWorkload workload = claimed.get(taskId);
      if (workload == null) {
        throw new IllegalStateException("no workload for " + taskId + " within 60 s");
      }
      queued.add(new QueuedTask(workload.getTaskInstance().getId(), taskId, workload.getToken()));
    }
    return new QueuedRun(dagId, runId, queued);
  }
}
