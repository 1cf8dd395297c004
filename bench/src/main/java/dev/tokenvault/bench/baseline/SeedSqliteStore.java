package dev.tokenvault.bench.baseline;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.IntFunction;

/**
 * The seed article's {@code CustomStoreSQLite} (Kaizen #192, Zoho CRM Python SDK), ported line by line to Java over
 * sqlite-jdbc, so that the benchmark measures the design it publishes:
 * <ul>
 *   <li>a new connection for every call, closed at its end (Python's {@code sqlite3.connect}: rollback journal,
 *       SQLite's default {@code synchronous=FULL}, a 5 s busy timeout, one implicit transaction per call);</li>
 *   <li>table {@code oauthtoken} with only the primary key on {@code id}: every lookup by user name or token scans;</li>
 *   <li>SQL built by string concatenation, values inside single quotes, unescaped ({@code "... where user_name='"
 *       + name + "'"}), except the insert, which the article binds with {@code ?} placeholders; {@code delete_token}
 *       puts the id into the SQL unquoted, so ids here are decimal;</li>
 *   <li>its branch logic as written, including Python's precedence in {@code find_token} ({@code refresh is not None
 *       or grant is not None and client_id ... }) and its {@code " limit 1"} on every select, so that a query that
 *       matches no branch returns the first row of the table (docs/ARCHITECTURE.md section 3.2, rule 5, warns
 *       about this).</li>
 * </ul>
 * The article's {@code update ... where ... limit 1} is kept (sqlite-jdbc is built with
 * {@code SQLITE_ENABLE_UPDATE_DELETE_LIMIT}). One deviation: when no update branch applies, the article executes
 * {@code "update oauthtoken set  limit 1"}, a syntax error, so that such a save always fails; here it skips the
 * update and inserts, as the article's text describes ("If none of these match, insert as a new row").
 */
public final class SeedSqliteStore implements TokenStore {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final String dbName;

    public SeedSqliteStore(Path file) {
        this.dbName = "jdbc:sqlite:" + file.toAbsolutePath();
        if (!checkTableExists()) {
            try (Connection connection = connect(); Statement cursor = connection.createStatement()) {
                cursor.execute("CREATE TABLE  oauthtoken (id varchar(10) NOT NULL,user_name varchar(255), client_id "
                        + "varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token "
                        + "varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar("
                        + "255), api_domain varchar(255), primary key (id))");
            } catch (SQLException e) {
                throw Rows.io("cannot create table", e);
            }
        }
    }

    /** {@code sqlite3.connect(self.db_name)}: Python's default timeout is 5 seconds. */
    private Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("busy_timeout", "5000");
        return DriverManager.getConnection(dbName, p);
    }

    private boolean checkTableExists() {
        try (Connection connection = connect(); Statement cursor = connection.createStatement();
             ResultSet rs = cursor.executeQuery(
                     "SELECT name FROM sqlite_master WHERE type='table' AND name='oauthtoken'")) {
            return rs.next();
        } catch (SQLException e) {
            throw Rows.io("cannot open " + dbName, e);
        }
    }

    private static boolean notEmpty(String s) {
        return s != null && s.length() > 0;
    }

    private static boolean areAllObjectsNull(String... values) {
        for (String v : values) {
            if (v != null) {
                return false;
            }
        }
        return true;
    }

    @Override
    public OAuthToken findToken(OAuthToken token) {
        if (token == null) {
            throw Rows.invalid("query must not be null");
        }
        try (Connection connection = connect()) {
            OAuthToken oauthToken = token;
            String query = "select * from oauthtoken";
            if (oauthToken.getUserName() != null) {
                String name = oauthToken.getUserName();
                if (notEmpty(name)) {
                    query = query + " where user_name='" + name + "'";
                }
            } else if (oauthToken.getAccessToken() != null
                    && areAllObjectsNull(oauthToken.getClientId(), oauthToken.getClientSecret())) {
                query = query + " where access_token='" + oauthToken.getAccessToken() + "'";
            } else if (oauthToken.getRefreshToken() != null || oauthToken.getGrantToken() != null
                    && oauthToken.getClientId() != null && oauthToken.getClientSecret() != null) {
                if (notEmpty(oauthToken.getGrantToken())) {
                    query = query + " where grant_token='" + oauthToken.getGrantToken() + "'";
                } else if (notEmpty(oauthToken.getRefreshToken())) {
                    query = query + " where refresh_token='" + oauthToken.getRefreshToken() + "'";
                }
            }
            query = query + " limit 1";
            try (Statement cursor = connection.createStatement(); ResultSet result = cursor.executeQuery(query)) {
                if (!result.next()) {
                    return null;
                }
                setMergeData(oauthToken, result);
            }
        } catch (SQLException ex) {
            throw Rows.io("GET_TOKEN_DB_ERROR1", ex);
        }
        return token;
    }

    /** The SDK's {@code set_merge_data}: fills the fields the token lacks from the row. */
    private static void setMergeData(OAuthToken t, ResultSet r) throws SQLException {
        if (t.getId() == null) {
            t.setId(r.getString(1));
        }
        if (t.getUserName() == null) {
            t.setUserName(r.getString(2));
        }
        if (t.getClientId() == null) {
            t.setClientId(r.getString(3));
        }
        if (t.getClientSecret() == null) {
            t.setClientSecret(r.getString(4));
        }
        if (t.getRefreshToken() == null) {
            t.setRefreshToken(r.getString(5));
        }
        if (t.getAccessToken() == null) {
            t.setAccessToken(r.getString(6));
        }
        if (t.getGrantToken() == null) {
            t.setGrantToken(r.getString(7));
        }
        if (t.getExpiryTime() == null) {
            t.setExpiryTime(r.getString(8));
        }
        if (t.getRedirectUrl() == null) {
            t.setRedirectUrl(r.getString(9));
        }
        if (t.getApiDomain() == null) {
            t.setApiDomain(r.getString(10));
        }
    }

    /** The SDK's {@code set_token}: {@code col='value'} for each present field, comma separated. */
    private static String setToken(OAuthToken t) {
        List<String> query = new ArrayList<>();
        if (notEmpty(t.getUserName())) {
            query.add(setTokenInfo("user_name", t.getUserName()));
        }
        if (notEmpty(t.getClientId())) {
            query.add(setTokenInfo("client_id", t.getClientId()));
        }
        if (notEmpty(t.getClientSecret())) {
            query.add(setTokenInfo("client_secret", t.getClientSecret()));
        }
        if (notEmpty(t.getRefreshToken())) {
            query.add(setTokenInfo("refresh_token", t.getRefreshToken()));
        }
        if (notEmpty(t.getAccessToken())) {
            query.add(setTokenInfo("access_token", t.getAccessToken()));
        }
        if (notEmpty(t.getGrantToken())) {
            query.add(setTokenInfo("grant_token", t.getGrantToken()));
        }
        if (notEmpty(t.getExpiryTime())) {
            query.add(setTokenInfo("expiry_time", t.getExpiryTime()));
        }
        if (notEmpty(t.getRedirectUrl())) {
            query.add(setTokenInfo("redirect_url", t.getRedirectUrl()));
        }
        if (notEmpty(t.getApiDomain())) {
            query.add(setTokenInfo("api_domain", t.getApiDomain()));
        }
        return String.join(",", query);
    }

    private static String setTokenInfo(String key, String value) {
        return key + "='" + value + "'";
    }

    @Override
    public void saveToken(OAuthToken token) {
        if (token == null) {
            throw Rows.invalid("token must not be null");
        }
        try (Connection connection = connect()) {
            connection.setAutoCommit(false); // Python's sqlite3 opens a transaction before the first DML
            OAuthToken oauthToken = token;
            String query = "update oauthtoken set ";
            String where = null;
            if (oauthToken.getUserName() != null) {
                String name = oauthToken.getUserName();
                if (notEmpty(name)) {
                    where = " where user_name='" + name + "'";
                }
            } else if (notEmpty(oauthToken.getAccessToken())
                    && areAllObjectsNull(oauthToken.getClientId(), oauthToken.getClientSecret())) {
                where = " where access_token='" + oauthToken.getAccessToken() + "'";
            } else if ((notEmpty(oauthToken.getRefreshToken()) || notEmpty(oauthToken.getGrantToken()))
                    && oauthToken.getClientId() != null && oauthToken.getClientSecret() != null) {
                if (notEmpty(oauthToken.getGrantToken())) {
                    where = " where grant_token='" + oauthToken.getGrantToken() + "'";
                } else if (notEmpty(oauthToken.getRefreshToken())) {
                    where = " where refresh_token='" + oauthToken.getRefreshToken() + "'";
                }
            }
            try {
                int rowcount = 0;
                if (where != null) {
                    query = query + setToken(oauthToken) + where + " limit 1";
                    try (Statement cursor = connection.createStatement()) {
                        rowcount = cursor.executeUpdate(query);
                    }
                }
                if (rowcount <= 0) {
                    if (oauthToken.getId() != null || oauthToken.getUserName() != null) {
                        if (oauthToken.getRefreshToken() == null && oauthToken.getGrantToken() == null
                                && oauthToken.getAccessToken() == null) {
                            throw Rows.invalid("GET_TOKEN_DB_ERROR1");
                        }
                    }
                    if (oauthToken.getId() == null) {
                        oauthToken.setId(generateId());
                    }
                    try (PreparedStatement cursor = connection.prepareStatement(
                            "insert into oauthtoken (id,user_name,client_id,client_secret,refresh_token,access_token,"
                                    + "grant_token,expiry_time,redirect_url,api_domain) values (?,?,?,?,?,?,?,?,?,?);")) {
                        cursor.setString(1, token.getId());
                        cursor.setString(2, token.getUserName());
                        cursor.setString(3, token.getClientId());
                        cursor.setString(4, token.getClientSecret());
                        cursor.setString(5, token.getRefreshToken());
                        cursor.setString(6, token.getAccessToken());
                        cursor.setString(7, token.getGrantToken());
                        cursor.setString(8, token.getExpiryTime());
                        cursor.setString(9, token.getRedirectUrl());
                        cursor.setString(10, token.getApiDomain());
                        cursor.executeUpdate();
                    }
                }
            } finally {
                connection.commit(); // the article commits in finally
            }
        } catch (SQLException ex) {
            throw Rows.io("SAVE_TOKEN_DB_ERROR", ex);
        }
    }

    private static String generateId() {
        return Long.toString(1_000_000_000_000L + (RANDOM.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) % 8_000_000_000_000_000L);
    }

    @Override
    public void deleteToken(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        try (Connection connection = connect(); Statement cursor = connection.createStatement()) {
            String query = "delete from oauthtoken where id= " + id + ";";
            cursor.executeUpdate(query);
        } catch (SQLException ex) {
            throw Rows.io("DELETE_TOKEN_DB_ERROR", ex);
        }
    }

    @Override
    public List<OAuthToken> getTokens() {
        try (Connection connection = connect(); Statement cursor = connection.createStatement();
             ResultSet results = cursor.executeQuery("select * from oauthtoken;")) {
            List<OAuthToken> tokens = new ArrayList<>();
            while (results.next()) {
                OAuthToken oauthToken = new OAuthToken();
                setMergeData(oauthToken, results);
                tokens.add(oauthToken);
            }
            return tokens;
        } catch (SQLException ex) {
            throw Rows.io("GET_TOKENS_DB_ERROR", ex);
        }
    }

    @Override
    public void deleteTokens() {
        try (Connection connection = connect(); Statement cursor = connection.createStatement()) {
            cursor.executeUpdate("delete from oauthtoken;");
        } catch (SQLException ex) {
            throw Rows.io("DELETE_TOKENS_DB_ERROR", ex);
        }
    }

    @Override
    public OAuthToken findTokenById(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        try (Connection connection = connect(); Statement cursor = connection.createStatement();
             ResultSet results = cursor.executeQuery("select * from oauthtoken where id='" + id + "'")) {
            if (!results.next()) {
                throw Rows.notFound(id);
            }
            OAuthToken oauthToken = new OAuthToken();
            setMergeData(oauthToken, results);
            return oauthToken;
        } catch (SQLException ex) {
            throw Rows.io("GET_TOKEN_BY_ID_DB_ERROR", ex);
        }
    }

    /** Bulk load for benchmark setup only (one transaction, bound parameters); not part of the seed's design. */
    public void bulkLoad(int count, IntFunction<OAuthToken> tokens) {
        try (Connection connection = connect()) {
            connection.setAutoCommit(false);
            try (PreparedStatement ps = connection.prepareStatement(
                    "insert into oauthtoken (id,user_name,client_id,client_secret,refresh_token,access_token,"
                            + "grant_token,expiry_time,redirect_url,api_domain) values (?,?,?,?,?,?,?,?,?,?)")) {
                for (int i = 0; i < count; i++) {
                    String[] r = Rows.of(tokens.apply(i));
                    for (int c = 0; c < Rows.WIDTH; c++) {
                        ps.setString(c + 1, r[c]);
                    }
                    ps.addBatch();
                    if (i % 10_000 == 9_999) {
                        ps.executeBatch();
                    }
                }
                ps.executeBatch();
            }
            connection.commit();
        } catch (SQLException ex) {
            throw Rows.io("bulk load failed", ex);
        }
    }
}
