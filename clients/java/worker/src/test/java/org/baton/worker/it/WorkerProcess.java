package org.baton.worker.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.baton.client.Runs;

/**
 * {@code java -jar baton-worker.jar ARGS} in a process of its own (the jar {@code mvn package} made,
 * named by the system property {@code baton.worker.jar}), or another Java program; its stdout and
 * stderr in one file.
 * Closing it kills what is left of it.
 */
final class WorkerProcess implements AutoCloseable {
  private static final Duration EXIT_DEADLINE = Duration.ofMinutes(3);

  private final Process process;
  private final Path output;

  private WorkerProcess(Process process, Path output) {
    this.process = process;
    this.output = output;
  }

  /** The worker jar {@code mvn package} made. */
  static Path jar() {
    String jar = System.getProperty("baton.worker.jar");
    if (jar == null || !Files.isRegularFile(Path.of(jar))) {
      throw new IllegalStateException("no worker jar at " + jar + ": run the worker's tests with mvn verify");
    }
    return Path.of(jar);
  }

  /** Starts the worker jar with {@code args}, in an environment holding {@code env} and no other BATON_*. */
  static WorkerProcess start(Path work, Map<String, String> env, List<String> args) throws IOException {
    List<String> command = new ArrayList<>(List.of("-jar", jar().toString()));
    command.addAll(args);
    return java(work, env, command);
  }

  /** Starts {@code java ARGS} (this JVM's), in an environment holding {@code env} and no other BATON_*. */
  static WorkerProcess java(Path work, Map<String, String> env, List<String> args) throws IOException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>(List.of(java.toString()));
    command.addAll(args);
    Path output = Files.createTempFile(work, "worker-", ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("BATON_"));
    builder.environment().putAll(env);
    return new WorkerProcess(builder.start(), output);
  }

  /** Everything the worker wrote so far. */
  String output() {
    try {
      return Files.readString(output, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read the worker's output: " + e + ")";
    }
  }

  /** Waits (polling, up to three minutes) until the worker has written {@code text}. */
  void awaitOutput(String text) {
    Runs.waitFor(
        "the worker to write '" + text + "'",
        () -> {
          if (output().contains(text)) {
            return true;
          }
          if (!process.isAlive()) {
            throw new AssertionError("the worker exited with " + process.exitValue() + " before writing '" + text + "':\n" + output());
          }
          return false;
        });
  }

  boolean alive() {
    return process.isAlive();
  }

  /** Sends SIGTERM, as a service manager does to stop it. */
  void terminate() throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IllegalStateException("kill -TERM " + process.pid() + " failed");
    }
  }

  /** Its exit status, waiting up to three minutes for it. */
  int awaitExit() throws InterruptedException {
    return awaitExit(EXIT_DEADLINE);
  }

  /** Its exit status, waiting up to {@code deadline} for it. */
  int awaitExit(Duration deadline) throws InterruptedException {
    if (!process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("the worker did not exit within " + deadline + ":\n" + output());
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
