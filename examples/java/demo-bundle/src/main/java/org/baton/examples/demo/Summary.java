package org.baton.examples.demo;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;
import org.baton.sdk.FromTask;
import org.baton.sdk.TaskContext;
import org.slf4j.Logger;

/** The demo's Java task: sums up the orders the Python task {@code enrich} returned. */
public final class Summary {
  private Summary() {}

  /** One enriched order, as the Python task wrote it (its other fields are ignored). */
  public record Order(int id, double amount, String currency, @JsonProperty("amount_usd") double amountUsd) {}

  /** Totals the enriched orders; the returned map is this task's XCom, which {@code report} reads. */
  public static Map<String, Object> summarize(@FromTask("enrich") List<Order> orders, TaskContext context, Logger log) {
    double usd = orders.stream().mapToDouble(Order::amountUsd).sum();
    log.info("Java received {} enriched orders from Python (try {} of run {})", orders.size(), context.tryNumber(), context.runId());
    log.atInfo().addKeyValue("total_usd", usd).log("total {} USD", String.format("%.2f", usd));
    return Map.of("orders", orders.size(), "total_usd", Math.round(usd * 100) / 100.0, "by", "java");
  }
}
