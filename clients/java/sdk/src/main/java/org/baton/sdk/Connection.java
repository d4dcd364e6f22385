package org.baton.sdk;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A connection granted to the task's DAG: where a system is and how to log in to it.
 *
 * @param connId the connection's id
 * @param connType its type ({@code postgres}, {@code http}, ...)
 * @param host the host, or null
 * @param port the port, or null
 * @param login the login, or null
 * @param password the password, or null (never printed by {@link #toString()})
 * @param schema the schema (database), or null
 * @param extra other settings, a JSON object
 */
public record Connection(
    String connId,
    String connType,
    String host,
    Integer port,
    String login,
    String password,
    String schema,
    Map<String, Object> extra) {
  /** Copies {@code extra} (JSON: its values may be null). */
  public Connection {
    extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
  }

  @Override
  public String toString() {
    return "Connection(" + connId + ", " + connType + "://" + (login == null ? "" : login + ":***@")
        + host + (port == null ? "" : ":" + port) + (schema == null ? "" : "/" + schema) + ")";
  }
}
