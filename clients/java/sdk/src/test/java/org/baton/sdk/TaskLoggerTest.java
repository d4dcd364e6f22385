package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/** The SLF4J logger a task method receives. */
class TaskLoggerTest {
  @Test
  void aNullKey_isTheFieldNull_andTheLineIsShipped() {
    List<LogEntry> logged = new ArrayList<>();
    TaskLogger logger = new TaskLogger("task", Level.INFO, logged::add);
    logger.atInfo().addKeyValue(null, "v").addKeyValue("k", (Object) null).log("with a null key");
    assertEquals(1, logged.size());
    LogEntry shipped = LogShipper.shippable(logged.get(0));
    assertEquals("v", shipped.fields().get("null"));
    assertEquals("with a null key", shipped.message());
  }
}
