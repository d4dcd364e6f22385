package org.baton.sdk;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
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
 * {@link #MAX_BUFFERED} lines and {@link #MAX_BUFFERED_BYTES}; older ones are dropped beyond either,
 * and a line says how many. A line is queued as it is sent (its message cut, its fields bounded): a
 * task's message or fields of any size are never held whole.
 *
 * <p>Each batch carries a batch id and is sent again, unchanged and with the same id, until the
 * server answers it: a batch whose answer was lost is stored once, and no line is lost or doubled.
 */
final class LogShipper {
  static final int MAX_MESSAGE = 100_000;
  /**
   * Most bytes of a line's fields as JSON; fields past it are left out, and {@link #LEFT_OUT} names
   * them (up to this many bytes of names, then says how many more). Before, a line of many fields
   * (a map of 10,000 entries, 200 texts of 64 KiB) passed the server's request limit, refusing its
   * whole batch. A field's value is text (or null), never nested: no depth to bound.
   */
  static final int MAX_FIELDS = 100_000;
  /** The field naming a line's fields left out: as the Python and Go workers name it. */
  static final String LEFT_OUT = "fields_left_out";
  /**
   * Most bytes (UTF-8) of a field's name; longer ones are cut. Names were never cut: one huge name
   * (a key built from data) made a line past the server's request limit, refusing its whole batch.
   */
  static final int MAX_FIELD_NAME = 1_000;
  static final int MAX_BATCH_LINES = 1000;
  /** Most bytes of a batch's lines as JSON: well under the server's request limit (4 MiB by default). */
  static final int MAX_BATCH_BYTES = 2_000_000;
  static final int MAX_BUFFERED = 20_000;
  /**
   * Most bytes (as JSON) of the lines held: 20,000 lines of 100,000 characters and more would hold
   * gigabytes of the worker's heap while the server is down.
   */
  static final long MAX_BUFFERED_BYTES = 64L << 20;
  private static final Logger LOG = LoggerFactory.getLogger("baton.worker");

  private final BatonClient client;
  private final UUID taskInstanceId;
  private final Deque<LogEntry> pending = new ArrayDeque<>();
  private long pendingBytes; // of pending, as jsonBytes counts them
  // Sent (or being sent) and not yet answered; null when none. Written under uploadLock.
  private volatile Batch inFlight;
  private int dropped;
  private boolean closed;
  // Once the worker hurries (a second stop): close retries no more.
  private volatile boolean hurried;
  // Uploads take this lock, the buffer takes `this`: a task logging never waits for an upload.
  private final ReentrantLock uploadLock = new ReentrantLock();

  /** One upload: its lines and the id that makes sending it again harmless. */
  private record Batch(UUID id, List<LogEntry> entries) {}

  /**
   * Whether the token, {@code stale} when an upload was refused with the exception, was expired and
   * is now renewed (the batch is then sent again).
   */
  interface Renewal {
    boolean renewed(String stale, BatonException refused);
  }

  private final Renewal renewal;

  LogShipper(BatonClient client, UUID taskInstanceId) {
    this(client, taskInstanceId, (stale, refused) -> false);
  }

  LogShipper(BatonClient client, UUID taskInstanceId, Renewal renewal) {
    this.client = client;
    this.taskInstanceId = taskInstanceId;
    this.renewal = renewal;
  }

  /** Queues a line (from any thread); lines after the attempt ended are dropped. */
  synchronized void add(LogEntry entry) {
    if (closed) {
      return;
    }
    LogEntry queued = shippable(entry);
    pending.addLast(queued);
    pendingBytes += jsonBytes(queued);
    while (pending.size() > 1 && (pending.size() > MAX_BUFFERED || pendingBytes > MAX_BUFFERED_BYTES)) {
      pendingBytes -= jsonBytes(pending.removeFirst());
      dropped++;
    }
  }

  private synchronized List<LogEntry> nextBatch() {
    if (dropped > 0) {
      LogEntry note = LogEntry.worker("warning", dropped + " log lines were dropped while the server was unreachable");
      pending.addFirst(note);
      pendingBytes += jsonBytes(note);
      dropped = 0;
    }
    List<LogEntry> batch = new ArrayList<>();
    long bytes = 0;
    for (LogEntry entry : pending) {
      long size = jsonBytes(entry);
      if (!batch.isEmpty() && (batch.size() >= MAX_BATCH_LINES || bytes + size > MAX_BATCH_BYTES)) {
        break;
      }
      batch.add(entry);
      bytes += size;
    }
    return batch;
  }

  private synchronized void taken(int count) {
    for (int i = 0; i < count && !pending.isEmpty(); i++) {
      pendingBytes -= jsonBytes(pending.removeFirst());
    }
  }

  /** The batch in flight, or a new one cut from the pending lines; null when there is none. */
  private Batch batchToSend() {
    if (inFlight == null) {
      List<LogEntry> entries = nextBatch();
      if (entries.isEmpty()) {
        return null;
      }
      taken(entries.size());
      inFlight = new Batch(UUID.randomUUID(), entries);
    }
    return inFlight;
  }

  /** Whether lines wait to be shipped (pending or in flight). */
  boolean holding() {
    if (inFlight != null) {
      return true;
    }
    synchronized (this) {
      return !pending.isEmpty();
    }
  }

  /** The worker hurries (a second stop): {@link #close} retries no more. */
  void hurry() {
    hurried = true;
  }

  private synchronized int discardAll() {
    int count = pending.size();
    pending.clear();
    pendingBytes = 0;
    return count;
  }

  /**
   * The entry as it is sent: its message cut, its fields' names cut, texts made text the server
   * stores, and fields past {@link #MAX_FIELDS} bytes left out, in order, and named in
   * {@link #LEFT_OUT} (up to {@link #MAX_FIELDS} bytes of names, then "… and N more").
   */
  static LogEntry shippable(LogEntry entry) {
    Map<String, Object> fields = null;
    if (entry.fields() != null && !entry.fields().isEmpty()) {
      fields = new LinkedHashMap<>();
      List<String> leftOut = new ArrayList<>();
      long listed = 0; // the bytes of the names in leftOut
      int unlisted = 0; // the names left out past MAX_FIELDS bytes of them
      long budget = MAX_FIELDS;
      for (Map.Entry<String, Object> field : entry.fields().entrySet()) {
        String name = cutName(text(field.getKey()));
        Object value = field.getValue();
        // A text is never fewer bytes than chars: one longer than the budget is not read through.
        long cost = value instanceof String text && text.length() > budget
            ? budget + 1
            : jsonBytes(name) + valueBytes(value) + 2;
        if (cost > budget) {
          long nameBytes = utf8Bytes(name);
          if (listed + nameBytes > MAX_FIELDS) {
            unlisted++;
          } else {
            leftOut.add(name);
            listed += nameBytes;
          }
          continue;
        }
        fields.put(name, value instanceof String text ? text(text) : value);
        budget -= cost;
      }
      if (unlisted > 0) {
        leftOut.add("… and " + unlisted + " more");
      }
      if (!leftOut.isEmpty()) {
        fields.put(LEFT_OUT, leftOut);
      }
    }
    return new LogEntry(entry.timestamp(), entry.level(), text(cut(entry.message())), fields);
  }

  /** The wire line of a queued (already shippable) entry. */
  private static LogLine line(LogEntry entry) {
    return new LogLine()
        .timestamp(entry.timestamp())
        .level(LogLine.LevelEnum.fromValue(entry.level()))
        .message(entry.message())
        .fields(entry.fields());
  }

  /** A message cut to {@link #MAX_MESSAGE}, never between the two halves of a character. */
  private static String cut(String text) {
    if (text.length() <= MAX_MESSAGE) {
      return text;
    }
    int end = MAX_MESSAGE - 20;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end) + " … (truncated)";
  }

  /** A field's name (no lone surrogate) cut to {@link #MAX_FIELD_NAME} bytes of UTF-8, never inside a character. */
  static String cutName(String name) {
    if (name.length() <= MAX_FIELD_NAME / 3 || utf8Bytes(name) <= MAX_FIELD_NAME) {
      return name;
    }
    String suffix = " … (truncated)";
    int budget = MAX_FIELD_NAME - suffix.getBytes(StandardCharsets.UTF_8).length;
    int end = 0;
    while (end < name.length()) {
      int point = name.codePointAt(end);
      int bytes = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
      if (bytes > budget) {
        break;
      }
      budget -= bytes;
      end += Character.charCount(point);
    }
    return name.substring(0, end) + suffix;
  }

  /**
   * At least the bytes of an entry's line as JSON: a batch counted by characters alone (its fields
   * not at all) could pass the server's request limit and be refused whole (413), and a control
   * character is six bytes escaped.
   */
  static long jsonBytes(LogEntry entry) {
    long bytes = 200 + jsonBytes(cut(entry.message()));
    if (entry.fields() != null) {
      for (Map.Entry<String, Object> field : entry.fields().entrySet()) {
        bytes += 6 + jsonBytes(field.getKey()) + valueBytes(field.getValue());
      }
    }
    return bytes;
  }

  /** At least the bytes of a field's value as JSON: a text, null, or a list of them ({@link #LEFT_OUT}). */
  private static long valueBytes(Object value) {
    if (value == null) {
      return 4;
    }
    if (value instanceof List<?> list) {
      long bytes = 2;
      for (Object item : list) {
        bytes += 1 + valueBytes(item);
      }
      return bytes;
    }
    return jsonBytes(String.valueOf(value));
  }

  /** The bytes of a text (no lone surrogate) in UTF-8. */
  private static long utf8Bytes(String text) {
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
    }
    return bytes;
  }

  private static long jsonBytes(String text) {
    long bytes = 2;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      bytes += c < 0x20 || c == '"' || c == '\\' ? 6 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    }
    return bytes;
  }

  /**
   * The text with each lone surrogate (half of a character: a string cut between the two, or built
   * from raw chars), and each NUL, as U+FFFD. Neither is text the server stores: it refuses a batch
   * holding one (422), and every line of that batch was dropped with it.
   */
  static String text(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean pair = Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
      boolean lone = !pair && (Character.isSurrogate(c) || c == '\u0000');
      if (lone && out == null) {
        out = new StringBuilder(text.length()).append(text, 0, i);
      }
      if (out != null) {
        out.append(lone ? '\uFFFD' : c);
        if (pair) {
          out.append(text.charAt(i + 1));
        }
      }
      if (pair) {
        i++;
      }
    }
    return out == null ? text : out.toString();
  }

  /** Uploads everything queued, in order; false if some lines could not be shipped (they stay queued). */
  boolean flush() {
    try {
      uploadLock.lockInterruptibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    try {
      return upload();
    } finally {
      uploadLock.unlock();
    }
  }

  /**
   * One last upload of what is left, waiting at most {@code wait} for an upload on its way (the
   * worker hurries); false if some lines were not shipped.
   */
  boolean lastFlush(Duration wait) {
    try {
      if (!uploadLock.tryLock(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        return false;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    try {
      return upload();
    } finally {
      uploadLock.unlock();
    }
  }

  private boolean upload() {
    while (true) {
      Batch batch = batchToSend();
      if (batch == null) {
        return true;
      }
      List<LogLine> lines = new ArrayList<>(batch.entries().size());
      for (LogEntry entry : batch.entries()) {
        lines.add(line(entry));
      }
      String stale = client.token();
      try {
        client.uploadLogs(taskInstanceId, new LogBatch().batchId(batch.id()).lines(lines));
      } catch (UnauthorizedException e) {
        if (renewal.renewed(stale, e)) {
          continue; // the same batch again, with the fresh token
        }
        inFlight = null;
        LOG.warn("task {}: {} log lines not stored: {}", taskInstanceId, discardAll() + batch.entries().size(), e.reason());
        return false;
      } catch (ConflictException | NotFoundException | ForbiddenException e) {
        // The attempt is over (or not ours): these lines can never be stored.
        inFlight = null;
        LOG.warn("task {}: {} log lines not stored: {}", taskInstanceId, discardAll() + batch.entries().size(), e.reason());
        return false;
      } catch (ApiErrorException e) {
        if ("log_limit_exceeded".equals(e.reason())) {
          // The attempt's logs are full on the server: later lines stay in the worker's log only.
          inFlight = null;
          int lost = discardAll() + batch.entries().size();
          synchronized (this) {
            closed = true;
          }
          LOG.warn("task {}: the attempt reached the server's log limit; {} lines and later ones are not stored",
              taskInstanceId, lost);
          return false;
        }
        if (e.status() < 500) {
          LOG.warn("task {}: a log batch was refused and dropped: {}", taskInstanceId, e.getMessage());
          inFlight = null;
          continue;
        }
        LOG.warn("task {}: log upload failed (will retry): {}", taskInstanceId, e.getMessage());
        return false;
      } catch (BatonException e) {
        LOG.warn("task {}: log upload failed (will retry): {}", taskInstanceId, e.getMessage());
        return false;
      }
      inFlight = null;
    }
  }

  /**
   * Uploads what is left, retrying for up to {@code patience} while the server cannot be reached
   * (until the worker hurries); later lines are no longer accepted. False if some were not shipped.
   */
  boolean close(Duration patience) {
    synchronized (this) {
      closed = true;
    }
    long deadline = System.nanoTime() + patience.toNanos();
    long delay = 500;
    boolean all = flush();
    // Lines still held could yet be stored; none held after a failure means they were refused for good.
    while (!all && !hurried && holding() && System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay) < deadline) {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
      try {
        while (!hurried && System.nanoTime() < end) {
          Thread.sleep(Math.min(50, Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime()))));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      if (hurried) {
        return false;
      }
      delay = Math.min(delay * 2, 15_000);
      all = flush();
    }
    return all;
  }
}
