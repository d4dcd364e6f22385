package org.baton.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code baton-server serve} on 127.0.0.1 over a temporary SQLite folder, started once per
 * test JVM and stopped when it exits. The server is {@code $BATON_SERVER}, else {@code baton-server}
 * on the PATH, else the workspace's {@code .venv/bin/baton-server} above the working folder.
 */
final class LiveServer {
  private static LiveServer instance;

  final String baseUrl;
  private final Path command;
  private final Map<String, String> env;
  private final Process process;

  private LiveServer(Path command, Map<String, String> env, String baseUrl, Process process) {
    this.command = command;
    this.env = env;
    this.baseUrl = baseUrl;
    this.process = process;
  }

  /** The shared server, started on first use. */
  static synchronized LiveServer get() throws IOException, InterruptedException {
    if (instance == null) {
      instance = start();
      Runtime.getRuntime().addShutdownHook(new Thread(instance::stop));
    }
    return instance;
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

  private static LiveServer start() throws IOException, InterruptedException {
    Path command = serverCommand();
    Path dataDir = Files.createTempDirectory("baton-java-test-");
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    ProcessBuilder builder = new ProcessBuilder(command.toString(), "serve");
    Map<String, String> env = builder.environment();
    env.remove("BATON_DATABASE_URL");
    env.put("BATON_DATA_DIR", dataDir.toString());
    env.put("BATON_HOST", "127.0.0.1");
    env.put("BATON_PORT", Integer.toString(port));
    env.put("BATON_LOG_LEVEL", "warning");
    // Every response of a running attempt carries a fresh token: the token swap is exercised.
    env.put("BATON_TOKEN_REFRESH_BEFORE", "3600");
    Path log = dataDir.resolve("server.log");
    builder.redirectErrorStream(true).redirectOutput(log.toFile());
    Process process = builder.start();
    String baseUrl = "http://127.0.0.1:" + port;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "baton-server exited with " + process.exitValue() + ":\n" + Files.readString(log));
      }
      if (answers(baseUrl + "/execution/health")) {
        return new LiveServer(command, Map.copyOf(env), baseUrl, process);
      }
      if (System.nanoTime() > deadline) {
        process.destroyForcibly();
        throw new IllegalStateException("baton-server did not answer within 60 s:\n" + Files.readString(log));
      }
      Thread.sleep(100);
    }
  }

  private static boolean answers(String url) {
    try {
      HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
      connection.setConnectTimeout(1000);
      connection.setReadTimeout(1000);
      try {
        return connection.getResponseCode() == 200;
      } finally {
        connection.disconnect();
      }
    } catch (IOException notYet) {
      return false;
    }
  }

  private void stop() {
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /**
   * Queues a new DAG run with these tasks (clients/testing/seed_task_instances.py: test scaffolding
   * until the Worker API hands out workloads); its JSON, with each task instance's workload token.
   */
  JsonNode seed(String... taskIds) throws IOException, InterruptedException {
    Path script = findUp("clients/testing/seed_task_instances.py");
    if (script == null) {
      script = findUp("testing/seed_task_instances.py");
    }
    if (script == null) {
      throw new IllegalStateException("clients/testing/seed_task_instances.py not found above " + Path.of(""));
    }
    Path python = command.toAbsolutePath().getParent().resolve("python");
    List<String> args = new ArrayList<>(List.of(python.toString(), script.toString()));
    args.add("--tasks");
    args.add(String.join(",", taskIds));
    ProcessBuilder builder = new ProcessBuilder(args);
    builder.environment().clear();
    builder.environment().putAll(env);
    builder.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process seeding = builder.start();
    byte[] out = seeding.getInputStream().readAllBytes();
    if (seeding.waitFor() != 0) {
      throw new IllegalStateException("seeding failed: " + new String(out, StandardCharsets.UTF_8));
    }
    return new ObjectMapper().readTree(out);
  }
}
