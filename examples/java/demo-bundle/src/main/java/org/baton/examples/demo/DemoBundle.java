package org.baton.examples.demo;

import org.baton.sdk.Bundle;
import org.baton.sdk.DagRegistry;

/**
 * The Java part of the demo DAG {@code example_etl}: its Python bundle (examples/python) describes
 * the DAG and declares the task {@code summarize} with runtime {@code java} and the entry point
 * {@code org.baton.examples.demo.DemoBundle:example_etl/summarize}; this bundle serves it.
 */
public final class DemoBundle implements Bundle {
  @Override
  public void registerDags(DagRegistry registry) {
    registry.tasksFor("example_etl").queue("java").addTask(Summary::summarize);
  }
}
