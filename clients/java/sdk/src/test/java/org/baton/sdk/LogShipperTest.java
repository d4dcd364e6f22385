package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.baton.client.BatonClient;
import org.baton.client.RetryPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What an attempt's log shipper holds while the server cannot take its lines, and what it makes of a
 * line's fields, against a loopback server.
 */
class LogShipperTest {
  private HttpServer server;
  private volatile boolean down = true;
  private final List<String> stored = Collections.synchronizedList(new ArrayList<>());
  private final List<JsonNode> storedLines = Collections.synchronizedList(new ArrayList<>());
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The server's request limit (4 MiB by default): a longer body is refused whole (413). */
  private static final int REQUEST_LIMIT = 4 << 20;
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
    if (!down && request.length > REQUEST_LIMIT) {
      status = 413;
      body = "{\"reason\":\"payload_too_large\",\"message\":\"the request body is too large\"}";
    } else if (!down) {
      JsonNode lines = JSON.readTree(request).get("lines");
      synchronized (this) {
        storedBytes += request.length;
      }
      lines.forEach(line -> stored.add(line.get("message").asText()));
      lines.forEach(storedLines::add);
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

  private static LogEntry line(String message, Map<String, Object> fields) {
    return new LogEntry(OffsetDateTime.now(ZoneOffset.UTC), "info", message, fields);
  }

  /** The bytes of a line's fields as JSON, without the names left out. */
  private static int keptBytes(Map<String, Object> fields) throws IOException {
    Map<String, Object> kept = new LinkedHashMap<>(fields);
    kept.remove("fields_left_out");
    return JSON.writeValueAsBytes(kept).length;
  }

  @Test
  @Timeout(60)
  void aLineOfManyBigFields_isStoredWithTheFieldsThatFit_andItsBatchIsNotRefused() throws IOException {
    BatonClient client =
        BatonClient.builder().baseUrl(start()).token("token").retryPolicy(new RetryPolicy(1, Duration.ZERO, Duration.ZERO)).build();
    down = false;
    LogShipper shipper = new LogShipper(client, UUID.randomUUID());
    // 200 fields of 64 KiB: a line of 13 MB, past the server's request limit, refused whole (413).
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("logger", "t");
    String big = "x".repeat(64 << 10);
    for (int i = 0; i < 200; i++) {
      fields.put("f" + i, big);
    }
    shipper.add(line("before", Map.of("logger", "t")));
    shipper.add(line("many fields", fields));
    shipper.add(line("after", Map.of("logger", "t")));
    assertTrue(shipper.close(Duration.ofSeconds(30)), "every line is shipped");
    assertEquals(List.of("before", "many fields", "after"), stored, "no line is lost");
    JsonNode shipped = storedLines.get(1).get("fields");
    assertEquals("t", shipped.get("logger").asText());
    assertEquals(big, shipped.get("f0").asText(), "the fields that fit are kept whole, in order");
    assertEquals(199, shipped.get("fields_left_out").size(), "the others are named: " + shipped.get("fields_left_out"));
    assertEquals("f1", shipped.get("fields_left_out").get(0).asText());
    assertEquals("f199", shipped.get("fields_left_out").get(198).asText());
  }

  @Test
  void tenThousandFields_theKeptOnesAreWithinTheBudget_andTheRestAreNamed() throws IOException {
    Map<String, Object> fields = new LinkedHashMap<>();
    for (int i = 0; i < 10_000; i++) {
      fields.put(String.format("key%05d", i), "value ".repeat(8) + i);
    }
    Map<String, Object> shipped = LogShipper.shippable(line("m", fields)).fields();
    int kept = keptBytes(shipped);
    assertTrue(kept <= 100_001 && kept > 99_000, kept + " bytes of fields kept");
    @SuppressWarnings("unchecked")
    List<String> leftOut = (List<String>) shipped.get("fields_left_out");
    assertEquals(10_000, shipped.size() - 1 + leftOut.size(), "each field is kept or named");
    for (String name : leftOut) {
      assertTrue(fields.containsKey(name) && !shipped.containsKey(name), name + " is named, not kept");
    }
    assertEquals(String.format("key%05d", shipped.size() - 1), leftOut.get(0), "the fields past the budget are left out, in order");
  }

  @Test
  void theNamesLeftOutAreBounded_thenSayHowManyMore() throws IOException {
    // 1,000 fields of 500-byte names, each value past the budget: 500,000 bytes of names.
    Map<String, Object> fields = new LinkedHashMap<>();
    String value = "v".repeat(100_001);
    for (int i = 0; i < 1000; i++) {
      fields.put(String.format("%04d", i) + "n".repeat(496), value);
    }
    Map<String, Object> shipped = LogShipper.shippable(line("m", fields)).fields();
    assertEquals(1, shipped.size(), "no field fits");
    assertTrue(shipped.containsKey("fields_left_out"), "the fields left out are named");
    @SuppressWarnings("unchecked")
    List<String> leftOut = (List<String>) shipped.get("fields_left_out");
    assertEquals(201, leftOut.size(), "100,000 bytes of names, then how many more");
    assertEquals(String.format("%04d", 199) + "n".repeat(496), leftOut.get(199));
    assertEquals("… and 800 more", leftOut.get(200));
    assertTrue(JSON.writeValueAsBytes(shipped).length < 110_000, "the names left out are bounded");
  }

  @Test
  void fieldsUpToTheBudget_areShippedUnchanged_oneByteMoreAndTheLastIsLeftOut() throws IOException {
    // The budget counts each field as `"name":value,`: {"logger":"t","big":"…"} of 100,001 bytes
    // (braces and all) is within it.
    Map<String, Object> within = new LinkedHashMap<>();
    within.put("logger", "t");
    within.put("big", "é".repeat(10_000) + "x".repeat(100_000 - 22 - 20_000));
    LogEntry entry = line("m", within);
    LogEntry shipped = LogShipper.shippable(entry);
    assertEquals(within, shipped.fields(), "a line within the budget is shipped unchanged");
    assertEquals("m", shipped.message());
    assertEquals(100_001, JSON.writeValueAsBytes(shipped.fields()).length);

    Map<String, Object> past = new LinkedHashMap<>(within);
    past.put("big", within.get("big") + "x");
    Map<String, Object> cut = LogShipper.shippable(line("m", past)).fields();
    assertEquals("t", cut.get("logger"));
    assertEquals(List.of("big"), cut.get("fields_left_out"), "one byte past the budget, the field is left out");
    assertEquals(2, cut.size());
  }
}
