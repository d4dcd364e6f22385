package org.baton.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.baton.client.ApiErrorException;
import org.baton.client.BadRequestException;
import org.baton.client.BatonClient;
import org.baton.client.ConflictException;
import org.baton.client.ForbiddenException;
import org.baton.client.InvalidRequestException;
import org.baton.client.NotFoundException;
import org.baton.client.PayloadTooLargeException;
import org.baton.client.ServerErrorException;
import org.baton.client.ServerTooOldException;
import org.baton.client.TransportException;
import org.baton.client.UnauthorizedException;
import org.baton.client.VersionMismatchException;
import org.baton.client.generated.ApiClient;
import org.baton.client.generated.ApiException;
import org.baton.client.generated.api.AdminApi;
import org.baton.client.generated.api.ConnectionsApi;
import org.baton.client.generated.api.LogsApi;
import org.baton.client.generated.api.WorkersApi;
import org.baton.client.generated.model.ClaimWorkloadsPayload;
import org.baton.client.generated.model.ClaimedWorkloads;
import org.baton.client.generated.model.ConnectionPutBody;
import org.baton.client.generated.model.ExecuteTaskWorkload;
import org.baton.client.generated.model.LogBatch;
import org.baton.client.generated.model.RegisterDagsPayload;
import org.baton.client.generated.model.RegisterWorkerPayload;
import org.baton.client.generated.model.TIHeartbeatPayload;
import org.baton.client.generated.model.TIRunPayload;
import org.baton.client.generated.model.TIStatePayload;
import org.baton.client.generated.model.TriggerDagRunPayload;
import org.baton.client.generated.model.Worker;

/**
 * Runs a conformance plan through the Java client ({@link BatonClient}) of one API version.
 *
 * <pre>java org.baton.conformance.Runner PLAN.json TRANSCRIPT.json</pre>
 *
 * <p>The suite compiles it together with the client generated for the plan's version. Request
 * bodies in the plan are decoded into that version's generated models (the client's own Jackson
 * mapper ignores fields the version does not know); results are the generated response models
 * turned back into JSON. Each step's outcome goes to the transcript; judging it is the suite's
 * business.
 */
public final class Runner {
  private static final Duration CLAIM_PATIENCE = Duration.ofSeconds(300);

  private final JsonNode plan;
  private final ObjectMapper mapper;
  private final BatonClient worker;
  private final BatonClient admin;
  private final Map<String, ExecuteTaskWorkload> workloads = new TreeMap<>();
  private final Map<String, BatonClient> tasks = new HashMap<>();
  private UUID workerId;

  private Runner(JsonNode plan) {
    this.plan = plan;
    this.worker = client(plan.get("worker_token").asText());
    this.admin = client(plan.get("admin_token").asText());
    this.mapper = worker.apiClient().getObjectMapper();
  }

  private BatonClient client(String token) {
    return BatonClient.builder().baseUrl(plan.get("base_url").asText()).token(token).build();
  }

  /** Thrown for a generated call that failed without an HTTP answer. */
  private static final class GeneratedCallFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    GeneratedCallFailed(ApiException cause) {
      super(cause.getMessage(), cause);
    }
  }

  private interface GeneratedCall<T> {
    T call() throws ApiException;
  }

  private static <T> T generated(GeneratedCall<T> call) {
    try {
      return call.call();
    } catch (ApiException e) {
      throw new GeneratedCallFailed(e);
    }
  }

  private <T> T decode(JsonNode value, Class<T> type) {
    return mapper.convertValue(value, type);
  }

  private JsonNode json(Object value) {
    return mapper.valueToTree(value);
  }

  private record Task(BatonClient client, UUID id) {}

  private Task task(JsonNode args, JsonNode token) {
    String name = args.get("task").asText();
    ExecuteTaskWorkload workload = workloads.get(name);
    if (workload == null) {
      throw new IllegalStateException("no workload claimed for task " + name);
    }
    UUID id = workload.getTaskInstance().getId();
    if (token != null && !token.isNull()) {
      return new Task(client(token.asText()), id);
    }
    return new Task(tasks.computeIfAbsent(name, n -> client(workload.getToken())), id);
  }

  private JsonNode value(Object value) {
    ObjectNode node = mapper.createObjectNode();
    node.set("value", mapper.valueToTree(value));
    return node;
  }

  private JsonNode perform(String action, JsonNode args, JsonNode token) throws InterruptedException {
    switch (action) {
      case "health":
        return json(worker.health(BatonClient.Api.valueOf(args.get("api").asText().toUpperCase())));
      case "register_worker":
        {
          Worker registered =
              generated(
                  () ->
                      new WorkersApi(worker.apiClient())
                          .registerWorker(decode(args.get("body"), RegisterWorkerPayload.class)));
          workerId = registered.getId();
          return json(registered);
        }
      case "register_dags":
        return json(
            generated(
                () ->
                    new WorkersApi(worker.apiClient())
                        .registerDags(decode(args.get("body"), RegisterDagsPayload.class))));
      case "trigger_dag_run":
        return json(
            generated(
                () ->
                    new AdminApi(admin.apiClient())
                        .triggerDagRun(
                            args.get("dag_id").asText(),
                            decode(args.get("body"), TriggerDagRunPayload.class))));
      case "set_connection":
        return json(
            generated(
                () ->
                    new AdminApi(admin.apiClient())
                        .adminSetConnection(
                            args.get("conn_id").asText(),
                            decode(args.get("body"), ConnectionPutBody.class))));
      case "claim_workloads":
        {
          ClaimWorkloadsPayload body = decode(args.get("body"), ClaimWorkloadsPayload.class);
          int count = args.get("count").asInt();
          Instant deadline = Instant.now().plus(CLAIM_PATIENCE);
          // The scheduler queues a triggered run's task instances within a pass or two: ask until all came.
          while (workloads.size() < count && Instant.now().isBefore(deadline)) {
            ClaimedWorkloads claimed =
                generated(() -> new WorkersApi(worker.apiClient()).claimWorkloads(workerId, body));
            for (ExecuteTaskWorkload w : claimed.getWorkloads()) {
              workloads.put(w.getTaskInstance().getTaskId(), w);
            }
          }
          ObjectNode result = mapper.createObjectNode();
          ArrayNode ids = result.putArray("task_ids");
          workloads.keySet().forEach(ids::add);
          return result;
        }
      default:
        break;
    }
    Task task = task(args, token);
    BatonClient client = task.client();
    switch (action) {
      case "start":
        return json(client.start(task.id(), decode(args.get("body"), TIRunPayload.class)));
      case "heartbeat":
        client.heartbeat(task.id(), decode(args.get("body"), TIHeartbeatPayload.class));
        return mapper.createObjectNode();
      case "get_variable":
        return value(client.getVariable(args.get("key").asText()));
      case "set_variable":
        client.setVariable(args.get("key").asText(), mapper.convertValue(args.get("value"), Object.class));
        return mapper.createObjectNode();
      case "get_connection":
        return json(
            generated(
                () -> new ConnectionsApi(client.apiClient()).getConnection(args.get("conn_id").asText())));
      case "push_xcom":
        client.pushXCom(xcom(args), mapper.convertValue(args.get("value"), Object.class));
        return mapper.createObjectNode();
      case "pull_xcom":
        return value(client.pullXCom(xcom(args)));
      case "upload_logs":
        return json(
            generated(
                () ->
                    new LogsApi(client.apiClient())
                        .uploadTaskLogs(task.id(), decode(args.get("body"), LogBatch.class))));
      case "finish":
        return json(client.finish(task.id(), decode(args.get("body"), TIStatePayload.class)));
      default:
        throw new IllegalArgumentException("unknown action " + action);
    }
  }

  private static BatonClient.XComRef xcom(JsonNode args) {
    return new BatonClient.XComRef(
        args.get("dag_id").asText(),
        args.get("run_id").asText(),
        args.get("task_id").asText(),
        args.get("key").asText());
  }

  private static String kind(ApiErrorException e) {
    if (e instanceof ServerTooOldException) {
      return "server_too_old";
    } else if (e instanceof VersionMismatchException) {
      return "version_mismatch";
    } else if (e instanceof BadRequestException) {
      return "bad_request";
    } else if (e instanceof UnauthorizedException) {
      return "unauthorized";
    } else if (e instanceof ForbiddenException) {
      return "forbidden";
    } else if (e instanceof NotFoundException) {
      return "not_found";
    } else if (e instanceof ConflictException) {
      return "conflict";
    } else if (e instanceof PayloadTooLargeException) {
      return "payload_too_large";
    } else if (e instanceof InvalidRequestException) {
      return "invalid_request";
    } else if (e instanceof ServerErrorException) {
      return "server_error";
    }
    return "api_error";
  }

  private ObjectNode step(JsonNode step) {
    ObjectNode out = mapper.createObjectNode();
    try {
      JsonNode result = perform(step.get("action").asText(), step.get("args"), step.get("token"));
      out.put("outcome", "ok");
      out.set("result", result);
    } catch (ApiErrorException e) {
      out.put("outcome", "error");
      out.put("kind", kind(e));
      out.put("status", e.status());
      out.put("reason", e.reason());
      out.put("message", e.getMessage());
    } catch (TransportException | GeneratedCallFailed e) {
      out.put("outcome", "error");
      out.put("kind", "transport");
      out.put("message", String.valueOf(e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (RuntimeException e) {
      // A crash of the client is an outcome to report, not to hide.
      out.put("outcome", "error");
      out.put("kind", "crash");
      out.put("message", e.toString());
    }
    return out;
  }

  /** Runs the plan in {@code args[0]} and writes the transcript to {@code args[1]}. */
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: Runner PLAN.json TRANSCRIPT.json");
      System.exit(2);
    }
    ObjectMapper reader = ApiClient.createDefaultObjectMapper();
    JsonNode plan = reader.readTree(Files.readString(Path.of(args[0])));
    if (!BatonClient.API_VERSION.equals(plan.get("version").asText())) {
      System.err.println(
          "runner: the client is " + BatonClient.API_VERSION + ", the plan " + plan.get("version").asText());
      System.exit(2);
    }
    List<JsonNode> scenarios = new ArrayList<>();
    for (JsonNode scenario : plan.get("scenarios")) {
      Runner runner = new Runner(plan);
      ObjectNode out = reader.createObjectNode();
      out.put("name", scenario.get("name").asText());
      ArrayNode steps = out.putArray("steps");
      for (JsonNode step : scenario.get("steps")) {
        steps.add(runner.step(step));
      }
      scenarios.add(out);
    }
    ObjectNode transcript = reader.createObjectNode();
    transcript.put("language", "java");
    transcript.put("client_version", BatonClient.API_VERSION);
    transcript.set("scenarios", reader.valueToTree(scenarios));
    Files.writeString(
        Path.of(args[1]), reader.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(transcript));
  }
}
