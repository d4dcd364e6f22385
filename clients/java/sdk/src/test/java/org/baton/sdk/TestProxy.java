package org.baton.sdk;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A proxy on 127.0.0.1 in front of a live server that forwards every request; a test steps in by
 * overriding {@link #intercept} (answer a request itself, or hold it) or {@link #answer} (change the
 * server's answer on its way back).
 */
class TestProxy implements AutoCloseable {
  private static final Set<String> HOP_BY_HOP =
      Set.of("connection", "content-length", "host", "upgrade", "expect", "transfer-encoding", "keep-alive", "http2-settings");

  /** A status and body sent back to the worker. */
  record Answer(int status, byte[] body) {}

  private final String target;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final HttpServer server;

  TestProxy(String target) throws IOException {
    this.target = target;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::forward);
    server.setExecutor(threads); // claims long-poll, and a test may hold a request: one thread per request
    server.start();
  }

  /** The proxy's base URL, for the worker. */
  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /**
   * Called before a request is forwarded: answer {@code exchange} and return true to keep it from the
   * server (the exchange is closed after). By default every request is forwarded.
   */
  boolean intercept(HttpExchange exchange, String path, byte[] body) throws IOException, InterruptedException {
    return false;
  }

  /** The answer sent back for a forwarded request: by default the server's. */
  Answer answer(String method, String path, byte[] body, Answer fromServer) {
    return fromServer;
  }

  private void forward(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getRawPath();
      byte[] body = exchange.getRequestBody().readAllBytes();
      if (intercept(exchange, path, body)) {
        return;
      }
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(target + exchange.getRequestURI()))
              .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
      exchange.getRequestHeaders().forEach((name, values) -> {
        if (!HOP_BY_HOP.contains(name.toLowerCase())) {
          values.forEach(value -> request.header(name, value));
        }
      });
      HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      Answer sent = answer(exchange.getRequestMethod(), path, body, new Answer(response.statusCode(), response.body()));
      response.headers().map().forEach((name, values) -> {
        if (!HOP_BY_HOP.contains(name.toLowerCase()) && !name.startsWith(":")) {
          values.forEach(value -> exchange.getResponseHeaders().add(name, value));
        }
      });
      exchange.sendResponseHeaders(sent.status(), sent.body().length == 0 ? -1 : sent.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(sent.body());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } finally {
      exchange.close();
    }
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
