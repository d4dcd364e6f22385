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
}
