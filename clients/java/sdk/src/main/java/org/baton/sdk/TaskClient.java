package org.baton.sdk;

/**
 * Everything a task may reach through the Task Execution API. Declare the narrowest interface a
 * task needs ({@link VariableClient}, {@link ConnectionClient}, {@link XComClient}) or this one.
 */
public interface TaskClient extends VariableClient, ConnectionClient, XComClient {}
