package org.baton.sdk;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Binds a task method's parameter to an XCom of another task of the same DAG run, read through
 * Jackson into the parameter's type; that task becomes an upstream task of this one.
 *
 * <pre>{@code
 * static Report report(@FromTask("extract") List<Order> orders, @FromTask(value = "load", key = "rows") int rows)
 * }</pre>
 *
 * <p>The value is {@code null} when the task pushed nothing (it returned nothing or null, or did
 * not succeed under {@link TriggerRule#ALL_DONE}).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.PARAMETER)
public @interface FromTask {
  /** The upstream task's id. */
  String value();

  /** The XCom's key: the task's return value by default. */
  String key() default "return_value";
}
