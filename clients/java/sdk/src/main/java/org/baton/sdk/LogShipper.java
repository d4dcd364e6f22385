package org.baton.sdk;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import org.baton.client.ApiErrorException;
import org.baton.client.BatonClient;
import org.baton.client.BatonException;
import org.baton.client.ConflictException;
import org.baton.client.ForbiddenException;
import org.baton.client.NotFoundException;
import org.baton.client.UnauthorizedException;
import org.baton.client.generated.model.LogBatch;
import org.baton.client.generated.model.LogLine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers one attempt's log lines and uploads them in ordered batches (every second or so, and a
 * last time before the final state). While the server cannot be reached lines stay queued, up to
 * {@link #MAX_BUFFERED}; older ones are dropped beyond that, and a line says how many.
 */
final class LogShipper {
  static final int MAX_MESSAGE = 100_000;
  static final int MAX_BATCH_LINES = 1000;
  static final int MAX_BATCH_CHARS = 1_000_000;
  static final int MAX_BUFFERED = 20_000;
  private static final Logger LOG = LoggerFactory.getLogger("baton.worker");

  private final BatonClient client;
  private final UUID taskInstanceId;
  private final Deque<LogEntry> pending = new ArrayDeque<>();
  private int dropped;
  private boolean closed;
  // Uploads take this lock, the buffer takes `this`: a task logging never waits for an upload.
  private final Object uploadLock = new Object();

  LogShipper(BatonClient client, UUID taskInstanceId) {
    this.client = client;
    this.taskInstanceId = taskInstanceId;
  }

  /** Queues a line (from any thread); lines after the attempt ended are dropped. */
  synchronized void add(LogEntry entry) {
    if (closed) {
      return;
    }
    pending.addLast(entry);
    if (pending.size() > MAX_BUFFERED) {
      pending.removeFirst();
      dropped++;
    }
  }

  private synchronized List<LogEntry> nextBatch() {
    if (dropped > 0) {
      pending.addFirst(LogEntry.worker("warning", dropped + " log lines were dropped while the server was unreachable"));
      dropped = 0;
    }
    List<LogEntry> batch = new ArrayList<>();
    int chars = 0;
    for (LogEntry entry : pending) {
      int size = Math.min(entry.message().length(), MAX_MESSAGE) + 200;
      if (!batch.isEmpty() && (batch.size() >= MAX_BATCH_LINES || chars + size > MAX_BATCH_CHARS)) {
        break;
      }
      batch.add(entry);
      chars += size;
    }
    return batch;
  }

  private synchronized void shipped(int count) {
    for (int i = 0; i < count && !pending.isEmpty(); i++) {
      pending.removeFirst();
    }
  }

  private synchronized int discardAll() {
    int count = pending.size();
    pending.clear();
    return count;
  }

  private static LogLine line(LogEntry entry) {
    String message = entry.message();
    if (message.length() > MAX_MESSAGE) {
      message = message.substring(0, MAX_MESSAGE - 20) + " … (truncated)";
    }
    return new LogLine()
        .timestamp(entry.timestamp())
        .level(LogLine.LevelEnum.fromValue(entry.level()))
        .message(message)
        .fields(entry.fields() == null || entry.fields().isEmpty() ? null : entry.fields());
  }

  /** Uploads everything queued, in order; false if some lines could not be shipped (they stay queued). */
  boolean flush() {
    synchronized (uploadLock) {
      return upload();
    }
  }

  private boolean upload() {
    while (true) {
      List<LogEntry> batch = nextBatch();
      if (batch.isEmpty()) {
        return true;
      }
      List<LogLine> lines = new ArrayList<>(batch.size());
      for (LogEntry entry : batch) {
        lines.add(line(entry));
      }
      try {
        client.uploadLogs(taskInstanceId, new LogBatch().lines(lines));
      } catch (ConflictException | NotFoundException | UnauthorizedException | ForbiddenException e) {
        // The attempt is over (or not ours): these lines can never be stored.
        LOG.warn("task {}: {} log lines not stored: {}", taskInstanceId, discardAll(), e.reason());
        return false;
      } catch (ApiErrorException e) {
        if (e.status() < 500) {
          LOG.warn("task {}: a log batch was refused and dropped: {}", taskInstanceId, e.getMessage());
          shipped(batch.size());
          continue;
        }
        LOG.warn("task {}: log upload failed (will retry): {}", taskInstanceId, e.getMessage());
        return false;
      } catch (BatonException e) {
        LOG.warn("task {}: log upload failed (will retry): {}", taskInstanceId, e.getMessage());
        return false;
      }
      shipped(batch.size());
    }
  }

  /** Uploads what is left; later lines are no longer accepted. False if some were not shipped. */
  boolean close() {
    boolean all = flush();
    synchronized (this) {
      closed = true;
    }
    return all;
  }
}
