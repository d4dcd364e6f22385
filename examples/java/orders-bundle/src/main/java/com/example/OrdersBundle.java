package com.example;

import java.time.Duration;
import java.util.List;
import org.baton.sdk.*;
import org.slf4j.Logger;

public final class OrdersBundle implements Bundle {
  public record Order(int id, double amount) {}

  static List<Order> extract(TaskContext context, Logger log) {
    log.info("extracting for run {}", context.runId());        // reaches the task's log in Baton
    return List.of(new Order(1, 120.0), new Order(2, 80.5));    // the task's XCom, through Jackson
  }

  static double total(List<Order> orders, VariableClient variables) {   // `orders`: extract's XCom
    double rate = variables.getVariable("rate", Double.class, 1.0);
    return orders.stream().mapToDouble(Order::amount).sum() * rate;
  }

  static void report(@FromTask("total") double total, @FromTask("extract") List<Order> orders, Logger log) {
    log.info("{} orders, {} in all", orders.size(), total);
  }

  @Override
  public void registerDags(DagRegistry registry) {
    Dag dag = registry.addDag("orders").queue("java");
    Task extract = dag.addTask(OrdersBundle::extract);
    Task total = dag.addTask(OrdersBundle::total).upstream(extract).retries(2).retryDelay(Duration.ofSeconds(5));
    dag.addTask(OrdersBundle::report).upstream(total);
  }
}
