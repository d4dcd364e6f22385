package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a task prints to System.out while its attempt runs. */
class TaskOutputTest {
  @Test
  void outputWithoutANewline_isLoggedInPiecesAsItComes_neverHalfACharacter() {
    TaskOutput.install();
    List<String> logged = new ArrayList<>();
    String printed = "é".repeat(100_000) + "x".repeat(100_001); // 300,001 bytes, no newline
    TaskOutput.Binding binding = TaskOutput.bind(entry -> logged.add(entry.message()));
    try {
      System.out.print(printed);
      // A progress bar redrawn with carriage returns, or a blob: it was all kept until a newline came.
      assertTrue(logged.size() >= 4, logged.size() + " pieces logged before the attempt ended");
      for (String piece : logged) {
        assertTrue(piece.getBytes(StandardCharsets.UTF_8).length <= TaskOutput.MAX_PARTIAL, "a piece of " + piece.length());
        assertTrue(!piece.contains("\uFFFD"), "a piece holds half a character");
      }
    } finally {
      binding.close();
    }
    assertEquals(printed, String.join("", logged));
  }

  @Test
  void unfinishedLineOfAThreadTheTaskStarted_isLoggedWhenTheAttemptEnds() throws Exception {
    TaskOutput.install();
    List<String> logged = java.util.Collections.synchronizedList(new ArrayList<>());
    TaskOutput.Binding binding = TaskOutput.bind(entry -> logged.add(entry.fields().get("stream") + ": " + entry.message()));
    try {
      Thread helper =
          new Thread(
              () -> {
                System.out.print("done 3 of 4");
                System.err.print("warning without a newline");
              });
      helper.start();
      helper.join();
      System.out.print("the task's own");
      assertEquals(List.of(), logged);
    } finally {
      binding.close();
    }
    // The helper's unfinished lines were held by its thread and never logged.
    assertEquals(
        java.util.Set.of("stdout: done 3 of 4", "stderr: warning without a newline", "stdout: the task's own"),
        java.util.Set.copyOf(logged));
    assertEquals(3, logged.size());
  }
}
