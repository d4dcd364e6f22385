package org.baton.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.baton.client.generated.model.ClaimWorkloadsPayload;
import org.baton.client.generated.model.LogBatch;
import org.baton.client.generated.model.LogLine;
import org.baton.client.generated.model.TIStatePayload;
import org.baton.client.generated.model.TriggerDagRunPayload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Retry, token-refresh and error-mapping rules, against a loopback server answering from a script. */
class TransportTest {
  private static final String HEALTHY = "{\"status\":\"ok\",\"database\":\"ok\"}";
  private static final RetryPolicy FAST = new RetryPolicy(3, Duration.ofMillis(1), Duration.ofMillis(1));

  private record Answer(int status, String body, Map<String, String> headers) {}

  private record Seen(String method, String authorization, String version, String requestId, String body) {}

  private HttpServer server;
  private ServerSocket rawListener;

  @Test
  void urlNoRequestCanReach_refusedWhenBuilt() {
    for (String url : List.of("notaurl", "127.0.0.1:8080", "ftp://host", "http://", "http://%zz")) {
      IllegalArgumentException refused =
          assertThrows(IllegalArgumentException.class, () -> BatonClient.builder().baseUrl(url).build(), url);
      assertTrue(refused.getMessage().contains("is not an http:// or https:// URL with a host"), url);
    }
    for (String url : List.of("http://127.0.0.1:8080", "https://baton.example/", "http://[::1]:8080/base")) {
      BatonClient.builder().baseUrl(url).build();
    }
  }
  private final Deque<Answer> answers = new ArrayDeque<>();
  private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());

  private String start(Answer... script) throws IOException {
    answers.addAll(List.of(script));
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    seen.add(
        new Seen(
            exchange.getRequestMethod(),
            exchange.getRequestHeaders().getFirst("Authorization"),
            exchange.getRequestHeaders().getFirst("Baton-API-Version"),
            exchange.getRequestHeaders().getFirst("X-Request-ID"),
            new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
    Answer answer = answers.poll();
    if (answer == null) {
      answer = new Answer(418, "{\"reason\":\"unscripted\",\"message\":\"no answer left\"}", Map.of());
    }
    byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    answer.headers().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
    exchange.sendResponseHeaders(answer.status(), body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @AfterEach
  void stop() throws IOException {
    if (rawListener != null) {
      rawListener.close();
    }
    if (server != null) {
      server.stop(0);
    }
  }

  private static Answer ok() {
    return new Answer(200, HEALTHY, Map.of());
  }

  private static Answer error(int status, String reason) {
    return new Answer(status, "{\"reason\":\"" + reason + "\",\"message\":\"m\"}", Map.of("X-Request-ID", "r1"));
  }

  @Test
  void refreshedToken_usedFromTheNextRequestOn() throws IOException {
    String url = start(new Answer(200, HEALTHY, Map.of("Refreshed-API-Token", "fresh")), ok());
    BatonClient client = BatonClient.builder().baseUrl(url).token("stale").build();
    client.health(BatonClient.Api.EXECUTION);
    client.health(BatonClient.Api.EXECUTION);
    assertEquals("Bearer stale", seen.get(0).authorization());
    assertEquals("Bearer fresh", seen.get(1).authorization());
    assertEquals("fresh", client.token());
    assertEquals(BatonClient.API_VERSION, seen.get(0).version());
  }

  @Test
  void get5xxThenOk_retriedWithTheSameRequestId() throws IOException {
    String url = start(error(503, "unavailable"), ok());
    BatonClient.builder().baseUrl(url).retryPolicy(FAST).build().health(BatonClient.Api.EXECUTION);
    assertEquals(2, seen.size());
    assertEquals(seen.get(0).requestId(), seen.get(1).requestId());
  }

  @Test
  void get5xxEveryTime_serverErrorAfterAllAttempts() throws IOException {
    String url = start(error(500, "internal_error"), error(500, "internal_error"), error(500, "internal_error"));
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(FAST).build();
    ServerErrorException e =
        assertThrows(ServerErrorException.class, () -> client.health(BatonClient.Api.EXECUTION));
    assertEquals(3, seen.size());
    assertEquals(500, e.status());
    assertEquals("internal_error", e.reason());
    assertEquals("r1", e.requestId());
  }

  @Test
  void finish5xxThenOk_retriedBecauseIdempotent() throws IOException {
    String url = start(error(502, "bad_gateway"), new Answer(200, "{\"state\":\"success\",\"try_number\":1}", Map.of()));
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(FAST).build();
    TIStatePayload done =
        new TIStatePayload().state(TIStatePayload.StateEnum.SUCCESS).endDate(OffsetDateTime.now());
    client.finish(UUID.randomUUID(), done);
    assertEquals(2, seen.size());
    assertEquals("PATCH", seen.get(1).method());
    assertEquals(seen.get(0).requestId(), seen.get(1).requestId());
  }

  /**
   * A loopback server that answers each connection's one request with the next raw answer and then
   * closes it: the JDK's server cannot send headers that promise more than the body it sends.
   */
  private String startRaw(String... raw) throws IOException {
    ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    rawListener = listener;
    Thread thread =
        new Thread(
            () -> {
              for (String answer : raw) {
                try (Socket socket = listener.accept()) {
                  readRequest(socket.getInputStream());
                  seen.add(new Seen("?", null, null, null, ""));
                  socket.getOutputStream().write(answer.getBytes(StandardCharsets.US_ASCII));
                  socket.getOutputStream().flush();
                } catch (IOException closed) {
                  return;
                }
              }
            },
            "raw-answers");
    thread.setDaemon(true);
    thread.start();
    return "http://127.0.0.1:" + listener.getLocalPort();
  }

  private static void readRequest(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        return;
      }
      head.append((char) c);
    }
    Matcher length = Pattern.compile("(?i)content-length:\\s*(\\d+)").matcher(head);
    if (length.find()) {
      in.readNBytes(Integer.parseInt(length.group(1)));
    }
  }

  private static String raw(String body, int promised) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
        + promised
        + "\r\n\r\n"
        + body;
  }

  /** Headers that promise 607 bytes, a few of them, then the end: a server killed mid-answer. */
  private static final String CUT_SHORT = raw("{\"state\":", 607);

  @Test
  @Timeout(120) // a client that waited for the promised bytes would hang here
  void finishAnswerCutShort_retriedAsATransportError() throws IOException {
    String finished = "{\"state\":\"success\",\"try_number\":1}";
    String url = startRaw(CUT_SHORT, raw(finished, finished.length()));
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(FAST).build();
    TIStatePayload done =
        new TIStatePayload().state(TIStatePayload.StateEnum.SUCCESS).endDate(OffsetDateTime.now());
    assertEquals("success", client.finish(UUID.randomUUID(), done).getState().getValue());
    assertEquals(2, seen.size());
  }

  @Test
  @Timeout(120) // a client that waited for the promised bytes would hang here
  void otherPostAnswerCutShort_notRetriedButATransportException() throws IOException {
    String url = startRaw(CUT_SHORT, raw(HEALTHY, HEALTHY.length()));
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(FAST).build();
    assertThrows(TransportException.class, () -> client.triggerDagRun("d", new TriggerDagRunPayload()));
    assertEquals(1, seen.size());
  }

  @Test
  void claim503_retriedBecauseAClaimIsSafeToRepeat() throws IOException {
    String url =
        start(
            new Answer(503, "{\"reason\":\"database_unavailable\",\"message\":\"m\"}", Map.of("Retry-After", "0")),
            new Answer(200, "{\"workloads\":[]}", Map.of()));
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(FAST).build();
    client.claimWorkloads(UUID.randomUUID(), new ClaimWorkloadsPayload().maxWorkloads(1));
    assertEquals(2, seen.size());
    assertEquals("POST", seen.get(1).method());
  }

  @Test
  void uploadLogs5xxThenOk_retriedUnderOneBatchId() throws IOException {
    Answer accepted = new Answer(200, "{\"accepted\":1}", Map.of());
    String url = start(error(502, "bad_gateway"), accepted, accepted);
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(FAST).build();
    LogLine line = new LogLine().timestamp(OffsetDateTime.now()).level(LogLine.LevelEnum.INFO).message("m");
    client.uploadLogs(UUID.randomUUID(), new LogBatch().lines(List.of(line)));
    assertEquals(2, seen.size());
    String sent = batchId(seen.get(0).body());
    assertTrue(sent.matches("[0-9a-f-]{36}"), seen.get(0).body());
    assertEquals(sent, batchId(seen.get(1).body()));
    assertEquals(seen.get(0).requestId(), seen.get(1).requestId());
    UUID given = UUID.randomUUID();
    client.uploadLogs(UUID.randomUUID(), new LogBatch().batchId(given).lines(List.of(line)));
    assertEquals(given.toString(), batchId(seen.get(2).body()));
  }

  @Test
  void logsPostWithoutBatchId_notSafeToRepeat() {
    HttpRequest post =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:1/execution/task-instances/" + UUID.randomUUID() + "/logs"))
            .POST(HttpRequest.BodyPublishers.ofString("{}"))
            .build();
    // Without a batch id a repeat could store the lines twice.
    assertEquals(false, BatonHttpClient.safeToRepeat(post));
  }

  private static String batchId(String body) {
    Matcher m = Pattern.compile("\"batch_id\"\\s*:\\s*\"([^\"]+)\"").matcher(body);
    return m.find() ? m.group(1) : "";
  }

  @Test
  void otherPost5xx_notRetried() throws IOException {
    String url = start(error(502, "bad_gateway"), ok());
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(FAST).build();
    HttpRequest post =
        HttpRequest.newBuilder(URI.create(url + "/api/dags/d/dag-runs"))
            .POST(HttpRequest.BodyPublishers.ofString("{}"))
            .build();
    assertEquals(false, BatonHttpClient.safeToRepeat(post));
    assertThrows(
        ServerErrorException.class,
        () -> client.triggerDagRun("d", new TriggerDagRunPayload()));
    assertEquals(1, seen.size());
  }

  @Test
  void retryAfter_waitedAtLeastThatLongButNeverPastMaxBackoff() {
    RetryPolicy policy = new RetryPolicy(3, Duration.ofMillis(100), Duration.ofSeconds(5));
    assertEquals(Duration.ofSeconds(2), policy.delay(1, Optional.of("2")));
    assertEquals(Duration.ofSeconds(5), policy.delay(1, Optional.of("600")));
    assertTrue(policy.delay(1, Optional.of("Wed, 21 Oct 2026 07:28:00 GMT")).toMillis() <= 100);
  }

  @Test
  void giveUpAfter_noRetryStartsPastItWhateverTheAttemptsLeft() {
    RetryPolicy policy = new RetryPolicy(1000, Duration.ofMinutes(1), Duration.ZERO, Duration.ofMinutes(1));
    long now = System.nanoTime();
    assertTrue(policy.allows(1, now, Duration.ofSeconds(30)), "a retry within the minute");
    assertFalse(policy.allows(1, now - Duration.ofSeconds(50).toNanos(), Duration.ofSeconds(20)), "past the minute");
    assertFalse(policy.allows(1000, now, Duration.ZERO), "past the attempts");
    RetryPolicy attemptsOnly = new RetryPolicy(4, Duration.ofMillis(1), Duration.ofMillis(1));
    assertTrue(attemptsOnly.allows(3, now - Duration.ofHours(1).toNanos(), Duration.ofHours(1)));
  }

  @Test
  void giveUpAfter_server503EveryTime_triedUntilThenItsError() throws IOException {
    Answer[] unavailable = new Answer[1000];
    Arrays.fill(unavailable, error(503, "database_unavailable"));
    String url = start(unavailable);
    RetryPolicy policy = new RetryPolicy(1000, Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(500));
    BatonClient client = BatonClient.builder().baseUrl(url).retryPolicy(policy).build();
    assertThrows(ServerErrorException.class, () -> client.health(BatonClient.Api.EXECUTION));
    int tries = seen.size();
    assertTrue(tries > 4 && tries < 1000, tries + " tries: the time bounds them, not the attempts");
  }

  @Test
  void taskPolicy_itsAttemptsOutlastItsMinuteEvenWithTheShortestJitter() {
    RetryPolicy task = RetryPolicy.TASK;
    assertTrue(task.giveUpAfter().compareTo(Duration.ofSeconds(55)) >= 0, "a task rides out most of a minute");
    Duration waited = Duration.ZERO;
    for (int retry = 1; retry < task.attempts() && waited.compareTo(task.giveUpAfter()) < 0; retry++) {
      long base = Math.min(task.maxBackoff().toMillis(), task.backoff().toMillis() << Math.min(retry - 1, 20));
      waited = waited.plusMillis(base / 2); // jitter waits at least half
    }
    assertTrue(waited.compareTo(task.giveUpAfter()) >= 0, "the attempts run out after " + waited);
  }

  @Test
  void retryPolicy_negativeDurations_refused() {
    assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(2, Duration.ofMillis(-1), Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(2, Duration.ZERO, Duration.ofMillis(-1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> new RetryPolicy(2, Duration.ZERO, Duration.ZERO, Duration.ofMillis(-1)));
  }

  @Test
  void errorStatus_typedExceptionWithReason() throws IOException {
    String url =
        start(
            error(401, "token_expired"),
            error(409, "not_running"),
            error(422, "validation_error"),
            new Answer(409, "<html>proxy</html>", Map.of()));
    BatonClient client = BatonClient.builder().baseUrl(url).build();
    assertEquals("token_expired", assertThrows(UnauthorizedException.class, () -> client.getVariable("k")).reason());
    assertEquals("not_running", assertThrows(ConflictException.class, () -> client.getVariable("k")).reason());
    assertEquals(
        "validation_error", assertThrows(InvalidRequestException.class, () -> client.getVariable("k")).reason());
    ConflictException raw = assertThrows(ConflictException.class, () -> client.getVariable("k"));
    assertEquals("http_409", raw.reason());
    assertEquals("<html>proxy</html>", raw.serverMessage());
  }
}
