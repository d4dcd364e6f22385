package org.baton.sdk;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;

/**
 * How a task method's parameters are served, decided when the bundle registers its DAGs: each
 * parameter is injected by its type or bound to an upstream task's XCom, read through Jackson.
 */
final class Invocation {
  /** The JSON mapping of XCom and variable values: java.time as ISO strings, unknown fields ignored. */
  static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /**
   * The JSON tree of an XCom or variable value; throws {@link IllegalArgumentException} for a value
   * Jackson cannot write, or one holding NaN or an infinity, which JSON has no number for (Jackson
   * would write them as the strings "NaN" and "Infinity", so a number came back as a string).
   */
  static JsonNode tree(ObjectMapper mapper, Object value) {
    JsonNode tree = mapper.valueToTree(value);
    if (tree != null) {
      refuseNonFinite(tree, "the value");
    }
    return tree;
  }

  private static void refuseNonFinite(JsonNode node, String where) {
    if (node.isFloatingPointNumber() && !Double.isFinite(node.doubleValue())) {
      throw new IllegalArgumentException(where + " is " + node.doubleValue() + ", which JSON has no number for");
    }
    if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        refuseNonFinite(node.get(i), where + "[" + i + "]");
      }
    } else if (node.isObject()) {
      for (var field : node.properties()) {
        refuseNonFinite(field.getValue(), where + "." + field.getKey());
      }
    }
  }

  private enum Kind {
    CONTEXT,
    LOGGER,
    CLIENT,
    XCOM
  }

  private record Binding(Kind kind, String taskId, String key, JavaType type, boolean primitive) {}

  /** What the served values come from, for one attempt. */
  interface Scope {
    TaskContext context();

    Logger logger();

    AttemptClient client();
  }

  private final List<Binding> bindings;
  final List<String> xcomUpstream;

  private Invocation(List<Binding> bindings, List<String> xcomUpstream) {
    this.bindings = bindings;
    this.xcomUpstream = xcomUpstream;
  }

  /**
   * The plan for a task's parameters. {@code upstream} lists its upstream task ids in the order
   * given; parameters neither injected nor {@link FromTask} take their return values in that order.
   * Throws {@link DagDefinitionException} naming the task for a parameter that cannot be served.
   */
  static Invocation plan(String where, TaskMethod method, List<String> upstream, boolean upstreamKnown) {
    List<Binding> bindings = new ArrayList<>();
    List<String> fromTasks = new ArrayList<>();
    int positional = 0;
    for (TaskMethod.Param param : method.params) {
      Class<?> type = param.type();
      String what = where + ": parameter " + param.position() + " (" + type.getSimpleName() + ")";
      if (param.fromTask() != null) {
        String taskId = Ids.check(what, "@FromTask task id", param.fromTask().value());
        Ids.check(what, "@FromTask key", param.fromTask().key());
        bindings.add(xcom(taskId, param.fromTask().key(), param));
        fromTasks.add(taskId);
      } else if (type == TaskContext.class) {
        bindings.add(new Binding(Kind.CONTEXT, null, null, null, false));
      } else if (type == Logger.class) {
        bindings.add(new Binding(Kind.LOGGER, null, null, null, false));
      } else if (type == TaskClient.class
          || type == VariableClient.class
          || type == ConnectionClient.class
          || type == XComClient.class) {
        bindings.add(new Binding(Kind.CLIENT, null, null, null, false));
      } else if (!upstreamKnown) {
        throw new DagDefinitionException(
            what + " cannot be served: the DAG is described by another bundle, so annotate it @FromTask(\"task_id\")");
      } else if (positional < upstream.size()) {
        bindings.add(xcom(upstream.get(positional++), AttemptClient.RETURN_VALUE, param));
      } else {
        throw new DagDefinitionException(
            what
                + " cannot be served: it is not injectable (TaskContext, Logger, TaskClient, VariableClient,"
                + " ConnectionClient, XComClient) and no upstream task is left to bind it to: add one"
                + " with .upstream(...) or annotate it @FromTask(\"task_id\")");
      }
    }
    return new Invocation(List.copyOf(bindings), List.copyOf(fromTasks));
  }

  private static Binding xcom(String taskId, String key, TaskMethod.Param param) {
    JavaType type = JSON.getTypeFactory().constructType(param.genericType());
    return new Binding(Kind.XCOM, taskId, key, type, param.type().isPrimitive());
  }

  /** The arguments for one call, pulling the bound XComs through the attempt's client. */
  Object[] arguments(Scope scope) {
    Object[] args = new Object[bindings.size()];
    for (int i = 0; i < args.length; i++) {
      Binding binding = bindings.get(i);
      switch (binding.kind()) {
        case CONTEXT:
          args[i] = scope.context();
          break;
        case LOGGER:
          args[i] = scope.logger();
          break;
        case CLIENT:
          args[i] = scope.client();
          break;
        default:
          Object value = scope.client().pull(binding.taskId(), binding.key(), binding.type());
          if (value == null && binding.primitive()) {
            throw new IllegalStateException(
                "parameter " + (i + 1) + " is a " + binding.type().getRawClass() + " but task '"
                    + binding.taskId() + "' pushed no XCom '" + binding.key() + "'");
          }
          args[i] = value;
      }
    }
    return args;
  }
}
