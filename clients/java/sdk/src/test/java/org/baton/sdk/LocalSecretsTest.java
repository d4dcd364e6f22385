package org.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Worker-side secrets: the environment's BATON_VAR_/BATON_CONN_, then the secrets file, read as the Python SDK reads them. */
class LocalSecretsTest {
  @TempDir Path folder;

  private static LocalSecrets env(String... pairs) {
    Map<String, String> environment = new HashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      environment.put(pairs[i], pairs[i + 1]);
    }
    return LocalSecrets.load(environment, null);
  }

  @Test
  void envName_upperCasesAndWritesDotsAndDashesAsUnderscores() {
    assertEquals("BATON_VAR_ETL_LIMITS_MAX", LocalSecrets.envName(LocalSecrets.VARIABLE_PREFIX, "etl.limits-max"));
  }

  @Test
  void variable_fromTheEnvironment_isJson_elsePlainText() {
    LocalSecrets secrets =
        env("BATON_VAR_LIMITS", "{\"rows\": 1000}", "BATON_VAR_REGION", "eu", "BATON_VAR_ODD", "123abc", "BATON_VAR_NOTHING", "null");
    assertEquals(Map.of("rows", 1000), secrets.variable("limits"));
    assertEquals("eu", secrets.variable("region"));
    assertEquals("123abc", secrets.variable("odd"));
    assertNull(secrets.variable("nothing"));
    assertSame(LocalSecrets.NOT_FOUND, secrets.variable("unset"));
  }

  @Test
  void connection_fromAUri_decodesEachPart_andQueryParametersBecomeExtra() {
    Connection conn =
        env("BATON_CONN_WAREHOUSE", "postgres://etl:s3cr%40t@db.internal:5432/dw?sslmode=require&app=a+b")
            .connection("warehouse");
    assertEquals(
        new Connection("warehouse", "postgres", "db.internal", 5432, "etl", "s3cr@t", "dw", Map.of("sslmode", "require", "app", "a b")),
        conn);
    assertFalse(conn.toString().contains("s3cr"), conn.toString());
  }

  @Test
  void connection_fromAUri_withJsonExtra_andMissingParts() {
    Connection conn = env("BATON_CONN_API", "http://api.example?__extra__=%7B%22timeout%22%3A%205%7D").connection("api");
    assertEquals(new Connection("api", "http", "api.example", null, null, null, null, Map.of("timeout", 5)), conn);
  }

  @Test
  void connection_fromAJsonObject() {
    Connection conn =
        env("BATON_CONN_API", " {\"conn_type\": \"http\", \"host\": \"api.example\", \"port\": 443, \"extra\": {\"a\": null}}")
            .connection("api");
    assertEquals("http", conn.connType());
    assertEquals(443, conn.port());
    assertTrue(conn.extra().containsKey("a"));
  }

  @Test
  void connection_malformed_isASecretsExceptionNamingTheVariable_notTheSecret() {
    for (String bad :
        List.of("no-scheme-here", "postgres://h:99999/db", "{\"host\": \"x\"}", "{\"conn_type\": \"x\", \"pasword\": \"secret\"}",
            "{not json secret", "http://h?__extra__=secret")) {
      SecretsException error = assertThrows(SecretsException.class, () -> env("BATON_CONN_BAD", bad).connection("bad"), bad);
      assertTrue(error.getMessage().startsWith("BATON_CONN_BAD"), error.getMessage());
      assertFalse(error.getMessage().contains("secret\""), error.getMessage());
    }
  }

  @Test
  void secretsFile_isAskedAfterTheEnvironment() throws Exception {
    Path file = folder.resolve("secrets.json");
    Files.writeString(
        file,
        "{\"variables\": {\"region\": \"us\", \"limits\": {\"rows\": 5}},"
            + " \"connections\": {\"warehouse\": \"postgres://db:5432/dw\","
            + " \"api\": {\"conn_type\": \"http\", \"host\": \"api.example\", \"extra\": {\"timeout\": 5}}}}");
    LocalSecrets secrets = LocalSecrets.load(Map.of("BATON_VAR_REGION", "eu"), file);
    assertEquals("eu", secrets.variable("region"));
    assertEquals(Map.of("rows", 5), secrets.variable("limits"));
    assertEquals("db", secrets.connection("warehouse").host());
    assertEquals(Map.of("timeout", 5), secrets.connection("api").extra());
    assertNull(secrets.connection("unknown"));
  }

  @Test
  void secretsFile_broken_isRefusedWhenLoaded_withWhatIsWrong() throws Exception {
    Map<String, String> cases = new HashMap<>();
    cases.put("[1, 2]", "must hold a JSON object");
    cases.put("{\"variables\": {}, \"secrets\": {}}", "unknown key 'secrets'");
    cases.put("{\"variables\": []}", "'variables' must be a JSON object");
    cases.put("{\"connections\": {\"db\": \"nope\"}}", "connection 'db' is not a URI");
    cases.put("{\"variables\": {\"a\": 1}", "is not JSON");
    for (Map.Entry<String, String> bad : cases.entrySet()) {
      Path file = folder.resolve("bad.json");
      Files.writeString(file, bad.getKey());
      SecretsException error = assertThrows(SecretsException.class, () -> LocalSecrets.load(Map.of(), file), bad.getKey());
      assertTrue(error.getMessage().contains(bad.getValue()), error.getMessage());
      assertTrue(error.getMessage().contains(file.toString()), error.getMessage());
    }
    Path missing = folder.resolve("missing.json");
    SecretsException error = assertThrows(SecretsException.class, () -> LocalSecrets.load(Map.of(), missing));
    assertTrue(error.getMessage().contains("cannot be read"), error.getMessage());
    assertTrue(Arrays.asList(error.getMessage().split(" ")).contains(missing.toString()), error.getMessage());
  }
}
