package org.baton.worker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.DagRunState;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java examples docs/java-sdk.md shows, compiled from {@code examples/java} against the SDK the
 * worker jar holds and run as their users run them, against a live server: the tutorial's bundle
 * jar under {@code baton-worker.jar}, and the inventory service serving its own DAG's tasks.
 */
class ExamplesIT {
  private static final Path EXAMPLES = Path.of(System.getProperty("baton.examples", "../../../examples/java"));
  private static LiveServer server;
  private static Runs runs;

  @TempDir static Path work;

  @BeforeAll
  static void setUp() throws Exception {
    server = LiveServer.get();
    runs = new Runs(server);
  }

  /** The example's classes (and resources), compiled with every lint on against the worker jar. */
  private static Path compile(String example) throws IOException {
    Path sources = EXAMPLES.resolve(example).resolve("src/main/java");
    Path classes = Files.createDirectories(work.resolve(example + "-classes"));
    List<String> args =
        new ArrayList<>(List.of("--release", "17", "-Xlint:all", "-Werror", "-classpath", WorkerProcess.jar().toString(),
            "-d", classes.toString()));
    try (Stream<Path> files = Files.walk(sources)) {
      files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertEquals(0, javac.run(null, null, null, args.toArray(String[]::new)), "compiling " + sources);
    Path resources = EXAMPLES.resolve(example).resolve("src/main/resources");
    if (Files.isDirectory(resources)) {
      try (Stream<Path> files = Files.walk(resources)) {
        for (Path file : files.filter(Files::isRegularFile).toList()) {
          Path target = classes.resolve(resources.relativize(file).toString());
          Files.createDirectories(target.getParent());
          Files.copy(file, target);
        }
      }
    }
    return classes;
  }

  private static void jar(Path classes, Path jar) throws IOException {
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.walk(classes)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace('\\', '/')));
        out.write(Files.readAllBytes(file));
        out.closeEntry();
      }
    }
  }

  @Test
  void tutorialBundle_runsUnderTheWorkerJar() throws Exception {
    Path bundles = Files.createDirectories(work.resolve("tutorial-bundles"));
    jar(compile("orders-bundle"), bundles.resolve("orders-bundle-1.0.jar"));
    Map<String, String> env = Map.of("BATON_SERVER_URL", server.baseUrl, "BATON_WORKER_TOKEN", server.workerToken());
    List<String> args = List.of("--bundles", bundles.toString(), "--queue", "java", "--heartbeat-interval", "1");
    try (WorkerProcess worker = WorkerProcess.start(work, env, args)) {
      worker.awaitOutput("registered worker");
      String runId = runs.trigger("orders");
      DagRunDetail run = runs.await("orders", runId);
      assertEquals(DagRunState.SUCCESS, run.getState(), worker.output());
      String report = runs.logText(Runs.task(run, "report").getId(), 1);
      assertTrue(report.contains("2 orders, 200.5 in all"), report);
      worker.terminate();
      assertEquals(0, worker.awaitExit(), worker.output());
    }
  }

  @Test
  void inventoryService_servesItsOwnDagsTasks_onItsOwnState() throws Exception {
    Path classes = compile("inventory-service");
    String classpath = WorkerProcess.jar() + java.io.File.pathSeparator + classes;
    Map<String, String> env =
        Map.of("BATON_SERVER_URL", server.baseUrl, "BATON_WORKER_TOKEN", server.workerToken(), "PORT", "0");
    List<String> args = List.of("-cp", classpath, "org.baton.examples.inventory.InventoryService");
    try (WorkerProcess service = WorkerProcess.java(work, env, args)) {
      service.awaitOutput("/stock; serving the restock DAG");
      Matcher url = Pattern.compile("inventory service on (http://127\\.0\\.0\\.1:\\d+/stock)").matcher(service.output());
      assertTrue(url.find(), service.output());
      assertEquals("{\"widgets\": 3}", get(url.group(1)));
      String runId = runs.trigger("restock");
      assertEquals(DagRunState.SUCCESS, runs.await("restock", runId).getState(), service.output());
      assertEquals("{\"widgets\": 10}", get(url.group(1)));
      service.terminate();
      service.awaitExit();
      assertTrue(service.output().contains("stopped"), service.output());
    }
  }

  private static String get(String url) throws IOException, InterruptedException {
    HttpResponse<String> answer =
        HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, answer.statusCode(), answer.body());
    return answer.body();
  }
}
