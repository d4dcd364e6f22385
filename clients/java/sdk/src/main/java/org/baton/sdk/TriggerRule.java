package org.baton.sdk;

/** When a task may start, given how its upstream tasks ended. */
public enum TriggerRule {
  /** Every upstream task succeeded (the default). */
  ALL_SUCCESS("all_success"),
  /** Every upstream task finished, whatever its state. */
  ALL_DONE("all_done"),
  /** No upstream task failed (skipped ones are fine). */
  NONE_FAILED("none_failed");

  private final String wire;

  TriggerRule(String wire) {
    this.wire = wire;
  }

  /** The name the API uses. */
  public String wireName() {
    return wire;
  }
}
