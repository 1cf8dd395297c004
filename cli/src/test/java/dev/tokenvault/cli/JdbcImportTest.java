package dev.tokenvault.cli;

import static dev.tokenvault.cli.CommandsTest.json;
import static dev.tokenvault.cli.CommandsTest.zohoToken;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code import --from jdbc} against a real MariaDB server (the SDKs' DBStore schema). The server comes from
 * {@code TOKENVAULT_TEST_JDBC_URL}, {@code _USER} and {@code _PASSWORD}, which {@code .ci/mariadb.sh start} prints.
 * Without the URL these tests are skipped with a message, except under {@code CI=true}, where they fail; a URL that
 * is set but unreachable always fails.
 */
class JdbcImportTest {
    static String url;
    static String user;
    static String password;
    static String table;
    static final String SKIPPED = "SKIPPED: the JDBC import tests need a MariaDB server; start one with "
            + "eval \"$(.ci/mariadb.sh start)\" (sets TOKENVAULT_TEST_JDBC_URL)";

    @TempDir
    Path dir;
    CliHarness cli;

    @BeforeAll
    static void server() {
        url = System.getenv("TOKENVAULT_TEST_JDBC_URL");
        user = System.getenv("TOKENVAULT_TEST_JDBC_USER");
        password = System.getenv("TOKENVAULT_TEST_JDBC_PASSWORD");
        if (url == null || url.isBlank()) {
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but TOKENVAULT_TEST_JDBC_URL is not set: .ci/run must start MariaDB with "
                        + "eval \"$(.ci/mariadb.sh start)\" before the tests");
            }
            System.err.println("*** " + SKIPPED);
            return;
        }
        table = "oauthtoken_" + Long.toHexString(System.nanoTime()).toLowerCase(Locale.ROOT);
        try (Connection c = DriverManager.getConnection(url, user, password);
             Statement st = c.createStatement()) {
            st.execute(String.format(ImportTest.SEED_SCHEMA, table));
        } catch (SQLException e) {
            fail("TOKENVAULT_TEST_JDBC_URL is set but the server cannot be used: " + e.getMessage(), e);
        }
    }

    @AfterAll
    static void dropTable() throws SQLException {
        if (table != null) {
            try (Connection c = DriverManager.getConnection(url, user, password);
                 Statement st = c.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + table);
            }
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        // Skipped per test (so the runner counts them as skipped), only outside CI: see server().
        Assumptions.assumeTrue(table != null, SKIPPED);
        cli = new CliHarness(dir).initStore();
        try (Connection c = DriverManager.getConnection(url, user, password);
             Statement st = c.createStatement()) {
            st.execute("DELETE FROM " + table);
        }
    }

    String passwordFile() {
        return cli.secretFile("db-password", password);
    }

    @Test
    void importsTheDbStoreTableKeepingIdsAndValues() throws Exception {
        String[] a = ImportTest.row("11", "zoë@example.com");
        String[] b = ImportTest.row("12", null);
        b[5] = null;
        b[6] = zohoToken();
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            ImportTest.insert(c, table, a, b);
        }
        CliHarness.Run run = cli.store("import", "--from", "jdbc", url, "--table", table, "--user", user,
                "--password-file", passwordFile()).expect(0);
        assertTrue(run.out().contains("imported 2 token(s)"), run.out());
        assertTrue(run.out().contains("DELETE FROM " + table), run.out());
        JsonNode got = json(cli.store("--reveal", "get", "--json", "11").expect(0)).path("token");
        assertEquals("zoë@example.com", got.path("userName").asText());
        assertEquals(a[3], got.path("clientSecret").asText());
        assertEquals(a[4], got.path("refreshToken").asText());
        assertEquals(a[5], got.path("accessToken").asText());
        assertEquals(a[8], got.path("redirectUrl").asText());
        assertEquals("https://www.zohoapis.com", got.path("apiDomain").asText());
        JsonNode second = json(cli.store("--reveal", "get", "--json", "12").expect(0)).path("token");
        assertEquals(b[6], second.path("grantToken").asText());
        assertTrue(second.path("accessToken").isNull());
        assertTrue(second.path("userName").isNull());

        // A second import conflicts on every row, by id, and changes nothing.
        JsonNode again = json(cli.store("import", "--json", "--from", "jdbc", url, "--table", table, "--user", user,
                "--password-file", passwordFile()).expect(5));
        assertEquals(2, again.path("problemRows").asInt());
        assertEquals(7, again.path("problems").size()); // id, user, access, refresh; id, grant, refresh
        assertEquals(2, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    @Test
    void mysqlUrlsPasswordFromStdinAndDryRun() throws Exception {
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            ImportTest.insert(c, table, ImportTest.row("21", "a@example.com"));
        }
        String mysqlUrl = url.replace("jdbc:mariadb:", "jdbc:mysql:");
        cli.storeWithStdin(password + "\n", "import", "--dry-run", "--from", "jdbc", mysqlUrl, "--table", table,
                "--user", user, "--password-file", "-").expect(0);
        assertEquals(0, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    @Test
    void wrongPasswordAndMissingTableAreIoErrors() {
        CliHarness.Run run = cli.store("import", "--from", "jdbc", url, "--table", table, "--user", user,
                "--password-file", cli.secretFile("bad", "not-the-password-4711")).expect(6);
        assertFalse(run.all().contains("not-the-password-4711"));
        cli.store("import", "--from", "jdbc", url, "--table", "no_such_table", "--user", user,
                "--password-file", passwordFile()).expect(6);
        cli.store("import", "--from", "jdbc", "jdbc:postgresql://127.0.0.1/x", "--user", user).expect(2);
    }
}
