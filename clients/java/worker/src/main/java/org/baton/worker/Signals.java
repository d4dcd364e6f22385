package org.baton.worker;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * SIGTERM and SIGINT (Ctrl-C) as events the worker handles itself, so that the JVM does not begin
 * its shutdown on the first one: the first drains the worker, a second hands its running tasks
 * back at once (a JVM in shutdown ignores further signals, which is why a shutdown hook cannot do
 * this). Through {@code sun.misc.Signal} (module {@code jdk.unsupported}, in every JDK 17), by
 * reflection: javac warns on that API at every use, and the worker compiles with -Werror.
 */
final class Signals {
  private Signals() {}

  /**
   * Calls {@code handler} with 1 on the first SIGTERM or SIGINT, 2 on the second, and so on; false
   * when this JVM cannot handle signals (then its shutdown hooks are all there is).
   */
  static boolean handle(IntConsumer handler) {
    AtomicInteger count = new AtomicInteger();
    try {
      Class<?> signal = Class.forName("sun.misc.Signal");
      Class<?> signalHandler = Class.forName("sun.misc.SignalHandler");
      InvocationHandler calls =
          (Object proxy, Method method, Object[] args) -> {
            switch (method.getName()) {
              case "handle":
                handler.accept(count.incrementAndGet());
                return null;
              case "hashCode":
                return System.identityHashCode(proxy);
              case "equals":
                return proxy == args[0];
              default:
                return "baton-worker signal handler";
            }
          };
      Object proxy = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {signalHandler}, calls);
      Method handle = signal.getMethod("handle", signal, signalHandler);
      for (String name : List.of("TERM", "INT")) {
        handle.invoke(null, signal.getConstructor(String.class).newInstance(name), proxy);
      }
      return true;
    } catch (ReflectiveOperationException | LinkageError | IllegalArgumentException | SecurityException e) {
      return false;
    }
  }
}
