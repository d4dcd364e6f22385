package org.baton.sdk;

/** Thrown by a task to end its attempt as {@code skipped} (not a failure: no retry). */
public class TaskSkipped extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Skips the task, saying why (the reason goes to the task's log). */
  public TaskSkipped(String reason) {
    super(reason);
  }
}
