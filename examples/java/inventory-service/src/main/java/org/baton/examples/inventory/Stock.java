package org.baton.examples.inventory;

import java.util.concurrent.atomic.AtomicInteger;
import org.baton.sdk.TaskContext;
import org.baton.sdk.VariableClient;
import org.slf4j.Logger;

/** The service's own state, which its HTTP handler shows and its Baton tasks read and change. */
public final class Stock {
  private final AtomicInteger widgets;

  /** A stock of {@code widgets}. */
  public Stock(int widgets) {
    this.widgets = new AtomicInteger(widgets);
  }

  /** Widgets in stock. */
  public int widgets() {
    return widgets.get();
  }

  /** Task: how many widgets are missing to reach the variable {@code stock_target} (10 by default). */
  public int shortfall(VariableClient variables, Logger log) {
    int target = variables.getVariable("stock_target", Integer.class, 10);
    int missing = Math.max(0, target - widgets.get());
    log.info("{} in stock, target {}: {} missing", widgets.get(), target, missing);
    return missing;
  }

  /** Task: orders the missing widgets (the upstream task's return value); the new stock is its XCom. */
  public int order(int missing, TaskContext context, Logger log) {
    int now = widgets.addAndGet(missing);
    log.info("run {}: ordered {} widgets; {} in stock", context.runId(), missing, now);
    return now;
  }
}
