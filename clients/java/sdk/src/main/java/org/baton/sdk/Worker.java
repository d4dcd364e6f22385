package org.baton.sdk;

import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.baton.client.BatonClient;
import org.baton.client.BatonException;
import org.baton.client.ForbiddenException;
import org.baton.client.InvalidRequestException;
import org.baton.client.NotFoundException;
import org.baton.client.RetryPolicy;
import org.baton.client.ServerErrorException;
import org.baton.client.ServerTooOldException;
import org.baton.client.TransportException;
import org.baton.client.UnauthorizedException;
import org.baton.client.VersionMismatchException;
import org.baton.client.generated.ApiException;
import org.baton.client.generated.api.WorkersApi;
import org.baton.client.generated.model.ClaimWorkloadsPayload;
import org.baton.client.generated.model.DagDescription;
import org.baton.client.generated.model.ExecuteTaskWorkload;
import org.baton.client.generated.model.RegisterDagsPayload;
import org.baton.client.generated.model.RegisterWorkerPayload;
import org.baton.client.generated.model.TaskToken;
import org.baton.client.generated.model.TaskTokens;
import org.baton.client.generated.model.TaskTokensPayload;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A Baton worker for Java tasks: registers itself and its bundles' DAGs, claims workloads for its
 * queues while it has free slots, runs each attempt on a bounded pool of threads (see
 * {@link Attempt} for one attempt's lifecycle), and drains when stopped.
 *
 * <p>The runnable worker ({@code baton-worker.jar}) is this class behind a command line; an
 * application serves its own tasks from its own JVM ("tasks as RPC") with the same class:
 *
 * <pre>{@code
 * Worker worker = Worker.builder().serverUrl(url).token(workerToken).bundle(new InventoryBundle(stock)).build();
 * worker.start();   // returns once the worker and its DAGs are registered
 * ...
 * worker.stop();    // drains: no new claims; running tasks finish (handed back after the grace period)
 * }</pre>
 *
 * <p>Transport errors never stop a worker: registration and claims are retried with backoff until
 * the server answers, final states for up to five minutes. A refused credential, a server too old
 * for this client ("upgrade the server") or a DAG the server refuses stops it with a
 * {@link WorkerException}.
 */
public final class Worker {
  private static final Logger LOG = LoggerFactory.getLogger("baton.worker");
  private static final int MAX_DAGS_PER_REGISTRATION = 1000;

  private final Builder settings;
  private final Catalog catalog;
  private final List<String> queues;
  private final String name;
  private final Attempt.Options options;
  private final BatonClient client;
  private final BatonClient tasks;
  private final Semaphore slots;
  private final Set<Attempt> running = ConcurrentHashMap.newKeySet();
  /**
   * The attempts whose thread has not ended, which every claim lists: an abandoned attempt (a task
   * that ignored its stop) is reported while its thread runs on, and the server keeps a stopped
   * attempt's pool slot until the worker no longer lists it.
   */
  private final Set<Attempt> held = ConcurrentHashMap.newKeySet();
  private final Map<String, AtomicInteger> results = new ConcurrentHashMap<>();
  private final CountDownLatch ready = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final ScheduledExecutorService timers;
  private final ExecutorService reporter;
  private final ThreadPoolExecutor pool;
  private volatile boolean draining;
  private volatile boolean handBackNow;
  private volatile Thread loop;
  private volatile UUID workerId;
  private volatile Throwable failure;

  private Worker(Builder builder) {
    this.settings = builder;
    this.catalog = Catalog.of(builder.bundles);
    if (catalog.tasks.isEmpty()) {
      throw new WorkerException("the worker's bundles define no task");
    }
    if (!builder.queues.isEmpty()) {
      this.queues = List.copyOf(builder.queues);
    } else if (!catalog.queues.isEmpty()) {
      this.queues = List.copyOf(catalog.queues);
    } else {
      this.queues = List.of("default");
    }
    String host = hostname();
    long pid = ProcessHandle.current().pid();
    this.name = builder.name != null ? Ids.check("worker", "name", builder.name) : defaultName(host, pid);
    this.options =
        new Attempt.Options(
            builder.serverUrl,
            host,
            (int) pid,
            System.getProperty("user.name", "unknown"),
            builder.heartbeatInterval,
            builder.stopGrace,
            builder.reportPatience,
            builder.logInterval,
            builder.taskLogLevel,
            secrets(builder),
            builder.captureOutput);
    // The claim's long poll must end before the client's read timeout.
    Duration timeout = builder.claimWait.plusSeconds(30);
    try {
      this.client =
          BatonClient.builder()
              .baseUrl(builder.serverUrl)
              .token(builder.token)
              .retryPolicy(builder.retry != null ? builder.retry : RetryPolicy.DEFAULT)
              .timeout(timeout)
              .build();
    } catch (IllegalArgumentException badUrl) { // a URL no request can reach
      throw new WorkerException(badUrl.getMessage());
    }
    // The attempts' clients share one set of connections, apart from the claim's long poll. Tasks call
    // the API through them: they ride out a server that restarts under them (RetryPolicy.TASK).
    this.tasks =
        BatonClient.builder()
            .baseUrl(builder.serverUrl)
            .retryPolicy(builder.retry != null ? builder.retry : RetryPolicy.TASK)
            .build();
    this.slots = new Semaphore(builder.concurrency);
    this.timers = new ScheduledThreadPoolExecutor(2, daemons("baton-timer"));
    this.reporter = Executors.newCachedThreadPool(daemons("baton-report"));
    this.pool =
        new ThreadPoolExecutor(
            builder.concurrency, builder.concurrency, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), daemons("baton-task"));
  }

  private static LocalSecrets secrets(Builder builder) {
    try {
      return LocalSecrets.load(builder.environment, builder.secretsFile);
    } catch (SecretsException e) {
      throw new WorkerException(e.getMessage(), e);
    }
  }

  /** A builder; {@code serverUrl}, {@code token} and at least one bundle are required. */
  public static Builder builder() {
    return new Builder();
  }

  private static ThreadFactory daemons(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  private static String hostname() {
    String env = System.getenv("HOSTNAME");
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return env != null && !env.isEmpty() ? env : "localhost";
    }
  }

  private static String defaultName(String host, long pid) {
    String raw = (host + "-" + pid).replaceAll("[^A-Za-z0-9_.\\-]", "-").replaceAll("^[.\\-]+", "");
    return raw.length() > 250 ? raw.substring(0, 250) : raw;
  }

  /** The worker's name (its host and pid by default). */
  public String name() {
    return name;
  }

  /** The queues it claims from: those given, else every queue its tasks are on. */
  public List<String> queues() {
    return queues;
  }

  /** The server's id of this worker, once registered (else null). */
  public UUID workerId() {
    return workerId;
  }

  /** How many attempts ended in each reported state ({@code not_reported} for the others). */
  public Map<String, Integer> results() {
    Map<String, Integer> copy = new java.util.TreeMap<>();
    results.forEach((state, count) -> copy.put(state, count.get()));
    return copy;
  }

  /** Serves in a background thread; returns once registered (within 60 s), else throws why not. */
  public void start() {
    start(Duration.ofSeconds(60));
  }

  /** Serves in a background thread; returns once registered within {@code timeout}, else throws why not. */
  public void start(Duration timeout) {
    synchronized (this) {
      if (loop != null) {
        throw new WorkerException("this worker was already started");
      }
      loop = new Thread(this::serveQuietly, "baton-worker-" + name);
      loop.setDaemon(true);
      loop.start();
    }
    try {
      if (!ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && failure == null) {
        drain();
        throw new WorkerException("the worker did not register with " + settings.serverUrl + " within " + timeout);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      drain();
      throw new WorkerException("interrupted while starting the worker", e);
    }
    if (failure != null) {
      throw failure instanceof WorkerException w ? w : new WorkerException(failure.getMessage(), failure);
    }
  }

  private void serveQuietly() {
    try {
      serve();
    } catch (RuntimeException | Error e) {
      failure = e;
      ready.countDown();
    }
  }

  /** Serves on the calling thread until drained; throws {@link WorkerException} when it cannot go on. */
  public void run() {
    synchronized (this) {
      if (loop != null) {
        throw new WorkerException("this worker was already started");
      }
      loop = Thread.currentThread();
    }
    serve();
  }

  /**
   * Stops claiming; running tasks get the grace period to finish, then are handed back. Called
   * again, hands them back at once and cuts every wait for the server short: a start, the last log
   * lines or a final state the server has not taken gets one last try of 5 s, then is given up.
   * Returns at once.
   */
  public void drain() {
    if (draining) {
      if (!handBackNow) {
        handBackNow = true;
        LOG.warn("stopping again: running tasks are handed back now; a start, log lines or a final state the server "
            + "has not taken get one last try of {} s, then are given up", Attempt.LAST_TRY.toSeconds());
      }
      return;
    }
    draining = true;
    LOG.info("draining: no new claims; running tasks have {} s to finish (stopping again hands them back now)",
        settings.gracePeriod.toSeconds());
    Thread thread = loop;
    if (thread != null && thread != Thread.currentThread()) {
      thread.interrupt(); // ends a claim's long poll
    }
  }

  /** Drains and waits until the worker has stopped (at once if it never started). */
  public void stop() {
    if (loop == null) {
      return;
    }
    drain();
    awaitTermination(settings.gracePeriod.plus(settings.stopGrace).plus(settings.reportPatience));
  }

  /** Waits up to {@code timeout} for the worker to stop; whether it did. */
  public boolean awaitTermination(Duration timeout) {
    try {
      return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private void serve() {
    if (settings.captureOutput) {
      TaskOutput.install();
    }
    try {
      if (!untilDrained("registering", this::register)) {
        return;
      }
      for (Catalog.BundleDags bundle : catalog.registrations) {
        List<DagDescription> dags = bundle.dags();
        for (int start = 0; start < dags.size(); start += MAX_DAGS_PER_REGISTRATION) {
          RegisterDagsPayload payload =
              new RegisterDagsPayload()
                  .bundleName(bundle.bundleName())
                  .dags(dags.subList(start, Math.min(dags.size(), start + MAX_DAGS_PER_REGISTRATION)));
          if (!untilDrained("registering DAGs", () -> client.registerDags(payload))) {
            return;
          }
        }
      }
      int dagCount = catalog.registrations.stream().mapToInt(b -> b.dags().size()).sum();
      LOG.info(
          "registered worker {} ({}) serving {} on {}: {} DAG(s), {} task(s), {} slot(s)",
          name, workerId, String.join(", ", queues), settings.serverUrl, dagCount, catalog.tasks.size(), settings.concurrency);
      ready.countDown();
      long beat = settings.heartbeatInterval.toMillis();
      var heartbeat = timers.scheduleWithFixedDelay(this::heartbeat, beat, beat, TimeUnit.MILLISECONDS);
      try {
        claimLoop();
      } finally {
        drainRunning();
        heartbeat.cancel(false);
      }
    } finally {
      timers.shutdownNow();
      reporter.shutdown();
      pool.shutdown();
      LOG.info("worker {} stopped", name);
      stopped.countDown();
    }
  }

  private Object register() {
    RegisterWorkerPayload payload =
        new RegisterWorkerPayload()
            .name(name)
            .queues(queues)
            .capacity(settings.concurrency)
            .runtime(Catalog.RUNTIME)
            .hostname(options.hostname());
    workerId = client.registerWorker(payload).getId();
    return workerId;
  }

  /** {@code call}, retried with backoff on transport errors and 5xx; false if draining began first. */
  private boolean untilDrained(String what, Supplier<Object> call) {
    long delay = 500;
    while (!draining) {
      try {
        call.get();
        return true;
      } catch (UnauthorizedException | ForbiddenException e) {
        throw new WorkerException("the server refused the worker credential while " + what + ": " + e.getMessage(), e);
      } catch (ServerTooOldException e) {
        throw new WorkerException(e.serverMessage() + " (this worker speaks API version " + BatonClient.API_VERSION + ")", e);
      } catch (VersionMismatchException | InvalidRequestException e) {
        throw new WorkerException("the server refused " + what + ": " + e.getMessage(), e);
      } catch (TransportException | ServerErrorException e) {
        if (draining) {
          return false;
        }
        LOG.warn("{} failed, retrying in {} ms: {}", what, delay, e.getMessage());
      }
      if (!sleepUnlessDraining(delay)) {
        return false;
      }
      delay = Math.min(delay * 2, 15_000);
    }
    return false;
  }

  private boolean sleepUnlessDraining(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      // drain() interrupts the loop: go on to check why.
    }
    return !draining;
  }

  private void heartbeat() {
    try {
      client.heartbeatWorker(workerId);
    } catch (NotFoundException e) {
      LOG.warn("the server no longer knows this worker: registering again");
      try {
        register();
      } catch (BatonException again) {
        LOG.warn("registering again failed: {}", again.getMessage());
      }
    } catch (BatonException e) {
      LOG.warn("worker heartbeat failed: {}", e.getMessage());
    }
  }

  private void claimLoop() {
    long delay = 500;
    BigDecimal wait = BigDecimal.valueOf(settings.claimWait.toMillis()).movePointLeft(3);
    while (!draining) {
      int free = slots.availablePermits();
      if (free <= 0) {
        try {
          if (slots.tryAcquire(500, TimeUnit.MILLISECONDS)) {
            slots.release();
          }
        } catch (InterruptedException e) {
          // drain() interrupts the loop.
        }
        continue;
      }
      List<ExecuteTaskWorkload> workloads;
      try {
        // What this worker holds: a workload the server assigned to it whose claim answer was lost is
        // not listed, so it goes back to the queue now instead of after the claim timeout.
        List<UUID> ids = new ArrayList<>();
        for (Attempt attempt : held) {
          ids.add(attempt.id());
        }
        ClaimWorkloadsPayload payload =
            new ClaimWorkloadsPayload().maxWorkloads(Math.min(free, 100)).waitSeconds(wait).heldTaskInstanceIds(ids);
        workloads = client.claimWorkloads(workerId, payload).getWorkloads();
        delay = 500;
      } catch (NotFoundException e) {
        LOG.warn("the server no longer knows this worker: registering again");
        untilDrained("registering", this::register);
        continue;
      } catch (UnauthorizedException | ForbiddenException e) {
        throw new WorkerException("the server refused the worker credential: " + e.getMessage(), e);
      } catch (BatonException e) {
        if (draining) {
          break;
        }
        LOG.warn("claiming failed, retrying in {} ms: {}", delay, e.getMessage());
        sleepUnlessDraining(delay);
        delay = Math.min(delay * 2, 15_000);
        continue;
      }
      for (ExecuteTaskWorkload workload : workloads) {
        launch(workload);
      }
    }
    Thread.interrupted(); // the interrupt that ended the long poll must not cut the drain short
  }

  /**
   * A fresh execution token for an attempt this worker runs, asked with the worker's own credential
   * (after the attempt's token expired); null when the server gives none.
   */
  private String reissueToken(UUID taskInstanceId, int tryNumber) {
    UUID id = workerId;
    if (id == null) {
      return null;
    }
    TaskTokensPayload payload = new TaskTokensPayload().taskInstanceIds(List.of(taskInstanceId));
    TaskTokens answer;
    try {
      // The generated API itself: the operation is of API version 2026-12-02 on, and BatonClient builds
      // over every version's generated client (the conformance runners), this worker only over the newest.
      answer = new WorkersApi(client.apiClient()).reissueTaskTokens(id, payload);
    } catch (ApiException e) {
      // Error statuses were thrown typed by the client's raiseOnError; what is left is a transport failure.
      throw new TransportException("reissueTaskTokens: " + e.getMessage(), e.getCause() != null ? e.getCause() : e);
    }
    for (TaskToken fresh : answer.getTokens()) {
      if (taskInstanceId.equals(fresh.getTaskInstanceId()) && Integer.valueOf(tryNumber).equals(fresh.getTryNumber())) {
        return fresh.getToken();
      }
    }
    return null;
  }

  private void launch(ExecuteTaskWorkload workload) {
    slots.acquireUninterruptibly();
    Catalog.TaskEntry entry = catalog.tasks.get(workload.getEntryPoint());
    Attempt attempt = new Attempt(workload, entry, options, timers, reporter, tasks, this::reissueToken);
    LOG.info("claimed {}", attempt.label);
    held.add(attempt);
    running.add(attempt);
    attempt.reported.whenComplete(
        (state, error) -> {
          running.remove(attempt);
          results.computeIfAbsent(state == null ? "not_reported" : state, s -> new AtomicInteger()).incrementAndGet();
        });
    pool.execute(
        () -> {
          try {
            attempt.run();
          } catch (RuntimeException | Error e) {
            LOG.error("{}: supervisor failed: {}", attempt.label, e.toString());
            attempt.reported.complete(null);
          } finally {
            held.remove(attempt); // its thread is free: the task has really ended
            slots.release();
          }
        });
  }

  private void drainRunning() {
    if (running.isEmpty()) {
      return;
    }
    LOG.info("waiting up to {} s for {} running task(s)", settings.gracePeriod.toSeconds(), running.size());
    long deadline = System.nanoTime() + settings.gracePeriod.toNanos();
    while (!running.isEmpty() && !handBackNow && System.nanoTime() < deadline) {
      sleepQuietly(100);
    }
    if (!running.isEmpty()) {
      LOG.warn("handing back {} task(s) still running", running.size());
      for (Attempt attempt : new ArrayList<>(running)) {
        attempt.handBack();
      }
      long last = System.nanoTime() + settings.stopGrace.plus(settings.reportPatience).toNanos();
      boolean hurried = false;
      while (!running.isEmpty() && System.nanoTime() < last) {
        if (handBackNow && !hurried) {
          // Stopped again, during the grace period or after it: every wait for the server is cut short.
          hurried = true;
          for (Attempt attempt : new ArrayList<>(running)) {
            attempt.hurry();
          }
        }
        sleepQuietly(100);
      }
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Builds a {@link Worker}; every duration must be positive. */
  public static final class Builder {
    private String serverUrl;
    private String token;
    private final List<Bundle> bundles = new ArrayList<>();
    private final Set<String> queues = new LinkedHashSet<>();
    private int concurrency = 4;
    private String name;
    private Duration heartbeatInterval = Duration.ofSeconds(5);
    private Duration gracePeriod = Duration.ofSeconds(60);
    private Duration stopGrace = Duration.ofSeconds(10);
    private Duration claimWait = Duration.ofSeconds(10);
    private Duration logInterval = Duration.ofSeconds(1);
    private Duration reportPatience = Duration.ofMinutes(5);
    private RetryPolicy retry; // null: RetryPolicy.DEFAULT for the worker's requests, TASK for its attempts'
    private Level taskLogLevel = Level.INFO;
    private Path secretsFile;
    private Map<String, String> environment = System.getenv();
    private boolean captureOutput = true;

    private Builder() {}

    /** The server's base URL, e.g. {@code http://127.0.0.1:8080}. */
    public Builder serverUrl(String serverUrl) {
      this.serverUrl = Objects.requireNonNull(serverUrl, "serverUrl").replaceAll("/+$", "");
      return this;
    }

    /** The worker credential ({@code baton-server create-worker-credential}). */
    public Builder token(String token) {
      this.token = Objects.requireNonNull(token, "token");
      return this;
    }

    /** A bundle whose DAGs the worker registers and whose tasks it runs. */
    public Builder bundle(Bundle bundle) {
      bundles.add(Objects.requireNonNull(bundle, "bundle"));
      return this;
    }

    /** Several bundles. */
    public Builder bundles(List<? extends Bundle> bundles) {
      bundles.forEach(this::bundle);
      return this;
    }

    /** The queues to claim from; by default every queue the bundles' tasks are on. */
    public Builder queues(String... queues) {
      for (String queue : queues) {
        this.queues.add(Ids.check("worker", "queue", queue));
      }
      return this;
    }

    /** How many tasks run at once (the pool's size, and the capacity the worker registers); 4 by default. */
    public Builder concurrency(int concurrency) {
      if (concurrency < 1) {
        throw new WorkerException("concurrency must be at least 1, not " + concurrency);
      }
      this.concurrency = concurrency;
      return this;
    }

    /** The worker's name; {@code <hostname>-<pid>} by default. */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /** Between two heartbeats, of the worker and of each task; 5 s by default. */
    public Builder heartbeatInterval(Duration interval) {
      this.heartbeatInterval = positive("heartbeatInterval", interval);
      return this;
    }

    /** How long running tasks may finish when the worker drains; 60 s by default. */
    public Builder gracePeriod(Duration grace) {
      this.gracePeriod = positive("gracePeriod", grace);
      return this;
    }

    /** How long an interrupted task may take to stop before it is abandoned; 10 s by default. */
    public Builder stopGrace(Duration grace) {
      this.stopGrace = positive("stopGrace", grace);
      return this;
    }

    /** How long one claim waits for work on the server (long poll); 10 s by default. */
    public Builder claimWait(Duration wait) {
      this.claimWait = positive("claimWait", wait);
      return this;
    }

    /** Between two log uploads of a running task; 1 s by default. */
    public Builder logInterval(Duration interval) {
      this.logInterval = positive("logInterval", interval);
      return this;
    }

    /** How long the start and the final state are retried while the server cannot be reached; 5 min. */
    public Builder reportPatience(Duration patience) {
      this.reportPatience = positive("reportPatience", patience);
      return this;
    }

    /**
     * How each request is retried on transport errors and 5xx answers; by default {@link
     * RetryPolicy#DEFAULT} for the worker's own requests and {@link RetryPolicy#TASK} for its attempts'
     * (which the tasks' own calls go through).
     */
    public Builder retryPolicy(RetryPolicy retry) {
      this.retry = Objects.requireNonNull(retry, "retry");
      return this;
    }

    /** The lowest level of the tasks' Logger lines that reach their logs; INFO by default. */
    public Builder taskLogLevel(Level level) {
      this.taskLogLevel = Objects.requireNonNull(level, "level");
      return this;
    }

    /**
     * The worker's secrets file (JSON: {@code {"variables": {...}, "connections": {...}}}), asked
     * after the environment's {@code BATON_VAR_*}/{@code BATON_CONN_*} and before the server; read
     * when the worker is built. None by default.
     */
    public Builder secretsFile(Path file) {
      this.secretsFile = file;
      return this;
    }

    /** The environment whose {@code BATON_VAR_*}/{@code BATON_CONN_*} the tasks see first; the JVM's by default. */
    public Builder environment(Map<String, String> environment) {
      this.environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
      return this;
    }

    /**
     * Whether what a task prints to {@code System.out}/{@code System.err} (from its thread, or a
     * thread it starts) becomes lines of its log; true by default. Other threads' output is not
     * touched either way.
     */
    public Builder captureStandardStreams(boolean capture) {
      this.captureOutput = capture;
      return this;
    }

    private static Duration positive(String what, Duration value) {
      if (value == null || value.isNegative() || value.isZero()) {
        throw new WorkerException(what + " must be positive, not " + value);
      }
      return value;
    }

    /** The worker: its bundles' DAGs are registered and checked now (DagDefinitionException). */
    public Worker build() {
      if (serverUrl == null || token == null) {
        throw new WorkerException("a worker needs a server URL and a worker token");
      }
      if (bundles.isEmpty()) {
        throw new WorkerException("a worker needs at least one bundle");
      }
      return new Worker(this);
    }
  }
}
