package org.baton.sdk;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.baton.client.BatonClient;
import org.baton.client.NotFoundException;
import org.baton.client.generated.model.ConnectionResponse;

/**
 * The {@link TaskClient} of one attempt: the façade's calls with the attempt's token (refreshed
 * by the client as the server hands out new ones), values read and written through Jackson.
 */
final class AttemptClient implements TaskClient {
  static final String RETURN_VALUE = "return_value";

  private final BatonClient client;
  private final ObjectMapper json;
  private final TaskContext context;
  private final LocalSecrets secrets;

  AttemptClient(BatonClient client, ObjectMapper json, TaskContext context, LocalSecrets secrets) {
    this.client = client;
    this.json = json;
    this.context = context;
    this.secrets = secrets;
  }

  /** The worker's own value of a variable (environment, secrets file), else the server's. */
  private Object variable(String key) {
    Object local = secrets.variable(key);
    return local != LocalSecrets.NOT_FOUND ? local : client.getVariable(key);
  }

  @Override
  public <T> T getVariable(String key, Class<T> type) {
    try {
      return json.convertValue(variable(key), type);
    } catch (NotFoundException e) {
      throw new VariableNotFoundException(key, e);
    }
  }

  @Override
  public <T> T getVariable(String key, Class<T> type, T fallback) {
    try {
      return json.convertValue(variable(key), type);
    } catch (NotFoundException e) {
      return fallback;
    }
  }

  @Override
  public void setVariable(String key, Object value) {
    client.setVariable(key, Invocation.tree(json, value));
  }

  @Override
  public Connection getConnection(String connectionId) {
    Connection local = secrets.connection(connectionId);
    if (local != null) {
      return local;
    }
    ConnectionResponse found;
    try {
      found = client.getConnection(connectionId);
    } catch (NotFoundException e) {
      throw new ConnectionNotFoundException(connectionId, e);
    }
    return new Connection(
        found.getConnId(),
        found.getConnType(),
        found.getHost(),
        found.getPort(),
        found.getLogin(),
        found.getPassword(),
        found.getSchema(),
        found.getExtra());
  }

  @Override
  public void pushXCom(String key, Object value) {
    BatonClient.XComRef ref =
        new BatonClient.XComRef(context.dagId(), context.runId(), context.taskId(), key, context.mapIndex());
    client.pushXCom(ref, Invocation.tree(json, value));
  }

  /** The raw JSON value of an XCom of this run, or null when there is none. */
  Object pullRaw(String taskId, String key) {
    try {
      return client.pullXCom(new BatonClient.XComRef(context.dagId(), context.runId(), taskId, key));
    } catch (NotFoundException e) {
      return null;
    }
  }

  /** An XCom of this run read as {@code type}, or null. */
  Object pull(String taskId, String key, JavaType type) {
    Object raw = pullRaw(taskId, key);
    return raw == null ? null : json.convertValue(raw, type);
  }

  @Override
  public <T> T pullXCom(String taskId, Class<T> type) {
    return pullXCom(taskId, RETURN_VALUE, type);
  }

  @Override
  public <T> T pullXCom(String taskId, String key, Class<T> type) {
    Object raw = pullRaw(taskId, key);
    return raw == null ? null : json.convertValue(raw, type);
  }

  @Override
  public <T> T pullXCom(String taskId, String key, TypeReference<T> type) {
    Object raw = pullRaw(taskId, key);
    return raw == null ? null : json.convertValue(raw, type);
  }
}
