package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import org.junit.jupiter.api.Assumptions;

/**
 * A database server for the CLI's shared-store tests, from the variables {@code .ci/mariadb.sh start} and
 * {@code .ci/postgres.sh start} print. Without one the calling test is skipped with a message; under {@code CI=true}
 * it fails instead.
 */
enum DatabaseServer {
    MARIADB("TOKENVAULT_TEST_JDBC", ".ci/mariadb.sh"),
    POSTGRESQL("TOKENVAULT_TEST_PG", ".ci/postgres.sh");

    private static final SecureRandom RANDOM = new SecureRandom();
    private final String env;
    private final String script;

    DatabaseServer(String env, String script) {
        this.env = env;
        this.script = script;
    }

    /** The URL (without a password); skips the test (fails it under CI=true) when the server is not configured. */
    String url() {
        String url = System.getenv(env + "_URL");
        if (url == null || url.isBlank()) {
            String message = this + " is not available: set " + env + "_URL, _USER and _PASSWORD with eval \"$("
                    + script + " start)\"";
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but " + message);
            }
            System.err.println("*** SKIPPED: " + message);
            Assumptions.abort(message);
        }
        return url;
    }

    String user() {
        return System.getenv(env + "_USER");
    }

    String password() {
        return System.getenv(env + "_PASSWORD");
    }

    /** A table prefix no other test uses. */
    static String freshPrefix() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return "c" + HexFormat.of().formatHex(b);
    }

    /** Drops the tables of the store with {@code prefix}. */
    void drop(String prefix) {
        try (Connection c = DriverManager.getConnection(url(), user(), password());
             Statement st = c.createStatement()) {
            for (String table : new String[] {"_records", "_index", "_meta", "_changes", "_leases"}) {
                st.execute("DROP TABLE IF EXISTS " + prefix + table);
            }
        } catch (SQLException e) {
            throw new AssertionError("cannot drop the tables of " + prefix + ": " + e.getMessage(), e);
        }
    }
}
