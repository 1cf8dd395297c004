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
 * redirect_url, api_domain}. Read with one {@code SELECT *}, read-only; columns matched by name.
 */
final class SqlTableSource {
    private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");
    private static final Pattern PASSWORD_IN_URL = Pattern.compile("(?i)(password|pwd)=[^&;]*");

    private SqlTableSource() {
    }

    static void checkTable(String table) {
        if (!TABLE.matcher(table).matches()) {
            throw CliException.usage("--table must be a plain table name (letters, digits, _), optionally "
                    + "schema.table; got \"" + table + "\"");
        }
    }

    /** A JDBC URL fit to print: any password parameter replaced. */
    static String redact(String url) {
        return PASSWORD_IN_URL.matcher(url).replaceAll("$1=***");
    }

    static List<SourceRow> readSqlite(Path file, String table) {
        checkTable(table);
        if (!Files.isRegularFile(file)) {
            throw CliException.usage("SQLite file " + file + " does not exist");
        }
        org.sqlite.SQLiteConfig config = new org.sqlite.SQLiteConfig();
        config.setReadOnly(true);
        Properties p = config.toProperties();
        String url = "jdbc:sqlite:" + file.toAbsolutePath();
        try (Connection c = DriverManager.getConnection(url, p)) {
            return read(c, table, file.toString());
        } catch (SQLException e) {
            throw CliException.io("cannot read table " + table + " of SQLite file " + file + ": " + e.getMessage(), e);
        }
    }

    static List<SourceRow> readJdbc(String url, String user, String password, String table) {
        checkTable(table);
        String u = url;
        if (u.startsWith("jdbc:mysql:")) {
            // MariaDB Connector/J speaks to MySQL too; it takes jdbc:mysql: URLs only under its own scheme.
            u = "jdbc:mariadb:" + u.substring("jdbc:mysql:".length());
        }
        if (!u.startsWith("jdbc:mariadb:")) {
            throw CliException.usage("--from jdbc takes a jdbc:mariadb:// or jdbc:mysql:// URL; got "
                    + redact(url));
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
        try (Connection c = DriverManager.getConnection(u, p)) {
            c.setReadOnly(true);
            return read(c, table, redact(url));
        } catch (SQLException e) {
            throw CliException.io("cannot read table " + table + " at " + redact(url) + ": " + e.getMessage(), e);
        }
    }

    private static List<SourceRow> read(Connection c, String table, String where) throws SQLException {
        List<SourceRow> rows = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM " + table)) {
            ResultSetMetaData md = rs.getMetaData();
            int n = md.getColumnCount();
            List<BiConsumer<OAuthToken, String>> setters = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
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
            int row = 0;
            while (rs.next()) {
                row++;
                OAuthToken t = new OAuthToken();
                for (int i = 1; i <= n; i++) {
                    BiConsumer<OAuthToken, String> setter = setters.get(i - 1);
                    if (setter != null) {
                        setter.accept(t, ZohoCsvSource.emptyToNull(rs.getString(i)));
                    }
                }
                rows.add(SourceRow.of("row " + row, t));
            }
        }
        return rows;
    }
}
