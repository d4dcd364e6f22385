package org.baton.bench;

import org.baton.sdk.Bundle;
import org.baton.sdk.Dag;
import org.baton.sdk.DagRegistry;

/** The Java worker benchmark's bundle: one DAG of independent no-op tasks (BENCH_TASKS of them). */
public final class NoopBundle implements Bundle {
  /** Does nothing: the time from its claim to its final state is the worker's overhead. */
  public static void noop() {}

  @Override
  public void registerDags(DagRegistry registry) {
    int count = Integer.parseInt(System.getenv().getOrDefault("BENCH_TASKS", "200"));
    Dag dag = registry.addDag("java_bench_noop").queue("java_bench");
    for (int i = 0; i < count; i++) {
      dag.addTask(NoopBundle::noop).id("noop_" + i);
    }
  }
}
