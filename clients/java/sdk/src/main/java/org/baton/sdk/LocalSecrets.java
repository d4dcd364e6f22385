package org.baton.sdk;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Worker-side secrets: the variables and connections a worker defines itself, asked before the
 * server, in this order (as the Python and Go workers do):
 *
 * <ol>
 *   <li>the environment: {@code BATON_VAR_<KEY>} holds a variable's value as JSON (text that is not
 *       JSON is taken as a string), {@code BATON_CONN_<ID>} a connection as a URI or a JSON object;
 *       {@code <KEY>}/{@code <ID>} is the key upper-cased, with {@code .} and {@code -} written as
 *       {@code _};
 *   <li>the secrets file ({@code --secrets-file}, {@code BATON_SECRETS_FILE}), a JSON object
 *       {@code {"variables": {...}, "connections": {"id": "URI" or {...}}}}, read once when the
 *       worker is built;
 *   <li>the server, through the Task Execution API.
 * </ol>
 *
 * <p>A connection URI is {@code <type>://<login>:<password>@<host>:<port>/<schema>?<extra>}, every
 * part optional and percent-encoded; query parameters become {@code extra} (strings), and
 * {@code __extra__=<JSON object>} gives an {@code extra} of any JSON.
 */
final class LocalSecrets {
  static final String VARIABLE_PREFIX = "BATON_VAR_";
  static final String CONNECTION_PREFIX = "BATON_CONN_";
  static final String SECRETS_FILE_ENV = "BATON_SECRETS_FILE";
  /** What {@link #variable} returns for a variable the worker does not define (null is a JSON value). */
  static final Object NOT_FOUND = new Object();

  private static final ObjectReader STRICT_JSON =
      Invocation.JSON.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final Set<String> CONNECTION_FIELDS =
      Set.of("conn_type", "host", "port", "login", "password", "schema", "extra");

  private final Map<String, String> environment;
  private final Map<String, JsonNode> variables;
  private final Map<String, JsonNode> connections;

  private LocalSecrets(Map<String, String> environment, Map<String, JsonNode> variables, Map<String, JsonNode> connections) {
    this.environment = environment;
    this.variables = variables;
    this.connections = connections;
  }

  /** The secrets of this environment and of {@code file} (null: none), which is read now. */
  static LocalSecrets load(Map<String, String> environment, Path file) {
    Map<String, JsonNode> variables = new LinkedHashMap<>();
    Map<String, JsonNode> connections = new LinkedHashMap<>();
    if (file != null) {
      JsonNode root;
      try {
        root = STRICT_JSON.readTree(Files.readString(file));
      } catch (JsonProcessingException e) {
        throw new SecretsException("the secrets file " + file + " is not JSON (" + where(e) + ")");
      } catch (IOException e) {
        throw new SecretsException("the secrets file " + file + " cannot be read: " + e, e);
      }
      if (root == null || !root.isObject()) {
        throw new SecretsException("the secrets file " + file + " must hold a JSON object with 'variables' and 'connections'");
      }
      for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!name.equals("variables") && !name.equals("connections")) {
          throw new SecretsException(
              "the secrets file " + file + ": unknown key '" + name + "' (only 'variables' and 'connections')");
        }
      }
      copyObject(file, root, "variables", variables);
      copyObject(file, root, "connections", connections);
      for (Map.Entry<String, JsonNode> entry : connections.entrySet()) {
        // A broken connection is reported when the worker starts, not when a task asks for it.
        connection(entry.getKey(), entry.getValue(), "the secrets file " + file);
      }
    }
    return new LocalSecrets(Map.copyOf(environment), variables, connections);
  }

  /** Where a JSON text breaks; never its content, which may be a secret. */
  private static String where(JsonProcessingException e) {
    var location = e.getLocation();
    return location == null ? "malformed" : "line " + location.getLineNr() + ", column " + location.getColumnNr();
  }

  private static void copyObject(Path file, JsonNode root, String name, Map<String, JsonNode> into) {
    JsonNode section = root.get(name);
    if (section == null || section.isNull()) {
      return;
    }
    if (!section.isObject()) {
      throw new SecretsException("the secrets file " + file + ": '" + name + "' must be a JSON object");
    }
    section.properties().forEach(entry -> into.put(entry.getKey(), entry.getValue()));
  }

  /** The environment variable that overrides {@code key}: the prefix, and the key upper-cased with . and - as _. */
  static String envName(String prefix, String key) {
    return prefix + key.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT);
  }

  /** The variable's JSON value (maps, lists, strings, numbers, booleans, null), or {@link #NOT_FOUND}. */
  Object variable(String key) {
    String raw = environment.get(envName(VARIABLE_PREFIX, key));
    if (raw != null) {
      try {
        return STRICT_JSON.readValue(raw, Object.class);
      } catch (IOException notJson) {
        return raw;
      }
    }
    JsonNode value = variables.get(key);
    return value == null ? NOT_FOUND : Invocation.JSON.convertValue(value, Object.class);
  }

  /** The connection if the worker defines it, else null; {@link SecretsException} if it is malformed. */
  Connection connection(String id) {
    String name = envName(CONNECTION_PREFIX, id);
    String raw = environment.get(name);
    if (raw != null) {
      String text = raw.strip();
      if (!text.startsWith("{")) {
        return fromUri(id, text, name);
      }
      try {
        return connection(id, STRICT_JSON.readTree(text), name);
      } catch (JsonProcessingException e) {
        throw new SecretsException(name + ": not a connection's JSON (" + where(e) + ")");
      }
    }
    JsonNode value = connections.get(id);
    return value == null ? null : connection(id, value, "the secrets file");
  }

  private static Connection connection(String id, JsonNode value, String where) {
    if (value.isTextual()) {
      return fromUri(id, value.asText().strip(), where);
    }
    String what = where + ": connection '" + id + "'";
    if (!value.isObject() || !value.path("conn_type").isTextual()) {
      throw new SecretsException(what + " needs a URI or a JSON object with a string 'conn_type'");
    }
    for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
      String field = names.next();
      if (!CONNECTION_FIELDS.contains(field)) {
        throw new SecretsException(what + ": unknown field '" + field + "'");
      }
    }
    JsonNode port = value.get("port");
    if (port != null && !port.isNull() && !port.canConvertToExactIntegral()) {
      throw new SecretsException(what + ": 'port' must be a whole number");
    }
    JsonNode extra = value.get("extra");
    if (extra != null && !extra.isNull() && !extra.isObject()) {
      throw new SecretsException(what + ": 'extra' must be a JSON object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> extraMap =
        extra == null || extra.isNull() ? Map.of() : Invocation.JSON.convertValue(extra, Map.class);
    return new Connection(
        id,
        value.get("conn_type").asText(),
        text(value, "host"),
        port == null || port.isNull() ? null : port.asInt(),
        text(value, "login"),
        text(value, "password"),
        text(value, "schema"),
        extraMap);
  }

  private static String text(JsonNode object, String field) {
    JsonNode value = object.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  /** A connection from its URI; {@link SecretsException} naming {@code where} when it is not one. */
  static Connection fromUri(String id, String uri, String where) {
    String what = where + ": connection '" + id + "'";
    int schemeEnd = uri.indexOf("://");
    if (schemeEnd <= 0 || !uri.substring(0, schemeEnd).matches("[A-Za-z][A-Za-z0-9+.\\-]*")) {
      throw new SecretsException(what + " is not a URI like type://login:password@host:port/schema");
    }
    String type = uri.substring(0, schemeEnd);
    String rest = uri.substring(schemeEnd + 3);
    String query = null;
    int mark = rest.indexOf('?');
    if (mark >= 0) {
      query = rest.substring(mark + 1);
      rest = rest.substring(0, mark);
    }
    int fragment = rest.indexOf('#');
    if (fragment >= 0) {
      rest = rest.substring(0, fragment);
    }
    String path = null;
    int slash = rest.indexOf('/');
    if (slash >= 0) {
      path = rest.substring(slash + 1);
      rest = rest.substring(0, slash);
    }
    String login = null;
    String password = null;
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      String user = rest.substring(0, at);
      rest = rest.substring(at + 1);
      int colon = user.indexOf(':');
      login = colon >= 0 ? user.substring(0, colon) : user;
      password = colon >= 0 ? decode(user.substring(colon + 1)) : null;
      login = login.isEmpty() ? null : decode(login);
    }
    String host = rest;
    Integer port = null;
    int portColon = host.startsWith("[") ? host.indexOf(':', Math.max(host.indexOf(']'), 0)) : host.lastIndexOf(':');
    if (portColon >= 0) {
      String digits = host.substring(portColon + 1);
      host = host.substring(0, portColon);
      if (!digits.isEmpty()) {
        if (!digits.matches("[0-9]{1,5}") || Integer.parseInt(digits) > 65535) {
          throw new SecretsException(what + ": bad port '" + digits + "'");
        }
        port = Integer.parseInt(digits);
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    Map<String, Object> extra = new LinkedHashMap<>();
    if (query != null && !query.isEmpty()) {
      for (String pair : query.split("&")) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        String key = URLDecoder.decode(eq >= 0 ? pair.substring(0, eq) : pair, StandardCharsets.UTF_8);
        String value = eq >= 0 ? URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8) : "";
        if (key.equals("__extra__")) {
          JsonNode parsed;
          try {
            parsed = STRICT_JSON.readTree(value);
          } catch (JsonProcessingException e) {
            throw new SecretsException(what + ": __extra__ is not JSON");
          }
          if (parsed == null || !parsed.isObject()) {
            throw new SecretsException(what + ": __extra__ must be a JSON object");
          }
          @SuppressWarnings("unchecked")
          Map<String, Object> values = Invocation.JSON.convertValue(parsed, Map.class);
          extra.putAll(values);
        } else {
          extra.put(key, value);
        }
      }
    }
    return new Connection(
        id,
        type,
        host.isEmpty() ? null : decode(host),
        port,
        login,
        password,
        path == null || path.isEmpty() ? null : decode(path),
        extra);
  }

  /** Percent-decoding as in a URI's path ({@code +} stays a plus). */
  private static String decode(String text) {
    return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
