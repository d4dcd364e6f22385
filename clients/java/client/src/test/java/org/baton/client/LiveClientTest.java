package org.baton.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.baton.client.generated.model.ClaimWorkloadsPayload;
import org.baton.client.generated.model.ConnectionPutBody;
import org.baton.client.generated.model.ConnectionResponse;
import org.baton.client.generated.model.HealthStatus;
import org.baton.client.generated.model.LogBatch;
import org.baton.client.generated.model.LogLine;
import org.baton.client.generated.model.RegisterWorkerPayload;
import org.baton.client.generated.model.TIHeartbeatPayload;
import org.baton.client.generated.model.TIRunContext;
import org.baton.client.generated.model.TIRunPayload;
import org.baton.client.generated.model.TIStatePayload;
import org.baton.client.generated.model.TIStateResponse;
import org.baton.client.generated.model.Worker;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The client against a live server: health, the whole task flow, and its error paths. */
class LiveClientTest {
  private static final String HOST = "worker-1.test";
  private static LiveServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = LiveServer.get();
  }

  private static TIRunPayload run(int pid) {
    return new TIRunPayload().hostname(HOST).pid(pid).unixUser("baton").startDate(OffsetDateTime.now(ZoneOffset.UTC));
  }

  private static TIHeartbeatPayload beat(int pid) {
    return new TIHeartbeatPayload().hostname(HOST).pid(pid);
  }

  private static BatonClient admin() throws Exception {
    return client(server.token("create-admin-token"));
  }

  private static BatonClient client(String token) {
    return BatonClient.builder().baseUrl(server.baseUrl).token(token).build();
  }

  @ParameterizedTest
  @EnumSource(BatonClient.Api.class)
  void health_eachApi_answersOk(BatonClient.Api api) {
    HealthStatus status = client(null).health(api);
    assertEquals(HealthStatus.StatusEnum.OK, status.getStatus());
    assertEquals(HealthStatus.DatabaseEnum.OK, status.getDatabase());
  }

  @Test
  void taskFlow_startHeartbeatVariableXComFinish() throws Exception {
    LiveServer.QueuedRun queued = server.queueRun("extract", "load");
    LiveServer.QueuedTask extract = queued.taskInstances().get(0);
    LiveServer.QueuedTask load = queued.taskInstances().get(1);
    String dagId = queued.dagId();
    String runId = queued.runId();
    UUID extractId = extract.id();
    String workloadToken = extract.workloadToken();
    BatonClient client = client(workloadToken);

    TIRunContext context = client.start(extractId, run(4242));
    assertEquals(extractId, context.getTaskInstance().getId());
    assertEquals(runId, context.getDagRun().getRunId());
    assertEquals("org.example.Tasks#extract", context.getEntryPoint());
    assertNotEquals(workloadToken, client.token(), "run must hand out the execution token");

    String executionToken = client.token();
    client.heartbeat(extractId, beat(4242));
    assertNotEquals(executionToken, client.token(), "the refreshed token must be swapped in");

    String key = "java-" + UUID.randomUUID().toString().substring(0, 8);
    client.setVariable(key, Map.of("rows", List.of(1, 2, 3)));
    assertEquals(Map.of("rows", List.of(1, 2, 3)), client.getVariable(key));

    String connId = "warehouse_" + UUID.randomUUID().toString().substring(0, 8);
    admin()
        .setConnection(
            connId,
            new ConnectionPutBody()
                .connType("postgres")
                .host("db.test")
                .port(5432)
                .password("s3cret")
                .allowedDagIds(List.of(dagId)));
    ConnectionResponse connection = client.getConnection(connId);
    assertEquals("db.test", connection.getHost());
    assertEquals(5432, connection.getPort());
    assertEquals("s3cret", connection.getPassword());

    LogLine line =
        new LogLine()
            .timestamp(OffsetDateTime.now(ZoneOffset.UTC))
            .level(LogLine.LevelEnum.INFO)
            .message("extracted 3 rows");
    assertEquals(1, client.uploadLogs(extractId, new LogBatch().lines(List.of(line))).getAccepted());

    BatonClient.XComRef ref = new BatonClient.XComRef(dagId, runId, "extract", "return_value");
    client.pushXCom(ref, Map.of("path", "/data/x.csv"));
    assertEquals(Map.of("path", "/data/x.csv"), client.pullXCom(ref));

    TIStateResponse finished = client.finish(
            extractId,
            new TIStatePayload().state(TIStatePayload.StateEnum.SUCCESS).endDate(OffsetDateTime.now(ZoneOffset.UTC)));
    assertEquals(TIStateResponse.StateEnum.SUCCESS, finished.getState());
    assertEquals(1, finished.getTryNumber());

    // Another task of the same run reads the XCom with its own token.
    BatonClient other = client(load.workloadToken());
    other.start(load.id(), run(1));
    assertEquals(Map.of("path", "/data/x.csv"), other.pullXCom(ref));
  }

  @Test
  void heartbeat_wrongPid_conflictException() throws Exception {
    LiveServer.QueuedTask ti = server.queueRun("only").taskInstances().get(0);
    UUID id = ti.id();
    BatonClient client = client(ti.workloadToken());
    client.start(id, run(1234));
    ConflictException error = assertThrows(ConflictException.class, () -> client.heartbeat(id, beat(999)));
    assertEquals(409, error.status());
    assertNotNull(error.reason());
    assertNotNull(error.requestId());
    assertTrue(error.getMessage().contains(error.requestId()));
  }

  @Test
  void getVariable_missing_notFoundException() throws Exception {
    LiveServer.QueuedTask ti = server.queueRun("only").taskInstances().get(0);
    BatonClient client = client(ti.workloadToken());
    client.start(ti.id(), run(1));
    assertThrows(NotFoundException.class, () -> client.getVariable("missing-" + UUID.randomUUID()));
  }

  @Test
  void connectionOfAnotherDag_forbiddenException() throws Exception {
    String connId = "private_" + UUID.randomUUID().toString().substring(0, 8);
    admin().setConnection(connId, new ConnectionPutBody().connType("http").allowedDagIds(List.of("some_other_dag")));
    LiveServer.QueuedTask ti = server.queueRun("only").taskInstances().get(0);
    BatonClient client = client(ti.workloadToken());
    client.start(ti.id(), run(1));
    assertThrows(ForbiddenException.class, () -> client.getConnection(connId));
  }

  @Test
  void worker_heartbeatAndClaimFromAnEmptyQueue() throws Exception {
    BatonClient worker = client(server.token("create-worker-credential"));
    String name = "w_" + UUID.randomUUID().toString().substring(0, 8);
    Worker registered =
        worker.registerWorker(
            new RegisterWorkerPayload().name(name).queues(List.of("q_" + name)).capacity(2).runtime("java"));
    assertEquals(registered.getId(), worker.heartbeatWorker(registered.getId()).getId());
    ClaimWorkloadsPayload claim = new ClaimWorkloadsPayload().maxWorkloads(1).waitSeconds(BigDecimal.ZERO);
    assertEquals(List.of(), worker.claimWorkloads(registered.getId(), claim).getWorkloads());
  }

  /** A key with '/' (or an empty one) reached no route: the server's 404 read as "not set". */
  @ParameterizedTest
  @ValueSource(strings = {"", "a/b", "../x", "a b", ".hidden"})
  void keyTheApiCannotTake_invalidKeyException_nothingSent(String key) throws Exception {
    LiveServer.QueuedTask ti = server.queueRun("only").taskInstances().get(0);
    BatonClient client = client(ti.workloadToken());
    TIRunContext context = client.start(ti.id(), run(1));
    String dag = context.getTaskInstance().getDagId();
    String runId = context.getTaskInstance().getRunId();
    Map<String, Executable> calls =
        Map.of(
            "XCom key", () -> client.pullXCom(new BatonClient.XComRef(dag, runId, "only", key)),
            "XCom key ", () -> client.pushXCom(new BatonClient.XComRef(dag, runId, "only", key), 1),
            "task id", () -> client.pullXCom(new BatonClient.XComRef(dag, runId, key, "k")),
            "variable key", () -> client.getVariable(key),
            "variable key ", () -> client.setVariable(key, 1),
            "connection id", () -> client.getConnection(key));
    for (Map.Entry<String, Executable> call : calls.entrySet()) {
      InvalidKeyException error = assertThrows(InvalidKeyException.class, call.getValue(), call.getKey());
      assertTrue(
          error.getMessage().startsWith(call.getKey().strip() + " '" + key + "' is not valid: use 1 to 250"),
          error.getMessage());
    }
    // A valid key is sent: this XCom is not set.
    assertThrows(NotFoundException.class, () -> client.pullXCom(new BatonClient.XComRef(dag, runId, "only", "k")));
  }

  @Test
  void badToken_unauthorizedException() {
    assertThrows(UnauthorizedException.class, () -> client("not-a-token").getVariable("anything"));
  }

  @Test
  void clientNewerThanServer_serverTooOldException() {
    BatonClient future = BatonClient.builder().baseUrl(server.baseUrl).apiVersion("2999-01-01").build();
    ServerTooOldException error =
        assertThrows(ServerTooOldException.class, () -> future.health(BatonClient.Api.EXECUTION));
    assertInstanceOf(VersionMismatchException.class, error);
    assertEquals("client_version_too_new", error.reason());
    assertTrue(error.serverMessage().startsWith("upgrade the Baton server"));
    assertTrue(error.serverMessage().contains(BatonClient.API_VERSION));
  }

  @Test
  void serverUnreachable_transportExceptionAfterRetries() throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    BatonClient client =
        BatonClient.builder()
            .baseUrl("http://127.0.0.1:" + port)
            .retryPolicy(new RetryPolicy(3, Duration.ofMillis(1), Duration.ofMillis(1)))
            .build();
    TransportException error =
        assertThrows(TransportException.class, () -> client.health(BatonClient.Api.EXECUTION));
    assertInstanceOf(java.net.ConnectException.class, error.getCause());
  }
}
