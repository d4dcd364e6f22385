package org.baton.worker.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.baton.sdk.Bundle;
import org.baton.sdk.Connection;
import org.baton.sdk.ConnectionClient;
import org.baton.sdk.Dag;
import org.baton.sdk.DagRegistry;
import org.baton.sdk.Task;
import org.baton.sdk.TaskContext;
import org.baton.sdk.VariableClient;
import org.slf4j.Logger;

/**
 * The bundle the worker's integration tests put in a jar of its own: a task that reads the worker's
 * own secrets and prints, a task that runs until the test releases it (or the worker stops it),
 * tasks that call the API while the test restarts the server, and a task that leaves threads behind.
 */
public final class ItBundle implements Bundle {
  /** What {@link #greet} returns: its XCom. */
  public record Greeting(String region, String warehouseHost, int warehousePort) {}

  /** Reads a variable from the worker's environment and a connection from its secrets file; prints. */
  static Greeting greet(TaskContext context, VariableClient variables, ConnectionClient connections) {
    System.out.println("printed by " + context.taskId() + " on stdout");
    System.err.print("printed on stderr ");
    System.err.println("in two writes");
    Connection warehouse = connections.getConnection("it_warehouse");
    return new Greeting(variables.getVariable("it_region", String.class), warehouse.host(), warehouse.port());
  }

  /** Receives {@link #greet}'s XCom, through Jackson, and logs it. */
  static void show(Greeting greeting, Logger log) {
    log.info("received {}", greeting);
  }

  /** Runs until the file named by IT_RELEASE_FILE exists, or until the worker asks it to stop. */
  static String hold(TaskContext context) throws InterruptedException {
    Path release = Path.of(System.getenv("IT_RELEASE_FILE"));
    System.out.println("holding until " + release + " exists");
    while (!Files.exists(release)) {
      if (context.stopRequested()) {
        throw new IllegalStateException("stopped: " + context.stopReason());
      }
      Thread.sleep(50);
    }
    return "released";
  }

  /**
   * Reads a variable from the server every 100 ms until the file named by IT_RESTARTED_FILE exists (the
   * test writes it once the server it killed answers again), then once more; the calls it made.
   */
  static int callUntilRestarted(VariableClient variables) throws InterruptedException {
    Path restarted = Path.of(System.getenv("IT_RESTARTED_FILE"));
    for (int calls = 1; ; calls++) {
      boolean last = Files.exists(restarted);
      variables.getVariable("it_probe", String.class);
      if (last) {
        return calls;
      }
      Thread.sleep(100);
    }
  }

  /** Starts a thread pool (its threads are not daemons) and returns without shutting it down. */
  static void leavePoolRunning() {
    ExecutorService pool = Executors.newFixedThreadPool(1);
    pool.execute(
        () -> {
          try {
            Thread.sleep(Duration.ofHours(1).toMillis());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
  }

  @Override
  public void registerDags(DagRegistry registry) {
    Dag dag = registry.addDag("it_greet").queue("it_java");
    Task greet = dag.addTask(ItBundle::greet);
    dag.addTask(ItBundle::show).upstream(greet);
    // A handed-back attempt waits an hour for its retry: no later test's worker picks it up.
    Dag hold = registry.addDag("it_hold").queue("it_java").retries(1).retryDelay(Duration.ofHours(1));
    hold.addTask(ItBundle::hold);
    registry.addDag("it_leak").queue("it_java").addTask(ItBundle::leavePoolRunning);
    Dag restart = registry.addDag("it_restart").queue("it_restart");
    for (int i = 0; i < RESTART_CALLERS; i++) {
      restart.addTask(ItBundle::callUntilRestarted).id("caller_" + i);
    }
    Dag outage = registry.addDag("it_outage").queue("it_restart").executionTimeout(Duration.ofSeconds(3));
    outage.addTask(ItBundle::spin);
  }

  /** Runs until the worker stops it (its execution timeout, on it_outage). */
  static void spin(TaskContext context) throws InterruptedException {
    while (!context.stopRequested()) {
      Thread.sleep(50);
    }
    throw new IllegalStateException("stopped: " + context.stopReason());
  }

  /** How many tasks of it_restart run side by side. */
  static final int RESTART_CALLERS = 4;
}
