package dev.tokenvault.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * A database server the JDBC benchmarks and their tests run against: {@code mariadb} or {@code postgresql}.
 *
 * <p>Where it is: the system properties {@code tokenvault.bench.<db>.url}, {@code .user} and {@code .password}, else
 * the environment variables that {@code .ci/mariadb.sh start} and {@code .ci/postgres.sh start} print
 * ({@code TOKENVAULT_TEST_JDBC_URL}, {@code _USER}, {@code _PASSWORD} for MariaDB; {@code TOKENVAULT_TEST_PG_URL},
 * {@code _USER}, {@code _PASSWORD} for PostgreSQL). Benchmark data only: the password is a test server's.
 */
public record JdbcServer(String db, String url, String user, String password) {
    public static final String MARIADB = "mariadb";
    public static final String POSTGRESQL = "postgresql";

    /** The server for {@code db}, or {@code null} when neither its properties nor its environment name one. */
    public static JdbcServer find(String db) {
        String env = switch (db) {
            case MARIADB -> "TOKENVAULT_TEST_JDBC";
            case POSTGRESQL -> "TOKENVAULT_TEST_PG";
            default -> throw new IllegalArgumentException("unknown database " + db + " (mariadb or postgresql)");
        };
        String url = setting(db, "url", env + "_URL");
        if (url == null || url.isBlank()) {
            return null;
        }
        return new JdbcServer(db, url, setting(db, "user", env + "_USER"), setting(db, "password", env + "_PASSWORD"));
    }

    /** The server for {@code db}; fails, naming what to set, when it is not configured. */
    public static JdbcServer require(String db) {
        JdbcServer server = find(db);
        if (server == null) {
            throw new IllegalStateException("no " + db + " server: set -Dtokenvault.bench." + db + ".url (and .user,"
                    + " .password) or the variables that .ci/" + (db.equals(MARIADB) ? "mariadb" : "postgres")
                    + ".sh start prints (see bench/README.md)");
        }
        return server;
    }

    private static String setting(String db, String name, String envName) {
        String prop = System.getProperty("tokenvault.bench." + db + "." + name);
        return prop != null ? prop : System.getenv(envName);
    }

    public boolean postgres() {
        return db.equals(POSTGRESQL);
    }

    /** A new connection outside any pool, as the SDK's DBStore opens one per call. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url, user, password);
    }

    /**
     * A HikariCP pool of at most {@code size} connections: the pool every pooled store gets, tokenvault's and the tuned
     * baseline's alike, so that they differ only in what they do with a connection.
     */
    public HikariDataSource pool(String name, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(1);
        config.setPoolName(name);
        return new HikariDataSource(config);
    }

    @Override
    public String toString() {
        return db + " at " + url; // never the password
    }
}
