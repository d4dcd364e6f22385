package org.baton.client;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How often and how patiently idempotent requests are retried.
 *
 * @param attempts tries in all, the first included; 1 turns retries off
 * @param backoff the wait before the first retry; doubled for each further one
 * @param maxBackoff the longest wait between two tries
 */
public record RetryPolicy(int attempts, Duration backoff, Duration maxBackoff) {
  /** Four tries, waiting about 0.2 s, 0.4 s and 0.8 s between them. */
  public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofMillis(200), Duration.ofSeconds(5));

  /** Validates the policy. */
  public RetryPolicy {
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
    }
    Objects.requireNonNull(backoff, "backoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
  }

  /** The wait before retry number {@code retry} (1-based), with jitter. */
  Duration delay(int retry) {
    long base = Math.min(maxBackoff.toMillis(), backoff.toMillis() << Math.min(retry - 1, 20));
    return Duration.ofMillis(base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1));
  }

  /**
   * The wait before retry number {@code retry} after an answer with a {@code Retry-After} header (in
   * seconds): at least that long, never longer than {@code maxBackoff}; a date is ignored.
   */
  Duration delay(int retry, Optional<String> retryAfter) {
    Duration backoffDelay = delay(retry);
    if (retryAfter.isEmpty()) {
      return backoffDelay;
    }
    double seconds;
    try {
      seconds = Double.parseDouble(retryAfter.get().trim());
    } catch (NumberFormatException dateOrJunk) {
      return backoffDelay;
    }
    if (!(seconds > 0)) {
      return backoffDelay;
    }
    Duration asked = Duration.ofMillis((long) Math.min(seconds * 1000, maxBackoff.toMillis()));
    return asked.compareTo(backoffDelay) > 0 ? asked : backoffDelay;
  }
}
