package org.baton.worker;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.baton.client.BatonException;
import org.baton.sdk.Bundle;
import org.baton.sdk.DagDefinitionException;
import org.baton.sdk.Worker;
import org.baton.sdk.WorkerException;
import org.slf4j.event.Level;

/**
 * The Java worker's command line: loads the bundle jars of a folder, registers their DAGs and
 * serves their tasks until SIGTERM or Ctrl-C, which drain it (no new claims; running tasks get the
 * grace period, then are handed back; a second signal hands them back at once).
 *
 * <pre>
 * java -jar baton-worker.jar --bundles DIR [--queue Q ...] [--concurrency N] [--server URL] [--token T]
 *      [--name NAME] [--secrets-file FILE] [--heartbeat-interval S] [--grace-period S] [--stop-grace S]
 *      [--task-log-level L] [--log-level L]
 * </pre>
 *
 * <p>The server and the credential come from {@code --server}/{@code BATON_SERVER_URL} and
 * {@code --token}/{@code BATON_WORKER_TOKEN}. Exit status: 0 after a drain, 1 when the worker
 * cannot go on (the message says why), 2 for a bad command line.
 */
public final class Main {
  static final String USAGE =
      "usage: java -jar baton-worker.jar --bundles DIR [--queue Q ...] [--concurrency N] [--server URL]\n"
          + "       [--token TOKEN] [--name NAME] [--secrets-file FILE] [--heartbeat-interval S] [--grace-period S]\n"
          + "       [--stop-grace S] [--task-log-level debug|info|warn|error] [--log-level debug|info|warn|error]\n"
          + "Serves the Java tasks of the bundle jars in DIR (each lists its org.baton.sdk.Bundle classes in\n"
          + "META-INF/services/org.baton.sdk.Bundle). BATON_SERVER_URL and BATON_WORKER_TOKEN give the server\n"
          + "and the worker credential when --server and --token do not, BATON_SECRETS_FILE the secrets file.\n"
          + "SIGTERM or Ctrl-C drains the worker; a second one hands its running tasks back at once.";

  /** What {@link #run} returns when the JVM is already shutting down: it exits by itself. */
  static final int SHUTTING_DOWN = -1;

  private Main() {}

  /** Runs the worker; exits with its status. */
  public static void main(String[] args) {
    int status = run(args, System.getenv());
    // System.exit, also after a drain: threads a task started and left running (a thread pool never
    // shut down) keep a JVM up that waits for them. Not while the JVM shuts down, though: it would
    // block forever while the shutdown hook that waits for this thread runs.
    if (status != SHUTTING_DOWN) {
      System.exit(status);
    }
  }

  /** Runs the worker: its exit status, or {@link #SHUTTING_DOWN}. */
  static int run(String[] args, Map<String, String> env) {
    Options options;
    try {
      options = Options.parse(args, env);
    } catch (IllegalArgumentException e) {
      System.err.println("baton-worker: " + e.getMessage());
      System.err.println(USAGE);
      return 2;
    }
    if (options == null) {
      System.out.println(USAGE);
      return 0;
    }
    // slf4j-simple reads its level when the first logger is made, which is after this.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", options.logLevel);
    Worker worker;
    try {
      List<Bundle> bundles = loadBundles(options.bundles);
      Worker.Builder builder =
          Worker.builder()
              .serverUrl(options.server)
              .token(options.token)
              .bundles(bundles)
              .concurrency(options.concurrency)
              .heartbeatInterval(options.heartbeatInterval)
              .gracePeriod(options.gracePeriod)
              .stopGrace(options.stopGrace)
              .taskLogLevel(options.taskLogLevel)
              .secretsFile(options.secretsFile);
      builder.queues(options.queues.toArray(String[]::new));
      if (options.name != null) {
        builder.name(options.name);
      }
      worker = builder.build();
    } catch (DagDefinitionException | WorkerException e) {
      System.err.println("baton-worker: " + e.getMessage());
      return 1;
    }
    // SIGTERM and Ctrl-C: the first drains, a second hands the running tasks back at once.
    Signals.handle(count -> worker.drain());
    // Any other shutdown of the JVM (SIGHUP, say) drains too, as far as the JVM lets it.
    Thread main = Thread.currentThread();
    Thread hook =
        new Thread(
            () -> {
              worker.drain();
              // The JVM exits when this hook returns: wait for the drain to finish first.
              try {
                main.join();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "baton-worker-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    int status;
    try {
      worker.run();
      status = 0;
    } catch (BatonException e) {
      System.err.println("baton-worker: " + e.getMessage());
      status = 1;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook waits for this thread, which must not call System.exit now: it would wait forever.
      return SHUTTING_DOWN;
    }
    return status;
  }

  /** Every bundle of every jar in {@code folder}, each jar in a class loader of its own over the SDK's. */
  static List<Bundle> loadBundles(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new WorkerException("the bundle folder " + folder + " does not exist");
    }
    List<Path> jars;
    try (Stream<Path> entries = Files.list(folder)) {
      jars = entries.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
    } catch (IOException e) {
      throw new WorkerException("the bundle folder " + folder + " cannot be read: " + e.getMessage(), e);
    }
    if (jars.isEmpty()) {
      throw new WorkerException("no bundle jar (*.jar) in " + folder);
    }
    List<Bundle> bundles = new ArrayList<>();
    for (Path jar : jars) {
      URL url;
      try {
        url = jar.toUri().toURL();
      } catch (MalformedURLException e) {
        throw new WorkerException("bad bundle path " + jar, e);
      }
      // Never closed: the worker runs the bundle's classes until it exits.
      URLClassLoader loader = new URLClassLoader(new URL[] {url}, Main.class.getClassLoader());
      int found = 0;
      try {
        for (Bundle bundle : ServiceLoader.load(Bundle.class, loader)) {
          if (bundle.getClass().getClassLoader() == loader) {
            bundles.add(bundle);
            found++;
          }
        }
      } catch (ServiceConfigurationError | LinkageError e) {
        throw new WorkerException("the bundle jar " + jar.getFileName() + " cannot be loaded: " + e.getMessage(), e);
      }
      if (found == 0) {
        throw new WorkerException(
            "the jar " + jar.getFileName() + " declares no bundle: list its org.baton.sdk.Bundle classes in"
                + " META-INF/services/org.baton.sdk.Bundle");
      }
    }
    return bundles;
  }

  /** The parsed command line. */
  static final class Options {
    Path bundles;
    final List<String> queues = new ArrayList<>();
    int concurrency = 4;
    String server;
    String token;
    String name;
    Duration heartbeatInterval = Duration.ofSeconds(5);
    Duration gracePeriod = Duration.ofSeconds(60);
    Duration stopGrace = Duration.ofSeconds(10);
    Level taskLogLevel = Level.INFO;
    String logLevel = "info";
    Path secretsFile;

    /** The options, or null for {@code --help}; IllegalArgumentException says what is wrong. */
    static Options parse(String[] args, Map<String, String> env) {
      Options options = new Options();
      options.server = env.get("BATON_SERVER_URL");
      options.token = env.get("BATON_WORKER_TOKEN");
      String secrets = env.get("BATON_SECRETS_FILE");
      options.secretsFile = secrets == null || secrets.isEmpty() ? null : Path.of(secrets);
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (flag.equals("-h") || flag.equals("--help")) {
          return null;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(flag.startsWith("--") ? flag + " needs a value" : "unexpected argument " + flag);
        }
        String value = args[++i];
        switch (flag) {
          case "--bundles":
            options.bundles = Path.of(value);
            break;
          case "--queue":
            options.queues.add(value);
            break;
          case "--concurrency":
            options.concurrency = integer(flag, value);
            break;
          case "--server":
            options.server = value;
            break;
          case "--token":
            options.token = value;
            break;
          case "--secrets-file":
            options.secretsFile = Path.of(value);
            break;
          case "--name":
            options.name = value;
            break;
          case "--heartbeat-interval":
            options.heartbeatInterval = seconds(flag, value);
            break;
          case "--grace-period":
            options.gracePeriod = seconds(flag, value);
            break;
          case "--stop-grace":
            options.stopGrace = seconds(flag, value);
            break;
          case "--task-log-level":
            options.taskLogLevel = level(flag, value);
            break;
          case "--log-level":
            options.logLevel = level(flag, value).name().toLowerCase(Locale.ROOT);
            break;
          default:
            throw new IllegalArgumentException("unknown option " + flag);
        }
      }
      if (options.bundles == null) {
        throw new IllegalArgumentException("--bundles DIR is required");
      }
      if (options.server == null || options.server.isEmpty()) {
        throw new IllegalArgumentException("no server: give --server URL or set BATON_SERVER_URL");
      }
      if (options.token == null || options.token.isEmpty()) {
        throw new IllegalArgumentException("no worker credential: give --token or set BATON_WORKER_TOKEN");
      }
      return options;
    }

    private static Level level(String flag, String value) {
      String name = value.toUpperCase(Locale.ROOT);
      if (name.equals("WARNING")) {
        name = "WARN";
      }
      try {
        Level level = Level.valueOf(name);
        if (level != Level.TRACE) {
          return level;
        }
      } catch (IllegalArgumentException e) {
        // said below
      }
      throw new IllegalArgumentException(flag + " must be debug, info, warn or error, not " + value);
    }

    private static int integer(String flag, String value) {
      try {
        return Integer.parseInt(value);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " needs a whole number, not " + value);
      }
    }

    private static Duration seconds(String flag, String value) {
      try {
        double seconds = Double.parseDouble(value);
        if (!(seconds > 0)) {
          throw new NumberFormatException();
        }
        return Duration.ofMillis((long) Math.ceil(seconds * 1000));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " needs a positive number of seconds, not " + value);
      }
    }
  }
}
