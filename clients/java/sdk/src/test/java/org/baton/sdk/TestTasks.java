package org.baton.sdk;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/** Task methods of the SDK's tests; what they received is kept in {@link #SEEN}, by run id. */
final class TestTasks {
  /** What the tasks saw, by {@code <run id>/<task id>}. */
  static final Map<String, Object> SEEN = new ConcurrentHashMap<>();

  private TestTasks() {}

  /** An order: a record, read and written through Jackson. */
  record Order(int id, double amount, String currency) {}

  static List<Order> extract(TaskContext context, Logger log) {
    log.info("extracting orders for run {}", context.runId());
    return List.of(new Order(1, 120.0, "EUR"), new Order(2, 80.5, "EUR"), new Order(3, 42.0, "EUR"));
  }

  static double total(List<Order> orders, XComClient xcoms, Logger log) {
    xcoms.pushXCom("count", orders.size());
    log.atInfo().addKeyValue("orders", orders.size()).log("summing {} orders", orders.size());
    return orders.stream().mapToDouble(Order::amount).sum();
  }

  static void report(
      @FromTask("total") double total,
      @FromTask(value = "total", key = "count") int count,
      @FromTask("extract") List<Order> orders,
      VariableClient variables,
      TaskContext context) {
    String greeting = variables.getVariable("java_sdk_test_greeting", String.class, "none");
    SEEN.put(context.runId() + "/report", total + "|" + count + "|" + orders.get(0) + "|" + greeting);
  }

  static String flaky(TaskContext context, Logger log) {
    if (context.tryNumber() == 1) {
      throw new IllegalStateException("the first try fails on purpose");
    }
    log.info("try {} of {} works", context.tryNumber(), context.maxTries());
    return "ok on try " + context.tryNumber();
  }

  static void sayOnce(Logger log) {
    log.info("said once");
  }

  static void boom(TaskContext context) {
    deeper(context.taskId());
  }

  private static void deeper(String taskId) {
    throw new IllegalArgumentException("boom in " + taskId);
  }

  /** Released by {@link #waitsForRelease}'s test. */
  static final CountDownLatch RELEASE = new CountDownLatch(1);

  static void waitsForRelease(TaskContext context) {
    SEEN.put(context.runId() + "/began", true);
    try {
      if (!RELEASE.await(600, TimeUnit.SECONDS)) {
        throw new IllegalStateException("never released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static void waitForStop(TaskContext context, Logger log) {
    log.info("waiting to be stopped");
    SEEN.put(context.runId() + "/waiting", true);
    try {
      Thread.sleep(600_000);
      SEEN.put(context.runId() + "/stopped", "not interrupted");
    } catch (InterruptedException e) {
      SEEN.put(context.runId() + "/stopped", "interrupted: " + context.stopReason());
    }
  }

  /** Ignores every stop until the test puts runId/release; says when it runs and when it ended. */
  static void ignoresStop(TaskContext context) {
    SEEN.put(context.runId() + "/running", true);
    while (!SEEN.containsKey(context.runId() + "/release")) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        // ignored on purpose: a task that does not stop
      }
    }
    SEEN.put(context.runId() + "/ended", true);
  }

  static String fromPython(@FromTask("produce") Map<String, Object> produced, Logger log) {
    log.info("received {} from Python", produced);
    return "java saw " + produced.get("rows") + " rows from " + produced.get("by");
  }

  /** Logs half a character (a lone surrogate), in a message and a field, and a long message whose cut falls inside a pair. */
  static void halfCharacters(Logger log) {
    log.info("before");
    log.atInfo().addKeyValue("half", "\uD800").log("half a character: \uD800!");
    log.info("x".repeat(LogShipper.MAX_MESSAGE - 21) + "\uD83D\uDE00" + "y".repeat(100));
    log.info("after");
  }

  /** Logs a NUL, and lines whose fields together outgrow a request (5.4 MB). */
  static void noisy(Logger log) {
    log.info("before\u0000after");
    String payload = "x".repeat(90_000);
    for (int i = 0; i < 60; i++) {
      log.atInfo().addKeyValue("payload", payload).log("big " + i);
    }
    log.atInfo().addKeyValue("control", "\u0001".repeat(400_000)).log("escaped six times over");
    log.info("done");
  }

  /** Logs a line whose field's name is 5 MB of UTF-8 (a key built from data), between two others. */
  static void hugeFieldName(Logger log) {
    log.info("before");
    log.atInfo().addKeyValue("\u00e9".repeat(2_500_000), "v").log("huge name");
    log.info("after");
  }

  /** Throws the error the JVM throws when the heap is full (the attempt must still be reported). */
  static void outOfMemory(Logger log) {
    log.info("allocating");
    throw new OutOfMemoryError("Java heap space (thrown by the test)");
  }

  static Map<String, Object> notANumber(XComClient xcoms) {
    try {
      xcoms.pushXCom("ratio", List.of(1.0, Double.POSITIVE_INFINITY));
      SEEN.put("notANumber/push", "pushed");
    } catch (IllegalArgumentException e) {
      SEEN.put("notANumber/push", e.getMessage());
    }
    return Map.of("ratio", Double.NaN);
  }

  /**
   * Returns with its thread's interrupt flag set, as code does that catches an InterruptedException
   * of its own (a library's wait cut short) and, as it should, sets the flag again.
   */
  static String selfInterrupted() {
    Thread.currentThread().interrupt();
    return "kept";
  }

  static void readKept(String value) {
    SEEN.put("readKept", value);
  }

  /** An exception whose own {@code getMessage} throws, as a broken or hostile exception class does. */
  static final class UnreadableMessage extends RuntimeException {
    private static final long serialVersionUID = 1L;

    @Override
    public String getMessage() {
      throw new IllegalStateException("getMessage fails");
    }
  }

  /** Logs an exception whose message cannot be read (keeping what logging it threw, if anything), then throws it. */
  static void unreadableMessage(Logger log) {
    UnreadableMessage error = new UnreadableMessage();
    try {
      log.error("logging it works", error);
    } catch (RuntimeException thrown) {
      SEEN.put("unreadableMessage/log", thrown.toString());
    }
    throw error;
  }
}
