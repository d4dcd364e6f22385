package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.baton.client.BatonClient;
import org.baton.client.RetryPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What an attempt's log shipper holds while the server cannot take its lines, against a loopback server. */
class LogShipperTest {
  private HttpServer server;
  private volatile boolean down = true;
  private final List<String> stored = Collections.synchronizedList(new ArrayList<>());
  private long storedBytes;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  private String start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    byte[] request = exchange.getRequestBody().readAllBytes();
    int status = 503;
    String body = "{\"reason\":\"database_unavailable\",\"message\":\"down\"}";
    if (!down) {
      JsonNode lines = new ObjectMapper().readTree(request).get("lines");
      synchronized (this) {
        storedBytes += request.length;
      }
      lines.forEach(line -> stored.add(line.get("message").asText()));
      status = 200;
      body = "{\"accepted\":" + lines.size() + "}";
    }
    byte[] answer = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, answer.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(answer);
    }
  }

  @Test
  @Timeout(120)
  void serverDown_theLinesHeldAreBoundedByTheirBytes_andTheDropIsSaid() throws IOException {
    BatonClient client =
        BatonClient.builder().baseUrl(start()).token("token").retryPolicy(new RetryPolicy(1, Duration.ZERO, Duration.ZERO)).build();
    LogShipper shipper = new LogShipper(client, UUID.randomUUID());
    // 1,000 lines of a million characters each, logged while the server answers 503: a gigabyte.
    for (int i = 0; i < 1000; i++) {
      String message = i + " " + "x".repeat(1_000_000);
      shipper.add(new LogEntry(OffsetDateTime.now(ZoneOffset.UTC), "info", message, Map.of("logger", "t")));
      if (i % 100 == 0) {
        shipper.flush();
      }
    }
    down = false;
    assertTrue(shipper.close(Duration.ofSeconds(60)), "the lines held are shipped once the server answers");
    // At most 64 MiB held, and the batch that was in flight (at most about 2 MB).
    assertTrue(storedBytes <= (64L << 20) + 2_100_000, storedBytes + " bytes of lines were held for the server");
    assertTrue(
        stored.stream().anyMatch(m -> m.matches("\\d+ log lines were dropped while the server was unreachable")),
        "a line says how many lines were dropped");
    assertTrue(stored.get(stored.size() - 1).startsWith("999 "), "the newest lines are kept");
  }
}
