package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.baton.client.generated.model.DagDescription;
import org.baton.client.generated.model.TaskDescription;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/** Every definition mistake fails while the bundle registers, naming the DAG and the task. */
class RegistrationTest {
  static Bundle bundle(String name, Consumer<DagRegistry> definition) {
    return Bundle.of(name, definition::accept);
  }

  private static Catalog catalog(Consumer<DagRegistry> definition) {
    return Catalog.of(List.of(bundle("tests", definition)));
  }

  private static String mistake(Consumer<DagRegistry> definition) {
    return assertThrows(DagDefinitionException.class, () -> catalog(definition)).getMessage();
  }

  static String noop() {
    return "done";
  }

  static void sink(String value) {}

  static void unservable(Thread notInjectable) {}

  String instanceTask() {
    return "mine";
  }

  static void takesTwo(String first, String second) {}

  @Test
  void description_carriesIdsDependenciesAndSettings() {
    Catalog catalog =
        catalog(
            registry -> {
              Dag dag = registry.addDag("etl").description("the pipeline").queue("java").retries(1);
              Task extract = dag.addTask(TestTasks::extract);
              Task total = dag.addTask(TestTasks::total).upstream(extract).retries(3).retryDelay(Duration.ofMillis(1500));
              dag.addTask(TestTasks::report).upstream(total).executionTimeout(Duration.ofMinutes(2)).queue("reports");
            });
    assertEquals(1, catalog.registrations.size());
    DagDescription dag = catalog.registrations.get(0).dags().get(0);
    assertEquals("etl", dag.getDagId());
    assertEquals("the pipeline", dag.getDescription());
    TaskDescription extract = dag.getTasks().get(0);
    String bundle = catalog.registrations.get(0).bundleName();
    assertEquals(bundle + ":etl/extract", extract.getEntryPoint());
    assertEquals("java", extract.getRuntime());
    assertEquals("java", extract.getQueue());
    assertEquals(1, extract.getRetries());
    assertEquals(300, extract.getRetryDelaySeconds());
    assertNull(extract.getExecutionTimeoutSeconds());
    TaskDescription total = dag.getTasks().get(1);
    assertEquals(List.of("extract"), total.getUpstreamTaskIds());
    assertEquals(3, total.getRetries());
    assertEquals(2, total.getRetryDelaySeconds(), "whole seconds, rounded up");
    TaskDescription report = dag.getTasks().get(2);
    // @FromTask("extract") adds the upstream task the method reads.
    assertEquals(List.of("total", "extract"), report.getUpstreamTaskIds());
    assertEquals(120, report.getExecutionTimeoutSeconds());
    assertEquals("reports", report.getQueue());
    assertEquals(java.util.Set.of("java", "reports"), catalog.queues);
    assertTrue(catalog.tasks.containsKey(bundle + ":etl/report"));
  }

  @Test
  void taskId_defaultsToTheMethodName_andCanBeGiven() {
    Catalog catalog =
        catalog(
            registry -> {
              Dag dag = registry.addDag("ids");
              dag.addTask(RegistrationTest::noop);
              dag.addTask(RegistrationTest::noop).id("noop_again");
              dag.addTask(() -> "from a lambda").id("lambda_task");
            });
    List<String> ids =
        catalog.registrations.get(0).dags().get(0).getTasks().stream().map(TaskDescription::getTaskId).toList();
    assertEquals(List.of("noop", "noop_again", "lambda_task"), ids);
  }

  @Test
  void duplicateTaskId_namesTheTask() {
    String message =
        mistake(
            registry -> {
              Dag dag = registry.addDag("dup");
              dag.addTask(RegistrationTest::noop);
              dag.addTask(RegistrationTest::noop);
            });
    assertEquals("DAG 'dup': task id 'noop' is used twice", message);
  }

  @Test
  void duplicateDagId_namesTheDag() {
    String message =
        mistake(
            registry -> {
              registry.addDag("twice").addTask(RegistrationTest::noop);
              registry.addDag("twice").addTask(RegistrationTest::noop);
            });
    assertTrue(message.startsWith("DAG 'twice' is added twice"), message);
  }

  @Test
  void malformedIds_nameWhatIsWrong() {
    assertTrue(mistake(registry -> registry.addDag("no spaces")).contains("DAG id 'no spaces' is not a valid id"));
    String task = mistake(registry -> registry.addDag("d").addTask(RegistrationTest::noop).id("-bad"));
    assertTrue(task.startsWith("task 'noop' of DAG 'd': task id '-bad' is not a valid id"), task);
    String queue = mistake(registry -> registry.addDag("d").addTask(RegistrationTest::noop).queue("a/b"));
    assertTrue(queue.startsWith("task 'noop' of DAG 'd': queue 'a/b' is not a valid id"), queue);
  }

  @Test
  void badSettings_nameTheTask() {
    String retries = mistake(registry -> registry.addDag("d").addTask(RegistrationTest::noop).retries(-1));
    assertEquals("task 'noop' of DAG 'd': retries must be from 0 to 100, not -1", retries);
    String timeout =
        mistake(registry -> registry.addDag("d").addTask(RegistrationTest::noop).executionTimeout(Duration.ZERO));
    assertTrue(timeout.startsWith("task 'noop' of DAG 'd': executionTimeout must be at least 1 s"), timeout);
  }

  @Test
  void unknownUpstream_namesTheTask() {
    String message = mistake(registry -> registry.addDag("d").addTask(RegistrationTest::sink).upstream("nowhere"));
    assertEquals("task 'sink' of DAG 'd': its upstream task 'nowhere' is not a task of the DAG", message);
  }

  @Test
  void selfUpstream_namesTheTask() {
    String message =
        mistake(
            registry -> {
              Task task = registry.addDag("d").addTask(RegistrationTest::noop);
              task.upstream(task);
            });
    assertEquals("task 'noop' of DAG 'd' cannot be its own upstream task", message);
  }

  @Test
  void upstreamOfAnotherDag_namesTheTask() {
    String message =
        mistake(
            registry -> {
              Task other = registry.addDag("one").addTask(RegistrationTest::noop);
              registry.addDag("two").addTask(RegistrationTest::sink).upstream(other);
            });
    assertEquals("task 'sink' of DAG 'two': its upstream Task(one/noop) belongs to another DAG", message);
  }

  @Test
  void cycle_namesItsTasks() {
    String message =
        mistake(
            registry -> {
              Dag dag = registry.addDag("loop");
              Task a = dag.addTask(RegistrationTest::noop).id("a");
              Task b = dag.addTask(RegistrationTest::sink).id("b").upstream(a);
              Task c = dag.addTask(RegistrationTest::sink).id("c").upstream(b);
              a.upstream(c);
            });
    assertTrue(message.startsWith("DAG 'loop': tasks form a cycle: a <- c <- b <- a"), message);
  }

  @Test
  void parameterThatCannotBeServed_namesTheTaskAndParameter() {
    String message = mistake(registry -> registry.addDag("d").addTask(RegistrationTest::unservable));
    assertTrue(
        message.startsWith("task 'unservable' of DAG 'd': parameter 1 (Thread) cannot be served"), message);
  }

  @Test
  void moreDataParametersThanUpstreamTasks_namesTheParameter() {
    String message =
        mistake(
            registry -> {
              Dag dag = registry.addDag("d");
              Task one = dag.addTask(RegistrationTest::noop);
              dag.addTask(RegistrationTest::takesTwo).upstream(one);
            });
    assertTrue(message.startsWith("task 'takesTwo' of DAG 'd': parameter 2 (String) cannot be served"), message);
  }

  @Test
  void fromTaskOfAnUnknownTask_namesTheTask() {
    String message = mistake(registry -> registry.addDag("d").addTask(TestTasks::report));
    assertEquals("task 'report' of DAG 'd': @FromTask(\"total\") is not a task of the DAG", message);
  }

  @Test
  void unboundInstanceMethod_saysHowToFixIt() {
    String message = mistake(registry -> registry.addDag("d").addTask(RegistrationTest::instanceTask));
    assertTrue(message.contains("RegistrationTest::instanceTask is an instance method: pass a bound reference"), message);
    // A bound reference works.
    RegistrationTest tasks = new RegistrationTest();
    catalog(registry -> registry.addDag("d").addTask(tasks::instanceTask));
  }

  @Test
  void lambdaWithoutId_asksForOne() {
    String message = mistake(registry -> registry.addDag("d").addTask(() -> "anonymous"));
    assertTrue(message.startsWith("DAG 'd': a task given as a lambda"), message);
    assertTrue(message.endsWith("needs an id: .id(\"...\")"), message);
  }

  @Test
  void dagWithoutTasks_isRefused() {
    assertEquals("DAG 'empty' has no tasks: add them with addTask", mistake(registry -> registry.addDag("empty")));
  }

  @Test
  void tasksForAnotherBundlesDag_areServedNotRegistered_andNeedFromTask() {
    Catalog catalog = catalog(registry -> registry.tasksFor("python_owned").addTask(TestTasks::fromPython));
    assertEquals(List.of(), catalog.registrations.get(0).dags());
    assertEquals(1, catalog.tasks.size());
    String message = mistake(registry -> registry.tasksFor("python_owned").addTask(RegistrationTest::sink));
    assertTrue(message.contains("the DAG is described by another bundle, so annotate it @FromTask"), message);
  }

  @Test
  void injectableParameters_needNoUpstream() {
    catalog(
        registry ->
            registry
                .addDag("d")
                .addTask(
                    (TaskFunction.Void6<TaskContext, Logger, TaskClient, VariableClient, ConnectionClient, XComClient>)
                        (a, b, c, d, e, f) -> {})
                .id("everything"));
  }

  @Test
  void bundleThatThrows_isReportedWithItsName() {
    Bundle broken =
        new Bundle() {
          @Override
          public void registerDags(DagRegistry registry) {
            throw new IllegalStateException("config missing");
          }

          @Override
          public String name() {
            return "broken";
          }
        };
    DagDefinitionException error = assertThrows(DagDefinitionException.class, () -> Catalog.of(List.of(broken)));
    assertTrue(error.getMessage().contains("registerDags failed: java.lang.IllegalStateException: config missing"));
  }
}
