package org.baton.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.baton.client.generated.ApiClient;
import org.baton.client.generated.ApiException;
import org.baton.client.generated.ApiVersion;
import org.baton.client.generated.api.AdminApi;
import org.baton.client.generated.api.ConnectionsApi;
import org.baton.client.generated.api.HealthApi;
import org.baton.client.generated.api.LogsApi;
import org.baton.client.generated.api.TaskInstancesApi;
import org.baton.client.generated.api.VariablesApi;
import org.baton.client.generated.api.WorkersApi;
import org.baton.client.generated.api.XcomsApi;
import org.baton.client.generated.model.ClaimWorkloadsPayload;
import org.baton.client.generated.model.ClaimedWorkloads;
import org.baton.client.generated.model.ConnectionEntry;
import org.baton.client.generated.model.ConnectionPutBody;
import org.baton.client.generated.model.ConnectionResponse;
import org.baton.client.generated.model.DagRun;
import org.baton.client.generated.model.HealthStatus;
import org.baton.client.generated.model.LogBatch;
import org.baton.client.generated.model.LogBatchAccepted;
import org.baton.client.generated.model.RegisterDagsPayload;
import org.baton.client.generated.model.RegisterWorkerPayload;
import org.baton.client.generated.model.RegisteredDags;
import org.baton.client.generated.model.TIHeartbeatPayload;
import org.baton.client.generated.model.TIRunContext;
import org.baton.client.generated.model.TIRunPayload;
import org.baton.client.generated.model.TIStatePayload;
import org.baton.client.generated.model.TIStateResponse;
import org.baton.client.generated.model.TriggerDagRunPayload;
import org.baton.client.generated.model.VariablePutBody;
import org.baton.client.generated.model.Worker;
import org.baton.client.generated.model.XComPutBody;

/**
 * Client of one Baton server with one token, pinned to {@link #API_VERSION}.
 *
 * <pre>{@code
 * BatonClient client = BatonClient.builder().baseUrl("http://127.0.0.1:8080").token(token).build();
 * HealthStatus status = client.health(BatonClient.Api.EXECUTION);
 * }</pre>
 *
 * <p>The methods take and return the generated models of the client's API version, so that this
 * layer compiles unchanged over the generated code of every supported version. Every method throws
 * a {@link BatonException} subclass on failure. For operations without a
 * method here, use the generated API classes over {@link #apiClient()}: error answers reach them as
 * the same typed exceptions; transport failures as the generated {@code ApiException} whose cause
 * is the {@code IOException}.
 */
public final class BatonClient {
  /** The Baton API version this client was generated for and sends on every request. */
  public static final String API_VERSION = ApiVersion.VALUE;

  /** The three APIs a Baton server serves. */
  public enum Api {
    EXECUTION,
    WORKERS,
    ADMIN
  }

  private final AtomicReference<String> token;
  private final ApiClient apiClient;
  private final HealthApi health;
  private final TaskInstancesApi taskInstances;
  private final VariablesApi variables;
  private final XcomsApi xcoms;
  private final ConnectionsApi connections;
  private final LogsApi logs;
  private final WorkersApi workers;
  private final AdminApi admin;

  private final Builder settings;
  private final HttpClient transport;
  private final ObjectMapper mapper;

  private BatonClient(Builder builder, HttpClient shared, ObjectMapper sharedMapper) {
    this.settings = builder;
    this.token = new AtomicReference<>(builder.token);
    // HTTP/1.1: the default (HTTP/2 with an h2c upgrade) loses request bodies on servers that do
    // not speak h2c, uvicorn among them.
    this.transport =
        shared != null
            ? shared
            : HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(builder.timeout).build();
    BatonHttpClient http = new BatonHttpClient(transport, token, builder.retry, builder.apiVersion);
    // One mapper for a client and the clients made from it (withToken), never copied: a fresh
    // mapper builds its (de)serializers again, by reflection, which cost a worker milliseconds of
    // CPU per attempt. The generated API classes only read and write with it.
    ObjectMapper mapper = sharedMapper != null ? sharedMapper : ApiClient.createDefaultObjectMapper();
    ApiClient generated =
        new ApiClient(HttpClient.newBuilder(), mapper, builder.baseUrl) {
          @Override
          public HttpClient getHttpClient() {
            return http;
          }

          @Override
          public ObjectMapper getObjectMapper() {
            return mapper;
          }
        };
    generated.setReadTimeout(builder.timeout);
    generated.setResponseInterceptor(BatonClient::raiseOnError);
    this.apiClient = generated;
    this.mapper = mapper;
    this.health = new HealthApi(generated);
    this.taskInstances = new TaskInstancesApi(generated);
    this.variables = new VariablesApi(generated);
    this.xcoms = new XcomsApi(generated);
    this.connections = new ConnectionsApi(generated);
    this.logs = new LogsApi(generated);
    this.workers = new WorkersApi(generated);
    this.admin = new AdminApi(generated);
  }

  /**
   * A client of the same server with another token, sharing this one's connections and JSON
   * mapping (a worker makes one per attempt, with the attempt's workload token). Settings are
   * copied; the token is its own and refreshed on its own.
   */
  public BatonClient withToken(String token) {
    Builder copy = new Builder();
    copy.baseUrl = settings.baseUrl;
    copy.token = token;
    copy.retry = settings.retry;
    copy.timeout = settings.timeout;
    copy.apiVersion = settings.apiVersion;
    return new BatonClient(copy, transport, mapper);
  }

  /** A builder; {@code baseUrl} is required. */
  public static Builder builder() {
    return new Builder();
  }

  private static void raiseOnError(HttpResponse<InputStream> response) {
    if (response.statusCode() < 400) {
      return;
    }
    byte[] body;
    try (InputStream stream = response.body()) {
      body = stream == null ? new byte[0] : stream.readAllBytes();
    } catch (IOException e) {
      body = new byte[0];
    }
    String requestId = response.headers().firstValue(BatonHttpClient.REQUEST_ID_HEADER).orElse(null);
    throw ApiErrorException.fromResponse(response.statusCode(), body, requestId);
  }

  private static <T> T call(String what, Supplier<T> operation) {
    try {
      return operation.get();
    } catch (ApiException e) {
      // Error statuses were thrown typed by raiseOnError; what is left is a transport failure.
      throw new TransportException(what + ": " + e.getMessage(), e.getCause() != null ? e.getCause() : e);
    }
  }

  private static void run(String what, Runnable operation) {
    call(
        what,
        () -> {
          operation.run();
          return null;
        });
  }

  /** The generated client, wired with the version header, token, retries and typed errors. */
  public ApiClient apiClient() {
    return apiClient;
  }

  /** The token in use: the one given, or the latest the server refreshed it to. */
  public String token() {
    return token.get();
  }

  /** Sends {@code token} from now on (one renewed elsewhere, by the attempt's worker say). */
  public void useToken(String token) {
    this.token.set(token);
  }

  /** Checks that the server and its database answer, through one of the three APIs. */
  public HealthStatus health(Api api) {
    switch (api) {
      case WORKERS:
        return call("health", health::checkWorkersHealth);
      case ADMIN:
        return call("health", health::checkAdminHealth);
      default:
        return call("health", health::checkExecutionHealth);
    }
  }

  /**
   * Starts the attempt with the workload token the client was built with; the server answers with
   * the run context and the execution token, which the client uses from then on.
   */
  public TIRunContext start(UUID taskInstanceId, TIRunPayload payload) {
    return call("start", () -> taskInstances.runTaskInstance(taskInstanceId, payload));
  }

  /** Says the running attempt is alive; a {@link ConflictException} means: stop the task. */
  public void heartbeat(UUID taskInstanceId, TIHeartbeatPayload payload) {
    run("heartbeat", () -> taskInstances.heartbeatTaskInstance(taskInstanceId, payload));
  }

  /** Moves the attempt to a terminal (or retry) state. */
  public TIStateResponse finish(UUID taskInstanceId, TIStatePayload payload) {
    return call("finish", () -> taskInstances.updateTaskInstanceState(taskInstanceId, payload));
  }

  /**
   * A variable's JSON value (maps, lists, strings, numbers, booleans); NotFoundException when unset,
   * InvalidKeyException (nothing sent) for a key the API cannot take.
   */
  public Object getVariable(String key) {
    InvalidKeyException.check("variable key", key);
    return call("getVariable", () -> variables.getVariable(key)).getValue();
  }

  /** Stores a JSON value under a variable's key. */
  public void setVariable(String key, Object value) {
    InvalidKeyException.check("variable key", key);
    run("setVariable", () -> variables.setVariable(key, new VariablePutBody().value(value)));
  }

  /**
   * Addresses one XCom: a task of a DAG run, a key, and a map index (-1 when unmapped).
   *
   * @param dagId the DAG
   * @param runId the DAG run
   * @param taskId the task that pushed (or pushes) it
   * @param key the XCom's key
   * @param mapIndex the map index, -1 when unmapped
   */
  public record XComRef(String dagId, String runId, String taskId, String key, int mapIndex) {
    /** This address, or an {@link InvalidKeyException} naming the first part the API cannot take. */
    XComRef checked() {
      InvalidKeyException.check("DAG id", dagId);
      InvalidKeyException.checkRunId(runId);
      InvalidKeyException.check("task id", taskId);
      InvalidKeyException.check("XCom key", key);
      return this;
    }

    /** An unmapped task's XCom. */
    public XComRef(String dagId, String runId, String taskId, String key) {
      this(dagId, runId, taskId, key, -1);
    }
  }

  /** Stores a JSON value as the calling task's XCom. */
  public void pushXCom(XComRef ref, Object value) {
    ref.checked();
    XComPutBody body = new XComPutBody().value(value);
    run(
        "pushXCom",
        () -> xcoms.pushXcom(ref.dagId(), ref.runId(), ref.taskId(), ref.key(), body, ref.mapIndex()));
  }

  /**
   * The JSON value of an XCom of the caller's DAG run; NotFoundException when there is none,
   * InvalidKeyException (nothing sent) for an address the API cannot take.
   */
  public Object pullXCom(XComRef ref) {
    ref.checked();
    return call(
            "pullXCom",
            () -> xcoms.pullXcom(ref.dagId(), ref.runId(), ref.taskId(), ref.key(), ref.mapIndex()))
        .getValue();
  }

  /** A connection granted to the task's DAG; ForbiddenException if not granted, NotFoundException if unknown. */
  public ConnectionResponse getConnection(String connectionId) {
    InvalidKeyException.check("connection id", connectionId);
    return call("getConnection", () -> connections.getConnection(connectionId));
  }

  /**
   * Ships a batch of the running attempt's log lines. From API version 2026-12-02 a batch without a
   * batch id gets a new one and the upload is retried like an idempotent request (the server stores
   * a batch id's lines once); to send a batch again yourself, give it the same id.
   */
  public LogBatchAccepted uploadLogs(UUID taskInstanceId, LogBatch batch) {
    if (ensureBatchId(batch)) {
      return call("uploadLogs", () -> BatonHttpClient.repeatable(() -> logs.uploadTaskLogs(taskInstanceId, batch)));
    }
    return call("uploadLogs", () -> logs.uploadTaskLogs(taskInstanceId, batch));
  }

  /**
   * Gives the batch a new batch id unless it has one; false when this API version's batches have no
   * id (before 2026-12-02). Reflection keeps this layer building over every version's model.
   */
  static boolean ensureBatchId(LogBatch batch) {
    try {
      if (batch.getClass().getMethod("getBatchId").invoke(batch) == null) {
        batch.getClass().getMethod("setBatchId", UUID.class).invoke(batch, UUID.randomUUID());
      }
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("the generated LogBatch model: " + e, e);
    }
  }

  /** Registers (or refreshes) a worker under the client's worker credential. */
  public Worker registerWorker(RegisterWorkerPayload payload) {
    return call("registerWorker", () -> workers.registerWorker(payload));
  }

  /** Says the worker is alive. */
  public Worker heartbeatWorker(UUID workerId) {
    return call("heartbeatWorker", () -> workers.heartbeatWorker(workerId));
  }

  /** Registers the DAG descriptions of a bundle the worker loaded. */
  public RegisteredDags registerDags(RegisterDagsPayload payload) {
    return call("registerDags", () -> workers.registerDags(payload));
  }

  /** Claims ready workloads; keep the payload's {@code waitSeconds} below the client's timeout. */
  public ClaimedWorkloads claimWorkloads(UUID workerId, ClaimWorkloadsPayload payload) {
    return call("claimWorkloads", () -> workers.claimWorkloads(workerId, payload));
  }

  /** Queues a manual run of a DAG (admin token). */
  public DagRun triggerDagRun(String dagId, TriggerDagRunPayload payload) {
    return call("triggerDagRun", () -> admin.triggerDagRun(dagId, payload));
  }

  /** Creates or replaces a connection (admin token). */
  public ConnectionEntry setConnection(String connectionId, ConnectionPutBody payload) {
    return call("setConnection", () -> admin.adminSetConnection(connectionId, payload));
  }

  /** Builds a {@link BatonClient}. */
  public static final class Builder {
    private String baseUrl;
    private String token;
    private RetryPolicy retry = RetryPolicy.DEFAULT;
    private Duration timeout = Duration.ofSeconds(30);
    private String apiVersion = API_VERSION;

    private Builder() {}

    /** The server's base URL, e.g. {@code http://127.0.0.1:8080}. */
    public Builder baseUrl(String baseUrl) {
      this.baseUrl = baseUrl;
      return this;
    }

    /** The token to start with (a task's workload token, an admin token); none by default. */
    public Builder token(String token) {
      this.token = token;
      return this;
    }

    /** How idempotent requests are retried; {@link RetryPolicy#DEFAULT} by default. */
    public Builder retryPolicy(RetryPolicy retry) {
      this.retry = Objects.requireNonNull(retry);
      return this;
    }

    /** Connect and read timeout of each try; 30 seconds by default. */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** Overrides the pinned version: tests use it to play a client newer than the server. */
    Builder apiVersion(String apiVersion) {
      this.apiVersion = Objects.requireNonNull(apiVersion);
      return this;
    }

    /** The client. */
    public BatonClient build() {
      Objects.requireNonNull(baseUrl, "baseUrl");
      // A URL no request can reach is refused here, once, rather than retried as if the server were down.
      if (!reachable(baseUrl)) {
        throw new IllegalArgumentException(
            "the server URL '" + baseUrl + "' is not an http:// or https:// URL with a host");
      }
      return new BatonClient(this, null, null);
    }

    private static boolean reachable(String url) {
      try {
        URI uri = new URI(url);
        return ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
            && uri.getHost() != null;
      } catch (URISyntaxException e) {
        return false;
      }
    }
  }
}
