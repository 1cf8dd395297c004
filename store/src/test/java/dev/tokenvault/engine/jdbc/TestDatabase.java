package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.fail;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.junit.jupiter.api.Assumptions;

/**
 * The database servers the shared engine's tests run on, from the environment that {@code .ci/mariadb.sh start} and
 * {@code .ci/postgres.sh start} print. Without a server the tests skip with a message naming the variable and the
 * script; with {@code CI=true} they fail instead. Each test uses tables of its own prefix, so parallel runs on one
 * server never meet.
 */
public enum TestDatabase {
    MARIADB("TOKENVAULT_TEST_JDBC", ".ci/mariadb.sh"),
    POSTGRESQL("TOKENVAULT_TEST_PG", ".ci/postgres.sh");

    private static final SecureRandom RANDOM = new SecureRandom();
    private final String env;
    private final String script;
    private volatile HikariDataSource pool;
    private final Map<Object, String> prefixes = new ConcurrentHashMap<>();

    TestDatabase(String env, String script) {
        this.env = env;
        this.script = script;
    }

    public String url() {
        return System.getenv(env + "_URL");
    }

    public String user() {
        return System.getenv(env + "_USER");
    }

    public String password() {
        return System.getenv(env + "_PASSWORD");
    }

    /** Skips the calling test without the server (fails it under CI=true). */
    public void assumeAvailable() {
        String url = url();
        if (url == null || url.isBlank()) {
            String message = this + " is not available: set " + env + "_URL, _USER and _PASSWORD with eval \"$("
                    + script + " start)\"";
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but " + message);
            }
            Assumptions.assumeTrue(false, "SKIPPED: " + message);
        }
    }

    /** The shared pool of this server (one per test JVM). */
    public DataSource dataSource() {
        assumeAvailable();
        HikariDataSource p = pool;
        if (p == null) {
            synchronized (this) {
                if (pool == null) {
                    pool = pool(url(), password(), 24);
                }
                p = pool;
            }
        }
        return p;
    }

    /** A new pool of at most {@code size} connections to this server, with {@code password}; the caller closes it. */
    public HikariDataSource pool(String url, String password, int size) {
        return pool(url, password, size, 5_000);
    }

    /**
     * {@link #pool(String, String, int)} whose callers wait up to {@code timeoutMillis} for a connection: a small pool
     * on a busy machine serves its waiters in no fair order, so one may wait long without any deadlock.
     */
    public HikariDataSource pool(String url, String password, int size, long timeoutMillis) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user());
        config.setPassword(password);
        config.setMaximumPoolSize(size);
        config.setConnectionTimeout(timeoutMillis);
        config.setInitializationFailTimeout(-1); // a failing server fails getConnection, not the pool's creation
        config.setPoolName("tokenvault-test-" + name().toLowerCase(java.util.Locale.ROOT));
        return new HikariDataSource(config);
    }

    /** A table prefix no other test uses. */
    public static String freshPrefix() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return "t" + HexFormat.of().formatHex(b);
    }

    /** The prefix of the store named {@code owner} (e.g. a test's directory): the same for each call. */
    public String prefixFor(Object owner) {
        return prefixes.computeIfAbsent(owner, o -> freshPrefix());
    }

    /** The statements of the schema file this server's dialect ships, for {@code prefix}. */
    public java.util.List<String> schemaStatements(String prefix) {
        return JdbcSchema.statements(this == MARIADB ? Dialect.MARIADB : Dialect.POSTGRESQL, prefix);
    }

    /** Runs one statement on its own connection. */
    public void execute(String sql) {
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** The first column of the first row of {@code sql} as a long. */
    public long queryLong(String sql) {
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code table} exists (any schema the connection sees by default). */
    public boolean tableExists(String table) {
        try (Connection c = dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM " + table + " WHERE 1 = 0")) {
            return true;
        } catch (SQLException e) {
            return false;
        }
    }

    /** Drops the tables of {@code prefix}. */
    public void drop(String prefix) {
        for (String t : new String[] {"_records", "_index", "_meta", "_changes", "_leases"}) {
            execute("DROP TABLE IF EXISTS " + prefix + t);
        }
    }
}
