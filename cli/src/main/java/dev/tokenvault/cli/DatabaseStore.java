package dev.tokenvault.cli;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.Locale;
import java.util.Map;

/**
 * A shared store in a database, named by a JDBC URL: {@code jdbc:mariadb:}, {@code jdbc:mysql:} (MariaDB's driver,
 * which speaks MySQL 8's protocol) or {@code jdbc:postgresql:}. The CLI opens it through a small HikariCP pool of its
 * own, closed when the command ends. The password never comes from the command line: a URL that holds one is
 * refused, and it is read from a file option or {@value #ENV_PASSWORD}; every message that may quote the URL or a
 * driver's words is scrubbed of it ({@link JdbcPasswords}).
 */
final class DatabaseStore implements AutoCloseable {
    static final String ENV_PASSWORD = "TOKENVAULT_DB_PASSWORD";
    static final String ENV_USER = "TOKENVAULT_DB_USER";
    /** Drivers by URL scheme; named, so that the pool never depends on which driver registered first. */
    private static final Map<String, String> DRIVERS = Map.of(
            "jdbc:mariadb:", "org.mariadb.jdbc.Driver",
            "jdbc:mysql:", "org.mariadb.jdbc.Driver",
            "jdbc:postgresql:", "org.postgresql.Driver");
    private static final int POOL_SIZE = 4;
    private static final long CONNECT_TIMEOUT_MILLIS = 15_000;

    private final String url;
    private final String user;
    private final String password;
    private final String tablePrefix;
    private final JdbcPasswords passwords;
    private HikariDataSource pool;

    private DatabaseStore(String url, String user, String password, String tablePrefix) {
        this.url = url;
        this.user = user;
        this.password = password;
        this.tablePrefix = tablePrefix;
        this.passwords = new JdbcPasswords(url, password);
    }

    /** Whether {@code spec} (a --store value) is a JDBC URL rather than a file. */
    static boolean isUrl(String spec) {
        return spec.regionMatches(true, 0, "jdbc:", 0, 5);
    }

    /**
     * The store at {@code url}, given by {@code option}; {@code user} and {@code password} may be {@code null} (the
     * URL's own {@code user=}, or a server that needs none).
     *
     * @throws CliException a usage error for a scheme tokenvault cannot share a store in, or a URL with a password
     */
    static DatabaseStore of(String url, String option, String user, String password, String tablePrefix) {
        String scheme = scheme(url);
        if (scheme == null) {
            int end = url.indexOf(':', 5);
            throw CliException.usage(option + ": " + (end < 0 ? "this URL" : url.substring(0, end + 1))
                    + " is not a database tokenvault keeps a shared store in; use a jdbc:mariadb:, jdbc:mysql: or"
                    + " jdbc:postgresql: URL");
        }
        if (JdbcPasswords.inUrl(url)) {
            throw CliException.usage(option + ": the JDBC URL holds a password, which other users of this machine"
                    + " can read in the process list; remove it from the URL and set " + ENV_PASSWORD
                    + " or give the password file option");
        }
        // MariaDB's driver takes jdbc:mysql: URLs only when told to
        String withScheme = scheme.equals("jdbc:mysql:") && !url.contains("permitMysqlScheme")
                ? url + (url.contains("?") ? "&" : "?") + "permitMysqlScheme" : url;
        return new DatabaseStore(withScheme, user, password, tablePrefix);
    }

    /** The supported scheme {@code url} begins with, or {@code null}. */
    private static String scheme(String url) {
        String lower = url.toLowerCase(Locale.ROOT);
        return DRIVERS.keySet().stream().filter(lower::startsWith).findFirst().orElse(null);
    }

    /** The table prefix given, or {@code null} for the library's default. */
    String tablePrefix() {
        return tablePrefix;
    }

    /** The URL fit to print, with the table prefix when one was given. */
    String display() {
        return JdbcPasswords.redact(url) + (tablePrefix == null ? "" : " (table prefix " + tablePrefix + ")");
    }

    /** {@code text} with this store's password in every form replaced by a mask. */
    String scrub(String text) {
        return passwords.scrub(text);
    }

    /**
     * The pool, opened at the first call: it connects at once, so that a wrong password or a server that is down
     * fails here with the driver's reason (scrubbed), exit code 6.
     */
    HikariDataSource dataSource() {
        if (pool != null) {
            return pool;
        }
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setDriverClassName(DRIVERS.get(scheme(url)));
        if (user != null) {
            config.setUsername(user);
        }
        if (password != null) {
            config.setPassword(password);
        }
        config.setMaximumPoolSize(POOL_SIZE);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(CONNECT_TIMEOUT_MILLIS);
        config.setPoolName("tokenvault-cli");
        try {
            pool = new HikariDataSource(config);
            return pool;
        } catch (RuntimeException e) {
            throw CliException.io(scrub("cannot connect to " + display() + ": " + rootMessage(e)), null);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return String.valueOf(t.getMessage());
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.close();
            pool = null;
        }
    }

    @Override
    public String toString() {
        return display();
    }
}
