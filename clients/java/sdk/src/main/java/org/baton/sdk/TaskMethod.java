package org.baton.sdk;

import java.lang.invoke.MethodHandleInfo;
import java.lang.invoke.MethodType;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Java method behind a task, found from the method reference (or lambda) given to
 * {@link Dag#addTask}: its receiver, the values a lambda captured, and the parameters to serve.
 *
 * <p>A method reference compiles to a serializable lambda whose {@link SerializedLambda} names the
 * implementing class and method; that is how the SDK reads the declared parameter types (generic
 * ones included) that it injects.
 */
final class TaskMethod {
  /** One parameter to serve: its type and its {@link FromTask}, if any. */
  record Param(int position, Class<?> type, Type genericType, FromTask fromTask) {}

  private final Method method;
  private final Object receiver;
  private final Object[] captured;
  private final boolean lambda;
  final List<Param> params;

  private TaskMethod(Method method, Object receiver, Object[] captured, boolean lambda) {
    this.method = method;
    this.receiver = receiver;
    this.captured = captured;
    this.lambda = lambda;
    Parameter[] declared = method.getParameters();
    Type[] generic = method.getGenericParameterTypes();
    // Synthetic lambda methods may report fewer generic types than parameters: use the raw ones then.
    boolean genericKnown = generic.length == declared.length;
    List<Param> served = new ArrayList<>();
    for (int i = captured.length; i < declared.length; i++) {
      served.add(
          new Param(
              i - captured.length + 1,
              declared[i].getType(),
              genericKnown ? generic[i] : declared[i].getType(),
              declared[i].getAnnotation(FromTask.class)));
    }
    this.params = List.copyOf(served);
  }

  /** The default task id: the method's name; null for a lambda (it needs {@link Task#id}). */
  String name() {
    return lambda ? null : method.getName();
  }

  /** {@code Class::method}, for messages. */
  String label() {
    return method.getDeclaringClass().getSimpleName() + "::" + (lambda ? "(lambda)" : method.getName());
  }

  /** The class that declares the method (its logger's name). */
  Class<?> declaringClass() {
    return method.getDeclaringClass();
  }

  /** Whether the method returns nothing. */
  boolean returnsVoid() {
    return method.getReturnType() == void.class;
  }

  /** Whether {@code element} is this task's method (the frames below it are the SDK's). */
  boolean isFrameOf(StackTraceElement element) {
    return element.getClassName().equals(method.getDeclaringClass().getName())
        && element.getMethodName().equals(method.getName());
  }

  /** Calls the method with the served arguments; exceptions of the task come out as thrown. */
  Object invoke(Object[] served) throws Exception {
    Object[] args = new Object[captured.length + served.length];
    System.arraycopy(captured, 0, args, 0, captured.length);
    System.arraycopy(served, 0, args, captured.length, served.length);
    try {
      return method.invoke(receiver, args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception exception) {
        throw exception;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }

  /** The method behind {@code function}; DagDefinitionException when it cannot be called. */
  static TaskMethod resolve(TaskFunction.Any function, String where) {
    SerializedLambda lambda = serialized(function);
    if (lambda == null) {
      // A class implementing a TaskFunction interface: its own call method.
      Method call =
          Arrays.stream(function.getClass().getMethods())
              .filter(m -> m.getName().equals("call") && !m.isBridge() && !m.isSynthetic())
              .findFirst()
              .orElseThrow(() -> new DagDefinitionException(where + ": " + function + " has no call method"));
      return accessible(new TaskMethod(call, function, new Object[0], false), where);
    }
    ClassLoader loader = function.getClass().getClassLoader();
    Class<?> owner;
    try {
      owner = Class.forName(lambda.getImplClass().replace('/', '.'), false, loader);
    } catch (ClassNotFoundException e) {
      throw new DagDefinitionException(where + ": the class of a task method cannot be loaded: " + e.getMessage());
    }
    Method method = find(owner, lambda.getImplMethodName(), lambda.getImplMethodSignature(), loader, where);
    boolean synthetic = method.isSynthetic() || method.getName().startsWith("lambda$");
    Object[] captured = new Object[lambda.getCapturedArgCount()];
    for (int i = 0; i < captured.length; i++) {
      captured[i] = lambda.getCapturedArg(i);
    }
    int kind = lambda.getImplMethodKind();
    if (kind == MethodHandleInfo.REF_newInvokeSpecial) {
      throw new DagDefinitionException(where + ": a constructor reference cannot be a task method");
    }
    if (Modifier.isStatic(method.getModifiers())) {
      return accessible(new TaskMethod(method, null, captured, synthetic), where);
    }
    if (captured.length == 0) {
      throw new DagDefinitionException(
          where
              + ": "
              + owner.getSimpleName()
              + "::"
              + method.getName()
              + " is an instance method: pass a bound reference (instance::"
              + method.getName()
              + ") or make it static");
    }
    Object receiver = captured[0];
    Object[] rest = Arrays.copyOfRange(captured, 1, captured.length);
    return accessible(new TaskMethod(method, receiver, rest, synthetic), where);
  }

  private static SerializedLambda serialized(Object function) {
    try {
      Method writeReplace = function.getClass().getDeclaredMethod("writeReplace");
      writeReplace.setAccessible(true);
      Object replaced = writeReplace.invoke(function);
      return replaced instanceof SerializedLambda lambda ? lambda : null;
    } catch (NoSuchMethodException notALambda) {
      return null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static Method find(Class<?> owner, String name, String descriptor, ClassLoader loader, String where) {
    MethodType type;
    try {
      type = MethodType.fromMethodDescriptorString(descriptor, loader);
    } catch (IllegalArgumentException | TypeNotPresentException e) {
      throw new DagDefinitionException(where + ": the task method " + name + " cannot be read: " + e.getMessage());
    }
    for (Class<?> c = owner; c != null; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.getName().equals(name)
            && Arrays.equals(m.getParameterTypes(), type.parameterArray())
            && m.getReturnType() == type.returnType()) {
          return m;
        }
      }
    }
    for (Method m : owner.getMethods()) {
      if (m.getName().equals(name) && Arrays.equals(m.getParameterTypes(), type.parameterArray())) {
        return m;
      }
    }
    throw new DagDefinitionException(where + ": the task method " + owner.getName() + "." + name + " was not found");
  }

  private static TaskMethod accessible(TaskMethod task, String where) {
    try {
      task.method.setAccessible(true);
    } catch (RuntimeException e) {
      throw new DagDefinitionException(
          where + ": the task method " + task.label() + " cannot be called: " + e.getMessage());
    }
    return task;
  }
}
