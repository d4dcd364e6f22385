package org.baton.sdk;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.baton.client.generated.model.DagDescription;
import org.baton.client.generated.model.DagSchedule;
import org.baton.client.generated.model.TaskDescription;

/**
 * Every DAG and task of a worker's bundles, checked: the descriptions to register with the server
 * (ids, dependencies, settings, never code) and the tasks by entry point.
 *
 * <p>A Java task's entry point is {@code <bundle name>:<dag_id>/<task_id>}: the bundle that
 * defines it, then the ids. Ids never contain {@code :} or {@code /}.
 */
final class Catalog {
  /** The runtime this SDK's workers serve. */
  static final String RUNTIME = "java";

  /** A task this worker can run. */
  record TaskEntry(String entryPoint, String dagId, String taskId, TaskMethod method, Invocation invocation) {}

  /** The DAGs one bundle registers, under its name. */
  record BundleDags(String bundleName, List<DagDescription> dags) {}

  final List<BundleDags> registrations;
  final Map<String, TaskEntry> tasks;
  final Set<String> queues;

  private Catalog(List<BundleDags> registrations, Map<String, TaskEntry> tasks, Set<String> queues) {
    this.registrations = registrations;
    this.tasks = tasks;
    this.queues = queues;
  }

  /** One bundle's registry while it registers its DAGs. */
  private static final class Registry implements DagRegistry {
    final List<Dag> dags = new ArrayList<>();

    @Override
    public Dag addDag(String dagId) {
      Dag dag = new Dag(dagId, true);
      dags.add(dag);
      return dag;
    }

    @Override
    public Dag tasksFor(String dagId) {
      Dag dag = new Dag(dagId, false);
      dags.add(dag);
      return dag;
    }
  }

  /** Registers and checks the DAGs of {@code bundles}; DagDefinitionException names the first mistake. */
  static Catalog of(List<Bundle> bundles) {
    List<BundleDags> registrations = new ArrayList<>();
    Map<String, TaskEntry> tasks = new LinkedHashMap<>();
    Set<String> queues = new LinkedHashSet<>();
    Map<String, String> dagOwners = new HashMap<>();
    Set<String> bundleNames = new HashSet<>();
    for (Bundle bundle : bundles) {
      String bundleName = bundle.name();
      String where = "bundle " + bundle.getClass().getName();
      if (bundleName == null || !Ids.ID.matcher(bundleName).matches()) {
        throw new DagDefinitionException(
            where + ": its name '" + bundleName + "' is not a valid id (letters, digits, _ . -): override name()");
      }
      if (!bundleNames.add(bundleName)) {
        throw new DagDefinitionException(where + ": another bundle is named '" + bundleName + "' too");
      }
      Registry registry = new Registry();
      try {
        bundle.registerDags(registry);
      } catch (DagDefinitionException e) {
        throw e;
      } catch (RuntimeException e) {
        throw new DagDefinitionException(where + ": registerDags failed: " + e);
      }
      List<DagDescription> described = new ArrayList<>();
      for (Dag dag : registry.dags) {
        String previous = dagOwners.putIfAbsent(dag.dagId(), bundleName);
        if (previous != null) {
          throw new DagDefinitionException(
              "DAG '" + dag.dagId() + "' is added twice (by " + previous + " and " + bundleName + ")");
        }
        DagDescription description = check(bundleName, dag, tasks, queues);
        if (description != null) {
          described.add(description);
        }
      }
      registrations.add(new BundleDags(bundleName, described));
    }
    return new Catalog(List.copyOf(registrations), Map.copyOf(tasks), java.util.Collections.unmodifiableSet(queues));
  }

  private static DagDescription check(String bundleName, Dag dag, Map<String, TaskEntry> runnables, Set<String> queues) {
    String where = "DAG '" + dag.dagId() + "'";
    if (dag.tasks.isEmpty()) {
      throw new DagDefinitionException(where + " has no tasks: add them with addTask");
    }
    Map<String, Task> byId = new LinkedHashMap<>();
    for (Task task : dag.tasks) {
      if (task.taskId() == null) {
        throw new DagDefinitionException(
            where + ": a task given as a lambda (" + task.method.label() + ") needs an id: .id(\"...\")");
      }
      if (byId.put(task.taskId(), task) != null) {
        throw new DagDefinitionException(where + ": task id '" + task.taskId() + "' is used twice");
      }
    }
    Map<String, List<String>> upstreamOf = new LinkedHashMap<>();
    List<TaskDescription> descriptions = new ArrayList<>();
    for (Task task : dag.tasks) {
      List<String> upstream = new ArrayList<>();
      for (Object item : task.upstream) {
        String id;
        if (item instanceof Task other) {
          if (!dag.tasks.contains(other)) {
            throw new DagDefinitionException(task.where() + ": its upstream " + other + " belongs to another DAG");
          }
          id = other.taskId();
        } else {
          id = (String) item;
        }
        if (id.equals(task.taskId())) {
          throw new DagDefinitionException(task.where() + " cannot be its own upstream task");
        }
        if (dag.registered() && !byId.containsKey(id)) {
          throw new DagDefinitionException(task.where() + ": its upstream task '" + id + "' is not a task of the DAG");
        }
        if (!upstream.contains(id)) {
          upstream.add(id);
        }
      }
      Invocation invocation = Invocation.plan(task.where(), task.method, upstream, dag.registered());
      for (String id : invocation.xcomUpstream) {
        if (id.equals(task.taskId())) {
          throw new DagDefinitionException(task.where() + ": @FromTask names the task itself");
        }
        if (dag.registered() && !byId.containsKey(id)) {
          throw new DagDefinitionException(task.where() + ": @FromTask(\"" + id + "\") is not a task of the DAG");
        }
        if (dag.registered() && !upstream.contains(id)) {
          upstream.add(id);
        }
      }
      upstreamOf.put(task.taskId(), upstream);
      String entryPoint = bundleName + ":" + dag.dagId() + "/" + task.taskId();
      runnables.put(entryPoint, new TaskEntry(entryPoint, dag.dagId(), task.taskId(), task.method, invocation));
      String queue = first(task.queue, dag.queue, "default");
      if (dag.registered() || task.queue != null || dag.queue != null) {
        // The queue of a task another bundle describes is that bundle's to say, unless given here.
        queues.add(queue);
      }
      Duration timeout = first(task.executionTimeout, dag.executionTimeout, null);
      descriptions.add(
          new TaskDescription()
              .taskId(task.taskId())
              .entryPoint(entryPoint)
              .runtime(RUNTIME)
              .upstreamTaskIds(upstream)
              .queue(queue)
              .retries(first(task.retries, dag.retries, 0))
              .retryDelaySeconds(Ids.seconds(first(task.retryDelay, dag.retryDelay, Duration.ofSeconds(300))))
              .executionTimeoutSeconds(timeout == null ? null : Ids.seconds(timeout))
              .triggerRule(
                  org.baton.client.generated.model.TriggerRule.fromValue(
                      first(task.triggerRule, dag.triggerRule, TriggerRule.ALL_SUCCESS).wireName())));
    }
    if (!dag.registered()) {
      return null;
    }
    checkAcyclic(where, upstreamOf);
    return new DagDescription()
        .dagId(dag.dagId())
        .description(dag.description)
        .schedule(schedule(where, dag))
        .tasks(descriptions);
  }

  private static DagSchedule schedule(String where, Dag dag) {
    if (dag.cron == null && dag.interval == null) {
      if (dag.startAt != null) {
        throw new DagDefinitionException(where + ": startAt needs a schedule");
      }
      return null;
    }
    DagSchedule schedule = new DagSchedule().startAt(dag.startAt);
    return dag.cron != null ? schedule.cron(dag.cron) : schedule.intervalSeconds(Ids.seconds(dag.interval));
  }

  private static void checkAcyclic(String where, Map<String, List<String>> upstreamOf) {
    Map<String, Integer> state = new HashMap<>(); // 1: on the current path, 2: done
    for (String root : upstreamOf.keySet()) {
      visit(where, root, upstreamOf, state, new ArrayList<>(List.of(root)));
    }
  }

  private static void visit(
      String where, String taskId, Map<String, List<String>> upstreamOf, Map<String, Integer> state, List<String> path) {
    if (state.getOrDefault(taskId, 0) == 2) {
      return;
    }
    state.put(taskId, 1);
    for (String up : upstreamOf.get(taskId)) {
      if (state.getOrDefault(up, 0) == 1) {
        List<String> cycle = new ArrayList<>(path.subList(path.indexOf(up), path.size()));
        cycle.add(up);
        throw new DagDefinitionException(
            where + ": tasks form a cycle: " + String.join(" <- ", cycle) + " (task '" + taskId + "')");
      }
      path.add(up);
      visit(where, up, upstreamOf, state, path);
      path.remove(path.size() - 1);
    }
    state.put(taskId, 2);
  }

  private static <T> T first(T own, T dagDefault, T serverDefault) {
    return own != null ? own : dagDefault != null ? dagDefault : serverDefault;
  }
}
