package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * An {@code oauthtoken} table: the seed article's SQLite store and the Zoho SDKs' DBStore (MySQL) share the schema
 * {@code id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, expiry_time,
 * redirect_url, api_domain}. Read read-only with {@code SELECT * ... ORDER BY id}, streamed (the same order in both
 * passes of an import); columns matched by name.
 */
final class SqlTableSource implements RowSource {
    private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");
    /** Rows the driver holds at a time: MariaDB Connector/J otherwise reads the whole result into memory. */
    static final int FETCH_SIZE = 1_000;

    private final String url;
    private final Properties properties;
    private final String table;
    private final String where;
    private final JdbcPasswords passwords;

    private SqlTableSource(String url, Properties properties, String table, String where, JdbcPasswords passwords) {
        this.url = url;
        this.properties = properties;
        this.table = table;
        this.where = where;
        this.passwords = passwords;
    }

    static void checkTable(String table) {
        if (!TABLE.matcher(table).matches()) {
            throw CliException.usage("--table must be a plain table name (letters, digits, _), optionally "
                    + "schema.table; got \"" + table + "\"");
        }
    }

    static RowSource sqlite(Path file, String table) {
        checkTable(table);
        if (!Files.isRegularFile(file)) {
            throw CliException.usage("SQLite file " + file + " does not exist");
        }
        org.sqlite.SQLiteConfig config = new org.sqlite.SQLiteConfig();
        config.setReadOnly(true);
        return new SqlTableSource("jdbc:sqlite:" + file.toAbsolutePath(), config.toProperties(), table,
                file.toString(), new JdbcPasswords("", null));
    }

    static RowSource jdbc(String url, String user, String password, String table) {
        checkTable(table);
        JdbcPasswords passwords = new JdbcPasswords(url, password);
        String where = passwords.scrub(url);
        String u = url;
        if (u.startsWith("jdbc:mysql:")) {
            // MariaDB Connector/J speaks to MySQL too; it takes jdbc:mysql: URLs only under its own scheme.
            u = "jdbc:mariadb:" + u.substring("jdbc:mysql:".length());
        }
        if (!u.startsWith("jdbc:mariadb:")) {
            throw CliException.usage("--from jdbc takes a jdbc:mariadb:// or jdbc:mysql:// URL; got " + where);
        }
        Properties p = new Properties();
        if (user != null) {
            p.setProperty("user", user);
        }
        if (password != null) {
            p.setProperty("password", password);
        }
        if (!u.contains("connectTimeout")) {
            p.setProperty("connectTimeout", "10000");
        }
        return new SqlTableSource(u, p, table, where, passwords);
    }

    @Override
    public String where() {
        return where;
    }

    @Override
    public Cursor open() {
        Connection c = null;
        try {
            try {
                c = DriverManager.getConnection(url, properties);
            } catch (RuntimeException e) {
                // The driver's URL parser fails with unchecked exceptions (StringIndexOutOfBoundsException for
                // jdbc:mariadb://[bad/x): the URL is the user's input, so this is a usage error.
                throw CliException.usage("cannot parse the JDBC URL " + where + " ("
                        + passwords.scrub(String.valueOf(e.getMessage())) + ")");
            }
            c.setReadOnly(true);
            return new SqlCursor(c);
        } catch (SQLException e) {
            close(c);
            throw failure(e);
        } catch (RuntimeException e) {
            close(c);
            throw e;
        }
    }

    private CliException failure(Exception e) {
        return new CliException(ExitCode.IO, "IO", passwords.scrub("cannot read table " + table + " at " + where
                + ": " + e.getMessage()));
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // read-only: nothing was lost
            }
        }
    }

    /** One {@code SELECT}, read {@value #FETCH_SIZE} rows at a time. */
    private final class SqlCursor implements Cursor {
        private final Connection connection;
        private final Statement statement;
        private final ResultSet rs;
        private final List<BiConsumer<OAuthToken, String>> setters = new ArrayList<>();
        private long row;

        SqlCursor(Connection c) throws SQLException {
            this.connection = c;
            try {
                statement = c.createStatement(ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY);
                statement.setFetchSize(FETCH_SIZE);
                rs = statement.executeQuery("SELECT * FROM " + table + " ORDER BY id");
                columns();
            } catch (SQLException | RuntimeException e) {
                close();
                throw e;
            }
        }

        private void columns() throws SQLException {
            ResultSetMetaData md = rs.getMetaData();
            List<String> names = new ArrayList<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                String name = md.getColumnLabel(i).toLowerCase(Locale.ROOT);
                names.add(name);
                setters.add(ZohoCsvSource.COLUMNS.get(name)); // null: a column tokenvault does not keep
            }
            for (String required : new String[] {"id", "refresh_token", "access_token", "grant_token"}) {
                if (!names.contains(required)) {
                    throw CliException.usage("table " + table + " at " + where + " has no " + required
                            + " column; expected the oauthtoken schema (" + ZohoCsvSource.HEADER + ")");
                }
            }
        }

        @Override
        public SourceRow next() {
            try {
                if (!rs.next()) {
                    return null;
                }
                row++;
                OAuthToken t = new OAuthToken();
                for (int i = 0; i < setters.size(); i++) {
                    if (setters.get(i) != null) {
                        setters.get(i).accept(t, ZohoCsvSource.emptyToNull(rs.getString(i + 1)));
                    }
                }
                return SourceRow.of(row, "row", row, t);
            } catch (SQLException e) {
                throw failure(e);
            }
        }

        @Override
        public void close() {
            try {
                if (rs != null) {
                    rs.close();
                }
                if (statement != null) {
                    statement.close();
                }
            } catch (SQLException e) {
                // read-only: nothing was lost
            } finally {
                SqlTableSource.close(connection);
            }
        }
    }
}
