package org.baton.examples.inventory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.baton.sdk.Bundle;
import org.baton.sdk.Dag;
import org.baton.sdk.Task;
import org.baton.sdk.Worker;

/**
 * Tasks as RPC: an inventory HTTP service that also serves the tasks of its DAG {@code restock},
 * from its own JVM and on its own state ({@link Stock}), with the SDK's worker as a library.
 *
 * <pre>
 * BATON_SERVER_URL=... BATON_WORKER_TOKEN=... PORT=8081 java -jar target/inventory-service.jar
 * curl http://127.0.0.1:8081/stock          # {"widgets": 3}
 * baton runs trigger restock --wait         # the service's tasks top the stock up
 * curl http://127.0.0.1:8081/stock          # {"widgets": 10}
 * </pre>
 */
public final class InventoryService {
  private InventoryService() {}

  /** Starts the HTTP service and the embedded worker; SIGTERM or Ctrl-C stops both (the worker drains). */
  public static void main(String[] args) throws IOException, InterruptedException {
    Stock stock = new Stock(3);
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "0"));
    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    http.createContext("/stock", exchange -> answer(exchange, "{\"widgets\": " + stock.widgets() + "}"));
    http.start();

    Worker worker =
        Worker.builder()
            .serverUrl(System.getenv("BATON_SERVER_URL"))
            .token(System.getenv("BATON_WORKER_TOKEN"))
            .bundle(
                Bundle.of("inventory", registry -> {
                  Dag dag = registry.addDag("restock").description("Top the stock up to the variable stock_target").queue("inventory");
                  Task shortfall = dag.addTask(stock::shortfall);
                  dag.addTask(stock::order).upstream(shortfall);
                }))
            .build();
    worker.start(); // returns once the worker and its DAG are registered
    System.out.println(
        "inventory service on http://127.0.0.1:" + http.getAddress().getPort()
            + "/stock; serving the restock DAG (trigger it with `baton runs trigger restock`)");

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  worker.stop(); // drains: no new claims; running tasks finish
                  http.stop(1);
                  stopped.countDown();
                }));
    stopped.await();
  }

  private static void answer(HttpExchange exchange, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }
}
