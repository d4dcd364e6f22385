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
 * @param giveUpAfter how long after the first try a retry may still start; zero: only {@code attempts}
 *     bounds them
 */
public record RetryPolicy(int attempts, Duration backoff, Duration maxBackoff, Duration giveUpAfter) {
  /** Four tries, waiting about 0.2 s, 0.4 s and 0.8 s between them. */
  public static final RetryPolicy DEFAULT = new RetryPolicy(4, Duration.ofMillis(200), Duration.ofSeconds(5));

  /**
   * The policy of the client a task's own code calls the API through (variables, connections,
   * XComs): it rides out a server that is away for up to a minute — a restart, an upgrade, a replica
   * replaced — where {@link #DEFAULT} gives up after about a second, failing the task.
   */
  public static final RetryPolicy TASK =
      new RetryPolicy(1000, Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofMinutes(1));

  /** Validates the policy. */
  public RetryPolicy {
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
    }
    for (Duration d : new Duration[] {
      Objects.requireNonNull(backoff, "backoff"),
      Objects.requireNonNull(maxBackoff, "maxBackoff"),
      Objects.requireNonNull(giveUpAfter, "giveUpAfter")
    }) {
      if (d.isNegative()) {
        throw new IllegalArgumentException("a retry policy's durations must not be negative, got " + d);
      }
    }
  }

  /** A policy bounded by its attempts only. */
  public RetryPolicy(int attempts, Duration backoff, Duration maxBackoff) {
    this(attempts, backoff, maxBackoff, Duration.ZERO);
  }

  /**
   * Whether retry number {@code retry} (1-based) may start after waiting {@code delay}, the first try
   * having started at {@code startedNanos} ({@link System#nanoTime()}).
   */
  boolean allows(int retry, long startedNanos, Duration delay) {
    if (retry >= attempts) {
      return false;
    }
    if (giveUpAfter.isZero()) {
      return true;
    }
    return Duration.ofNanos(System.nanoTime() - startedNanos).plus(delay).compareTo(giveUpAfter) <= 0;
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
