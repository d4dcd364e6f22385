package org.baton.sdk;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * {@code System.out} and {@code System.err}, routed by thread: what a task prints while it runs —
 * on its own thread, or on a thread it started — becomes lines of its attempt's log ({@code info}
 * for stdout, {@code error} for stderr, with the field {@code stream}), as the Python worker does
 * with a task process's output. Every other thread's output, and a task thread's once its attempt
 * has ended, goes to the JVM's original streams unchanged. Each thread's unfinished line (no newline
 * yet) is held by the attempt's binding and logged when the attempt ends, whichever thread printed it.
 */
final class TaskOutput extends OutputStream {
  /**
   * The longest piece of output without a newline kept before it is logged (a progress bar redrawn
   * with carriage returns, a blob printed whole): it was kept until a newline or the attempt's end,
   * however long.
   */
  static final int MAX_PARTIAL = 64 << 10;

  /** The attempt a thread prints for; threads a task starts inherit it. */
  private static final InheritableThreadLocal<Binding> CURRENT = new InheritableThreadLocal<>();
  private static volatile TaskOutput out;
  private static volatile TaskOutput err;

  private final PrintStream original;
  private final String stream;
  private final String level;

  private TaskOutput(PrintStream original, String stream, String level) {
    this.original = original;
    this.stream = stream;
    this.level = level;
  }

  /** Routes System.out and System.err through attempts from now on (once per JVM). */
  static synchronized void install() {
    if (out != null) {
      return;
    }
    out = new TaskOutput(System.out, "stdout", "info");
    err = new TaskOutput(System.err, "stderr", "error");
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  /** Sends what the calling thread (and the threads it starts) print to {@code sink} until closed. */
  static Binding bind(Consumer<LogEntry> sink) {
    Binding binding = new Binding(sink);
    CURRENT.set(binding);
    return binding;
  }

  @Override
  public void write(int b) {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] bytes, int offset, int length) {
    Binding binding = CURRENT.get();
    if (binding == null || !binding.open) {
      original.write(bytes, offset, length);
      return;
    }
    ByteArrayOutputStream line = binding.partial(this);
    synchronized (line) {
      if (!binding.open) { // closed meanwhile: its unfinished lines were logged without this
        original.write(bytes, offset, length);
        return;
      }
      append(binding, line, bytes, offset, length);
    }
  }

  private void append(Binding binding, ByteArrayOutputStream line, byte[] bytes, int offset, int length) {
    int start = offset;
    for (int i = offset; i < offset + length; i++) {
      if (bytes[i] == '\n') {
        line.write(bytes, start, i - start);
        emit(binding, line);
        start = i + 1;
      }
    }
    line.write(bytes, start, offset + length - start);
    if (line.size() > MAX_PARTIAL) {
      emitPieces(binding, line);
    }
  }

  /** Logs the pieces of MAX_PARTIAL bytes of a long unfinished line, never half a character; keeps the rest. */
  private void emitPieces(Binding binding, ByteArrayOutputStream line) {
    byte[] held = line.toByteArray();
    int start = 0;
    while (held.length - start > MAX_PARTIAL) {
      int end = start + MAX_PARTIAL;
      while (end > start && (held[end] & 0xC0) == 0x80) {
        end--; // a UTF-8 continuation byte: the piece ends before its character
      }
      binding.sink.accept(new LogEntry(OffsetDateTime.now(ZoneOffset.UTC), level,
          new String(held, start, end - start, StandardCharsets.UTF_8), Map.of("stream", stream)));
      start = end;
    }
    line.reset();
    line.write(held, start, held.length - start);
  }

  @Override
  public void flush() {
    original.flush();
  }

  private void emit(Binding binding, ByteArrayOutputStream line) {
    String text = line.toString(StandardCharsets.UTF_8);
    line.reset();
    if (text.endsWith("\r")) {
      text = text.substring(0, text.length() - 1);
    }
    binding.sink.accept(new LogEntry(OffsetDateTime.now(ZoneOffset.UTC), level, text, Map.of("stream", stream)));
  }

  /** A thread's unfinished line on one stream. */
  private record Partial(TaskOutput output, Thread thread) {}

  /**
   * The routing of one attempt's output; closing it logs the unfinished lines of every thread that
   * printed for it: those of the threads a task started were never logged, and a pool thread kept its
   * own for good.
   */
  static final class Binding implements AutoCloseable {
    private final Consumer<LogEntry> sink;
    private final Map<Partial, ByteArrayOutputStream> partials = new ConcurrentHashMap<>();
    private volatile boolean open = true;

    private Binding(Consumer<LogEntry> sink) {
      this.sink = sink;
    }

    private ByteArrayOutputStream partial(TaskOutput output) {
      return partials.computeIfAbsent(new Partial(output, Thread.currentThread()), k -> new ByteArrayOutputStream());
    }

    @Override
    public void close() {
      System.out.flush();
      System.err.flush();
      open = false; // from here on a write goes to the original stream, or into a line logged below
      for (TaskOutput output : new TaskOutput[] {out, err}) {
        for (Map.Entry<Partial, ByteArrayOutputStream> held : partials.entrySet()) {
          ByteArrayOutputStream line = held.getValue();
          if (held.getKey().output() == output) {
            synchronized (line) {
              if (line.size() > 0) {
                output.emit(this, line);
              }
            }
          }
        }
      }
      partials.clear();
      CURRENT.remove();
    }
  }
}
