package org.baton.sdk;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.baton.client.ApiErrorException;
import org.baton.client.BatonClient;
import org.baton.client.BatonException;
import org.baton.client.ConflictException;
import org.baton.client.ForbiddenException;
import org.baton.client.NotFoundException;
import org.baton.client.ServerErrorException;
import org.baton.client.TransportException;
import org.baton.client.UnauthorizedException;
import org.baton.client.generated.model.ExecuteTaskWorkload;
import org.baton.client.generated.model.TIHeartbeatPayload;
import org.baton.client.generated.model.TIRunContext;
import org.baton.client.generated.model.TIRunPayload;
import org.baton.client.generated.model.TIStatePayload;
import org.baton.client.generated.model.TIStateResponse;
import org.baton.client.generated.model.TaskInstanceIdentity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One claimed attempt, from {@code run} to its final state, on a thread of the worker's pool.
 *
 * <ol>
 *   <li>starts the attempt ({@code run}, with the workload token, this host and the JVM's pid); the
 *       server answers with the run context and the execution token, which the client swaps in;
 *   <li>while the task method runs: heartbeats every few seconds and ships its log lines every
 *       second; on a heartbeat answered 404 or 409 (the server ended the attempt), on its
 *       execution timeout, or when the worker hands it back, asks the task to stop (its
 *       {@link TaskContext#stopRequested()} and {@link Thread#interrupt()});
 *   <li>ships the last lines and reports the final state, heartbeating the attempt until then (the
 *       last lines may take long to ship): {@code success}, {@code skipped}, on a failure {@code
 *       up_for_retry} while tries remain else {@code failed}; a handed-back attempt is {@code
 *       up_for_retry}; one the server ended is not reported. A stop once the task method has
 *       returned changes nothing: a heartbeat refused then ends the heartbeats, and the final state
 *       gets the server's own answer. A task that ignores the
 *       stop for {@code stopGrace} is abandoned: its state is reported without it, and its pool
 *       thread stays busy (and the worker's claims list it as held) until it returns.
 * </ol>
 *
 * <p>An attempt handed back while its start is on its way is not cut off there (the server may have
 * started it already, and would wait for its heartbeat timeout): the start is seen through, then the
 * attempt is reported {@code up_for_retry} without its task method being called.
 */
final class Attempt {
  private static final Logger LOG = LoggerFactory.getLogger("baton.worker");

  /** How attempts are supervised. */
  record Options(
      String serverUrl,
      String hostname,
      int pid,
      String unixUser,
      Duration heartbeatInterval,
      Duration stopGrace,
      Duration reportPatience,
      Duration logInterval,
      Level taskLogLevel,
      LocalSecrets secrets,
      boolean captureOutput) {}

  /**
   * Asks the server, with the worker's credential, for a fresh execution token for the running
   * attempt (task instance, try number); null when it gives none.
   */
  interface Reissue {
    String token(UUID taskInstanceId, int tryNumber);
  }

  private record Outcome(String state, String message) {}

  private static final Outcome SUCCESS = new Outcome("success", null);

  private final ExecuteTaskWorkload workload;
  private final Catalog.TaskEntry entry;
  private final Options options;
  private final ScheduledExecutorService timers;
  private final Executor reporter;
  private final BatonClient transport;
  private final Reissue reissue;
  private final Object renewLock = new Object();
  private final TaskInstanceIdentity ti;
  final String label;
  final CompletableFuture<String> reported = new CompletableFuture<>();
  private final AtomicBoolean settled = new AtomicBoolean();
  private volatile Thread thread;
  private volatile String stopKind;
  // Whether the task method may be running: a stop before then neither interrupts nor abandons it.
  private boolean begun;
  // Whether the task method has returned: a stop after then neither interrupts the report nor changes it.
  private boolean returned;
  // Whether the server refused a heartbeat (the attempt is not its running one): no more are sent.
  private volatile boolean beatRefused;
  private volatile TaskContext context;
  private volatile LogShipper shipper;
  private volatile BatonClient client;
  // The JVM's error the task threw (out of memory), thrown on once the attempt is reported.
  private VirtualMachineError fatal;
  private long began;
  // Where the attempt's time went, for the worker's debug log: claimed, picked up by a pool thread,
  // started, task returned, logs shipped (System.nanoTime()).
  private final long claimedAt = System.nanoTime();
  private long pickedUpAt;
  private long startedAt;
  private long returnedAt;
  private long shippedAt;

  Attempt(
      ExecuteTaskWorkload workload,
      Catalog.TaskEntry entry,
      Options options,
      ScheduledExecutorService timers,
      Executor reporter,
      BatonClient transport,
      Reissue reissue) {
    this.workload = workload;
    this.reissue = reissue;
    this.transport = transport;
    this.entry = entry;
    this.options = options;
    this.timers = timers;
    this.reporter = reporter;
    this.ti = workload.getTaskInstance();
    this.label = ti.getDagId() + "/" + ti.getRunId() + "/" + ti.getTaskId() + " try " + ti.getTryNumber() + "/"
        + workload.getMaxTries();
  }

  UUID id() {
    return ti.getId();
  }

  /** How long a call to the server still has once the worker hurries (a second stop). */
  static final Duration LAST_TRY = Duration.ofSeconds(5);

  // Once the worker hurries: a start, the last log lines and the final state get one last try.
  private volatile boolean hurried;
  // The calls hurry() may cut (interrupt), guarded by cutLock: the attempt's own (its start, last log
  // lines, final state) and, at the same time, a token renewal of a heartbeat or a log batch.
  private final Object cutLock = new Object();
  private final Set<Call> calls = new HashSet<>();

  /** A call {@link #hurry()} may cut: its thread, and whether it was cut (guarded by cutLock). */
  private static final class Call {
    final Thread thread = Thread.currentThread();
    boolean cut;

    void cut() {
      cut = true;
      thread.interrupt();
    }
  }

  /**
   * Hands the attempt back and cuts its waits for the server short (the worker is stopped again): a
   * start, the last log lines or a final state the server has not taken gets one last try of {@link
   * #LAST_TRY}, then is given up (the server's heartbeat or claim timeout then frees the attempt).
   */
  void hurry() {
    hurried = true;
    handBack();
    LogShipper logs = shipper;
    if (logs != null) {
      logs.hurry();
    }
    synchronized (cutLock) {
      calls.forEach(Call::cut);
    }
  }

  /**
   * {@code work} on this thread, interrupted by {@link #hurry()} or, as the last try, after {@link
   * #LAST_TRY}; the interrupt is cleared once it returns.
   */
  private <T> T cuttable(Supplier<T> work, boolean last) {
    Call mine = new Call();
    synchronized (cutLock) {
      calls.add(mine);
    }
    ScheduledFuture<?> timer = null;
    if (last) {
      try {
        timer = timers.schedule(
            () -> {
              synchronized (cutLock) {
                if (calls.contains(mine)) {
                  mine.cut();
                }
              }
            },
            LAST_TRY.toMillis(),
            TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException shutDown) {
        // The worker's timers have stopped: the call goes uncut, bounded by the client's retries.
      }
    }
    try {
      return work.get();
    } finally {
      if (timer != null) {
        timer.cancel(false);
      }
      synchronized (cutLock) {
        calls.remove(mine);
        if (mine.cut) {
          Thread.interrupted();
        }
      }
    }
  }

  /** The attempt's last log lines shipped, retried for the report patience or until the worker hurries. */
  private boolean closeLogs(LogShipper logs) {
    boolean all = cuttable(() -> logs.close(options.reportPatience()), false);
    if (!all && hurried && logs.holding()) {
      all = cuttable(() -> logs.lastFlush(LAST_TRY), true);
    }
    return all;
  }

  /** Asks the task to stop and reports it {@code up_for_retry}: the worker is shutting down. */
  void handBack() {
    stop("hand_back", "warning", "the worker is shutting down: the attempt is handed back");
  }

  /** Runs the attempt to its end on the calling thread (a pool thread). */
  void run() {
    pickedUpAt = System.nanoTime();
    thread = Thread.currentThread();
    client = transport.withToken(workload.getToken());
    LogShipper logs = new LogShipper(client, id(), this::renewed);
    shipper = logs;
    TIRunPayload payload =
        new TIRunPayload()
            .hostname(options.hostname())
            .pid(options.pid())
            .unixUser(options.unixUser())
            .startDate(OffsetDateTime.now(ZoneOffset.UTC));
    began = System.nanoTime();
    TIRunContext started;
    try {
      started = patiently("start", () -> client.start(id(), payload));
    } catch (BatonException e) {
      LOG.warn("{}: not started: {}", label, e.getMessage());
      settled.set(true);
      reported.complete(null);
      return;
    }
    startedAt = System.nanoTime();
    context = context(started);
    logs.add(LogEntry.worker("info", "attempt " + ti.getTryNumber() + " of " + started.getMaxTries()
        + " started on " + options.hostname() + " (pid " + options.pid() + ")"));
    LOG.info("{}: started", label);
    if (!begin()) {
      settle(new Outcome("failed", "stopped before it began"));
      return;
    }
    long interval = options.heartbeatInterval().toMillis();
    AtomicBoolean beating = new AtomicBoolean();
    ScheduledFuture<?> beat =
        timers.scheduleWithFixedDelay(() -> offTimer(beating, this::heartbeat), interval, interval, TimeUnit.MILLISECONDS);
    long every = options.logInterval().toMillis();
    AtomicBoolean shipping = new AtomicBoolean();
    ScheduledFuture<?> ship =
        timers.scheduleWithFixedDelay(() -> offTimer(shipping, logs::flush), every, every, TimeUnit.MILLISECONDS);
    Integer limit = workload.getExecutionTimeoutSeconds();
    ScheduledFuture<?> timeout =
        limit == null
            ? null
            : timers.schedule(
                () -> stop("timeout", "error", "execution timeout of " + limit + " s exceeded: stopping the task"),
                limit,
                TimeUnit.SECONDS);
    Outcome outcome;
    try {
      outcome = execute(logs);
      returnedAt = System.nanoTime();
    } catch (RuntimeException | Error unexpected) {
      // The worker's own failure around the task: the attempt still fails and is reported, never left
      // running on the server until its heartbeat timeout.
      String message = "the worker failed around the task: " + LogEntry.describe(unexpected);
      LOG.error("{}: {}", label, message);
      logs.add(LogEntry.worker("error", message));
      outcome = new Outcome("failed", message);
    } finally {
      ship.cancel(false); // settle() ships the last lines
      if (timeout != null) {
        timeout.cancel(false);
      }
      returned();
      Thread.interrupted(); // a stop request must not cut the final report short
    }
    // Heartbeats go on until the final state is reported: the last lines may take long to ship (the
    // server away for a moment), and the server fails an attempt that stays silent for its heartbeat timeout.
    try {
      settle(outcome);
    } finally {
      beat.cancel(false);
    }
    if (fatal != null) {
      throw fatal;
    }
  }

  /** The task method has returned: a stop from now on neither interrupts the report nor changes it. */
  private synchronized void returned() {
    returned = true;
  }

  /** Lets the task begin, unless a stop came first (while the attempt was starting): whether it may. */
  private synchronized boolean begin() {
    if (stopKind != null) {
      return false;
    }
    begun = true;
    return true;
  }

  private TaskContext context(TIRunContext started) {
    var run = started.getDagRun();
    return new TaskContext(
        ti.getId(),
        ti.getDagId(),
        ti.getRunId(),
        ti.getTaskId(),
        ti.getMapIndex(),
        ti.getTryNumber(),
        started.getMaxTries(),
        run.getLogicalDate(),
        run.getRunType().getValue(),
        run.getDataIntervalStart(),
        run.getDataIntervalEnd(),
        run.getConf());
  }

  private Outcome execute(LogShipper logs) {
    if (entry == null) {
      String message = "this worker has no task with the entry point '" + workload.getEntryPoint() + "'";
      logs.add(LogEntry.worker("error", message));
      return new Outcome("failed", message);
    }
    TaskLogger logger = new TaskLogger(entry.method().declaringClass().getName(), options.taskLogLevel(), logs::add);
    AttemptClient api = new AttemptClient(client, Invocation.JSON, context, options.secrets());
    Invocation.Scope scope =
        new Invocation.Scope() {
          @Override
          public TaskContext context() {
            return context;
          }

          @Override
          public Logger logger() {
            return logger;
          }

          @Override
          public AttemptClient client() {
            return api;
          }
        };
    try {
      Object result;
      TaskOutput.Binding output = options.captureOutput() ? TaskOutput.bind(logs::add) : null;
      try {
        result = entry.method().invoke(entry.invocation().arguments(scope));
      } finally {
        if (output != null) {
          output.close(); // its last unfinished line goes before the outcome's
        }
      }
      if (result != null && !entry.method().returnsVoid()) {
        Object value;
        try {
          value = Invocation.tree(Invocation.JSON, result);
        } catch (IllegalArgumentException e) {
          String message = "the return value cannot be written as JSON (" + e.getMessage() + ")";
          logs.add(LogEntry.worker("error", "task " + entry.taskId() + " failed: " + message));
          return new Outcome("failed", message);
        }
        if (stopKind == null) {
          // An interrupt the task left set (its own: no stop was asked for) is not the worker's to
          // obey: the push would throw InterruptedException and fail a task that returned normally.
          Thread.interrupted();
        }
        api.pushXCom(AttemptClient.RETURN_VALUE, value);
      }
      return SUCCESS;
    } catch (TaskSkipped skipped) {
      String reason = skipped.getMessage() == null ? "the task threw TaskSkipped" : skipped.getMessage();
      logger.info("task {} skipped: {}", entry.taskId(), reason);
      return new Outcome("skipped", reason);
    } catch (Exception | Error e) {
      if (e instanceof VirtualMachineError jvm && !(e instanceof StackOverflowError)) {
        // Out of memory, most often the task's own doing (and freed as it unwound): the attempt still
        // fails and is reported, then run() throws the error on for the worker's log. Thrown straight
        // on, it left the attempt unreported, running on the server until its heartbeat timeout.
        fatal = jvm;
      }
      trimToTask(e);
      String summary = LogEntry.describe(e);
      logs.add(new LogEntry(OffsetDateTime.now(ZoneOffset.UTC), "error",
          LogEntry.withStackTrace("task " + entry.taskId() + " failed: " + summary, e),
          java.util.Map.of("logger", logger.getName())));
      return new Outcome("failed", summary);
    }
  }

  /** Drops the frames below the task method (reflection and this SDK): the stack shows the task's code. */
  private void trimToTask(Throwable error) {
    StackTraceElement[] frames = error.getStackTrace();
    for (int i = frames.length - 1; i >= 0; i--) {
      if (entry.method().isFrameOf(frames[i])) {
        error.setStackTrace(Arrays.copyOf(frames, i + 1));
        return;
      }
    }
  }

  /**
   * Runs {@code call} on the reporter pool unless its previous run still goes on ({@code running}): a
   * heartbeat or a log batch that waits out a server restart (the attempt's client retries for up to a
   * minute) must hold neither a timer thread — the execution timeouts and stop graces run on them —
   * nor pile up behind itself.
   */
  private void offTimer(AtomicBoolean running, Runnable call) {
    if (!running.compareAndSet(false, true)) {
      return;
    }
    try {
      reporter.execute(
          () -> {
            try {
              call.run();
            } finally {
              running.set(false);
            }
          });
    } catch (RejectedExecutionException shutDown) {
      running.set(false);
    }
  }

  private void heartbeat() {
    if (stopKind != null || beatRefused) {
      return;
    }
    String stale = client.token();
    try {
      client.heartbeat(id(), new TIHeartbeatPayload().hostname(options.hostname()).pid(options.pid()));
    } catch (UnauthorizedException e) {
      if (!renewed(stale, e)) {
        beatRefused(e);
      }
    } catch (ConflictException | NotFoundException | ForbiddenException e) {
      beatRefused(e);
    } catch (BatonException e) {
      LOG.warn("{}: heartbeat failed: {}", label, e.getMessage());
    }
  }

  /**
   * The server refused a heartbeat: the attempt is not its running one. The heartbeats end, and the
   * task is asked to stop unless it has returned (then its final state is reported all the same).
   */
  private void beatRefused(ApiErrorException e) {
    beatRefused = true;
    String answer = "the server answered " + e.status() + " (" + e.reason() + ") to a heartbeat: " + e.serverMessage();
    if (!stop("server", "error", answer + "; stopping the task") && stopKind == null) {
      LOG.warn("{}: {} once the task had returned; its final state is reported still", label, answer);
    }
  }

  /** Asks the task to stop, unless it was asked already, has returned or is settled: whether it asked. */
  private synchronized boolean stop(String kind, String level, String note) {
    if (stopKind != null || returned || settled.get()) {
      return false;
    }
    stopKind = kind;
    LOG.warn("{}: {}", label, note);
    LogShipper logs = shipper;
    if (logs != null) {
      logs.add(LogEntry.worker(level, note));
    }
    if (!begun) {
      return true; // run() sees the stop once the start has been answered, and does not begin the task
    }
    TaskContext running = context;
    if (running != null) {
      running.requestStop(note);
    }
    Thread runner = thread;
    if (runner != null) {
      runner.interrupt();
    }
    long grace = options.stopGrace().toMillis();
    timers.schedule(
        () ->
            reporter.execute(
                () -> {
                  if (!settled.get()) {
                    LOG.warn("{}: the task did not stop within {} ms; abandoning its thread", label, grace);
                    settle(new Outcome("failed", "the task did not stop within " + grace + " ms"));
                  }
                }),
        grace,
        TimeUnit.MILLISECONDS);
    return true;
  }

  private void settle(Outcome outcome) {
    if (!settled.compareAndSet(false, true)) {
      return;
    }
    LogShipper logs = shipper;
    String took = String.format("%.1f s", (System.nanoTime() - began) / 1e9);
    String kind = stopKind;
    if ("server".equals(kind)) {
      closeLogs(logs);
      LOG.warn("{}: stopped by the server after {}", label, took);
      reported.complete(null);
      return;
    }
    Outcome effective = outcome;
    if ("timeout".equals(kind)) {
      effective = new Outcome("failed", "execution timeout of " + workload.getExecutionTimeoutSeconds() + " s exceeded");
    }
    String state;
    if ("hand_back".equals(kind)) {
      state = "up_for_retry";
    } else if (effective.state().equals("success") || effective.state().equals("skipped")) {
      state = effective.state();
    } else {
      state = ti.getTryNumber() < context.maxTries() ? "up_for_retry" : "failed";
    }
    String why = effective.message() != null && !state.equals("success") ? ": " + effective.message() : "";
    logs.add(LogEntry.worker(state.equals("success") || state.equals("skipped") ? "info" : "warning",
        "attempt " + ti.getTryNumber() + " ended after " + took + ": " + state + why));
    if (!closeLogs(logs)) {
      LOG.warn("{}: some log lines could not be shipped", label);
    }
    shippedAt = System.nanoTime();
    reported.complete(finish(state, took, why));
    if (LOG.isDebugEnabled()) {
      long done = System.nanoTime();
      LOG.debug(
          "{}: ms from the claim: picked up {}, started {}, returned {}, logs shipped {}, state reported {}",
          label, ms(pickedUpAt), ms(startedAt), ms(returnedAt), ms(shippedAt), ms(done));
    }
  }

  private String finish(String state, String took, String why) {
    TIStatePayload body =
        new TIStatePayload().state(TIStatePayload.StateEnum.fromValue(state)).endDate(OffsetDateTime.now(ZoneOffset.UTC));
    try {
      TIStateResponse response =
          patiently(
              "reporting the final state",
              () -> {
                String stale = client.token();
                try {
                  return client.finish(id(), body);
                } catch (UnauthorizedException e) {
                  if (!renewed(stale, e)) {
                    throw e;
                  }
                  return client.finish(id(), body);
                }
              });
      String stored = response.getState() == null ? state : response.getState().getValue();
      LOG.info("{}: {} after {}{}", label, stored, took, why);
      return stored;
    } catch (ApiErrorException e) {
      LOG.warn("{}: the server refused the final state {}: {}", label, state, e.getMessage());
    } catch (BatonException e) {
      LOG.error("{}: the final state {} could not be reported: {}", label, state, e.getMessage());
    }
    return null;
  }

  private String ms(long at) {
    return at == 0 ? "-" : String.format("%.1f", (at - claimedAt) / 1e6);
  }

  /**
   * Whether the attempt's token, {@code stale} when {@code refused} answered, had expired (401
   * token_expired: no server answered in its last window, as during a downtime) and is now replaced
   * by a fresh one the worker got with its own credential, or already was, by another of its calls.
   */
  private boolean renewed(String stale, BatonException refused) {
    if (!(refused instanceof UnauthorizedException unauthorized) || !"token_expired".equals(unauthorized.reason())) {
      return false;
    }
    synchronized (renewLock) {
      if (!Objects.equals(client.token(), stale)) {
        return true;
      }
      String fresh;
      try {
        fresh = patiently("renewing the expired token", () -> reissue.token(id(), ti.getTryNumber()));
      } catch (BatonException e) {
        LOG.warn("{}: no fresh token for the expired one: {}", label, e.getMessage());
        return false;
      }
      if (fresh == null) {
        LOG.warn("{}: the server gives the attempt no fresh token", label);
        return false;
      }
      LOG.info("{}: the expired execution token was renewed with the worker's credential", label);
      client.useToken(fresh);
      return true;
    }
  }

  /**
   * {@code call}, retried on transport errors and 5xx answers for up to the report patience; once the
   * worker hurries, the call after it (or this one, cut on its way) is the last try.
   */
  private <T> T patiently(String what, Supplier<T> call) {
    long deadline = System.nanoTime() + options.reportPatience().toNanos();
    long delay = 500;
    while (true) {
      boolean last = hurried;
      try {
        return cuttable(call, last);
      } catch (TransportException | ServerErrorException e) {
        if (last) {
          throw e;
        }
        if (hurried) {
          continue; // cut on its way: one last try
        }
        if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay) > deadline) {
          throw e;
        }
        LOG.warn("{}: {} failed, retrying in {} ms: {}", label, what, delay, e.getMessage());
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
        try {
          while (!hurried && System.nanoTime() < end) {
            Thread.sleep(Math.min(50, Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime()))));
          }
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
        delay = Math.min(delay * 2, 15_000);
      }
    }
  }
}
