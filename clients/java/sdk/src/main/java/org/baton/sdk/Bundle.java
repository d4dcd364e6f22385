package org.baton.sdk;

/**
 * A DAG bundle: code that registers DAGs and their task methods. The Java worker finds bundles in
 * the jars of its bundle folder through {@link java.util.ServiceLoader}: list the implementing
 * class in {@code META-INF/services/org.baton.sdk.Bundle}. An application embedding a worker
 * passes its bundle to {@link Worker.Builder#bundle(Bundle)} directly.
 *
 * <pre>{@code
 * public final class OrdersBundle implements Bundle {
 *   public void registerDags(DagRegistry registry) {
 *     Dag dag = registry.addDag("orders").queue("java");
 *     Task extract = dag.addTask(Orders::extract);
 *     dag.addTask(Orders::load).upstream(extract).retries(2);
 *   }
 * }
 * }</pre>
 */
public interface Bundle {
  /**
   * A bundle of this name whose DAGs {@code registration} adds: for an application that serves its
   * own tasks ({@code Worker.builder().bundle(Bundle.of("inventory", registry -> ...))}).
   */
  static Bundle of(String name, java.util.function.Consumer<DagRegistry> registration) {
    java.util.Objects.requireNonNull(name, "name");
    java.util.Objects.requireNonNull(registration, "registration");
    return new Bundle() {
      @Override
      public void registerDags(DagRegistry registry) {
        registration.accept(registry);
      }

      @Override
      public String name() {
        return name;
      }
    };
  }

  /** Adds this bundle's DAGs to the registry; every mistake throws {@link DagDefinitionException}. */
  void registerDags(DagRegistry registry);

  /**
   * The bundle's name: the first part of its tasks' entry points, and the bundle name the server
   * records. The implementing class's name by default; keep it stable across releases.
   */
  default String name() {
    return getClass().getName();
  }
}
