package org.baton.sdk;

import java.io.Serializable;

/**
 * The shapes of task methods that {@link Dag#addTask} accepts: a method reference (or a lambda)
 * with up to six parameters, returning a value (it becomes the task's XCom) or nothing.
 *
 * <p>They are serializable only so that the SDK can find the referenced method and read its
 * parameter types (the injection plan); nothing is ever serialized. Prefer method references
 * ({@code Etl::extract}, {@code service::restock}): a lambda's parameters lose their generic types.
 */
public final class TaskFunction {
  private TaskFunction() {}

  /** What every task method shape is. */
  public interface Any extends Serializable {}

  /** A task method of 0 parameters that returns a value. */
  @FunctionalInterface
  public interface Returning0<R> extends Any {
    /** Runs the task. */
    R call() throws Exception;
  }

  /** A task method of 0 parameters that returns nothing. */
  @FunctionalInterface
  public interface Void0 extends Any {
    /** Runs the task. */
    void call() throws Exception;
  }

  /** A task method of 1 parameter that returns a value. */
  @FunctionalInterface
  public interface Returning1<A, R> extends Any {
    /** Runs the task. */
    R call(A a) throws Exception;
  }

  /** A task method of 1 parameter that returns nothing. */
  @FunctionalInterface
  public interface Void1<A> extends Any {
    /** Runs the task. */
    void call(A a) throws Exception;
  }

  /** A task method of 2 parameters that returns a value. */
  @FunctionalInterface
  public interface Returning2<A, B, R> extends Any {
    /** Runs the task. */
    R call(A a, B b) throws Exception;
  }

  /** A task method of 2 parameters that returns nothing. */
  @FunctionalInterface
  public interface Void2<A, B> extends Any {
    /** Runs the task. */
    void call(A a, B b) throws Exception;
  }

  /** A task method of 3 parameters that returns a value. */
  @FunctionalInterface
  public interface Returning3<A, B, C, R> extends Any {
    /** Runs the task. */
    R call(A a, B b, C c) throws Exception;
  }

  /** A task method of 3 parameters that returns nothing. */
  @FunctionalInterface
  public interface Void3<A, B, C> extends Any {
    /** Runs the task. */
    void call(A a, B b, C c) throws Exception;
  }

  /** A task method of 4 parameters that returns a value. */
  @FunctionalInterface
  public interface Returning4<A, B, C, D, R> extends Any {
    /** Runs the task. */
    R call(A a, B b, C c, D d) throws Exception;
  }

  /** A task method of 4 parameters that returns nothing. */
  @FunctionalInterface
  public interface Void4<A, B, C, D> extends Any {
    /** Runs the task. */
    void call(A a, B b, C c, D d) throws Exception;
  }

  /** A task method of 5 parameters that returns a value. */
  @FunctionalInterface
  public interface Returning5<A, B, C, D, E, R> extends Any {
    /** Runs the task. */
    R call(A a, B b, C c, D d, E e) throws Exception;
  }

  /** A task method of 5 parameters that returns nothing. */
  @FunctionalInterface
  public interface Void5<A, B, C, D, E> extends Any {
    /** Runs the task. */
    void call(A a, B b, C c, D d, E e) throws Exception;
  }

  /** A task method of 6 parameters that returns a value. */
  @FunctionalInterface
  public interface Returning6<A, B, C, D, E, F, R> extends Any {
    /** Runs the task. */
    R call(A a, B b, C c, D d, E e, F f) throws Exception;
  }

  /** A task method of 6 parameters that returns nothing. */
  @FunctionalInterface
  public interface Void6<A, B, C, D, E, F> extends Any {
    /** Runs the task. */
    void call(A a, B b, C c, D d, E e, F f) throws Exception;
  }
}
