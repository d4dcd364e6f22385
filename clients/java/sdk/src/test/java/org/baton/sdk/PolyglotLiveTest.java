package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.baton.client.LiveServer;
import org.baton.client.Runs;
import org.baton.client.generated.model.DagRunDetail;
import org.baton.client.generated.model.DagRunState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One DAG, two languages: a Python bundle declares it (a Python task, then a Java task through
 * {@code external_task}, then a Python task again), a real {@code baton worker} runs the Python
 * tasks and the SDK's worker the Java one. The Java task reads the Python task's XCom through
 * {@link FromTask}; the last Python task receives the Java task's return value.
 */
class PolyglotLiveTest {
  @Test
  void javaTask_consumesAPythonTasksXCom_andFeedsAPythonTask(@TempDir Path tmp) throws Exception {
    LiveServer server = LiveServer.get();
    Runs runs = new Runs(server);
    String id = Runs.suffix();
    String dagId = "mixed_" + id;
    String bundleName = "polyglot_" + id;
    Path bundle = tmp.resolve("mixed.py");
    Files.writeString(
        bundle,
        String.join(
            "\n",
            "from baton import dag, external_task, task",
            "",
            "summarize = external_task(",
            "    'fromPython', runtime='java', entry_point='" + bundleName + ":" + dagId + "/fromPython',",
            "    queue='q_java_" + id + "',",
            ")",
            "",
            "@dag(dag_id='" + dagId + "', queue='q_py_" + id + "')",
            "def mixed():",
            "    @task",
            "    def produce():",
            "        return {'rows': 3, 'by': 'python'}",
            "",
            "    @task",
            "    def show(summary):",
            "        print(f'python got: {summary}')",
            "",
            "    show(summarize(produce()))",
            "",
            "mixed()",
            ""));
    ProcessBuilder python =
        new ProcessBuilder(
                server.tool("baton").toString(), "worker", "--bundle", bundle.toString(), "--queue", "q_py_" + id,
                "--heartbeat-interval", "1")
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve("python-worker.log").toFile());
    python.environment().put("BATON_SERVER_URL", server.baseUrl);
    python.environment().put("BATON_WORKER_TOKEN", server.workerToken());
    Process pythonWorker = python.start();
    Worker javaWorker =
        Worker.builder()
            .serverUrl(server.baseUrl)
            .token(server.workerToken())
            .bundle(RegistrationTest.bundle(bundleName, registry -> registry.tasksFor(dagId).queue("q_java_" + id).addTask(TestTasks::fromPython)))
            .heartbeatInterval(Duration.ofSeconds(1))
            .claimWait(Duration.ofSeconds(1))
            .build();
    assertEquals(List.of("q_java_" + id), javaWorker.queues(), "a worker claims from its tasks' queues by default");
    javaWorker.start();
    try {
      Runs.waitFor(
          "the Python worker to register the DAG",
          () -> {
            try {
              return Files.readString(tmp.resolve("python-worker.log")).contains("registered worker");
            } catch (java.io.IOException e) {
              return false;
            }
          });
      String runId = runs.trigger(dagId);
      DagRunDetail run = runs.await(dagId, runId);
      String pythonLog = Files.readString(tmp.resolve("python-worker.log"));
      assertEquals(DagRunState.SUCCESS, run.getState(), run + "\n" + pythonLog);
      String javaLog = runs.logText(Runs.task(run, "fromPython").getId(), 1);
      assertTrue(javaLog.contains("received {rows=3, by=python} from Python"), javaLog);
      String showLog = runs.logText(Runs.task(run, "show").getId(), 1);
      assertTrue(showLog.contains("python got: java saw 3 rows from python"), showLog);
    } finally {
      javaWorker.stop();
      pythonWorker.destroy();
      if (!pythonWorker.waitFor(60, TimeUnit.SECONDS)) {
        pythonWorker.destroyForcibly();
      }
    }
  }
}
