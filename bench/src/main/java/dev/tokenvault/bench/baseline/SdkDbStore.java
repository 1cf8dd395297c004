package dev.tokenvault.bench.baseline;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The design of the Zoho Java SDK's MySQL token store ({@code com.zoho.api.authenticator.store.DBStore}), ported so
 * that the benchmark measures what it publishes; described, not copied:
 * <ul>
 *   <li>the SDKs' table: {@code id varchar(10)} as the primary key, the nine other columns {@code varchar(255)}
 *       ({@code expiry_time varchar(20)}), plaintext, and no other index: a lookup by user name or token scans;</li>
 *   <li>a new connection from {@code DriverManager} for every call, closed at its end; every statement commits on
 *       its own (no transaction spans the update and the insert of one save);</li>
 *   <li>SQL built by concatenation, values inside single quotes, unescaped ({@code where user_name='...'});
 *       {@code findToken} picks one branch (user name; else an access token without client id and secret; else a
 *       grant or refresh token with both) and appends {@code limit 1}, so a query that fits no branch returns the
 *       first row of the table;</li>
 *   <li>{@code saveToken} runs {@code update ... set <each present field>='...' where <that branch> limit 1}; when it
 *       touches no row it inserts the whole token with bound parameters and {@code on duplicate key update} (an
 *       insert under an existing id overwrites that row);</li>
 *   <li>a new id is {@code coalesce(max(id), 0) + 1}, read as an int in its own connection before the insert: the
 *       maximum of a text column is the lexicographic one ({@code "9" > "10"}), and two nodes that read it at once
 *       take the same id, the second insert then overwriting the first row.</li>
 * </ul>
 * The SDK targets MySQL only. On PostgreSQL the same design needs three spellings that PostgreSQL accepts:
 * {@code update ... where ctid = (select ctid ... limit 1)} for the one-row update, {@code on conflict (id) do update}
 * for the upsert, and {@code coalesce(max(id), '0')} (text, not a number). One deviation, as in
 * {@link SeedSqliteStore}: when no update branch applies, the SDK runs {@code update ... set ... limit 1} without a
 * {@code where} (it updates the first row, or fails when no field is present); here it skips the update and inserts.
 */
public final class SdkDbStore implements TokenStore {
    /** A connection per call, as the SDK's {@code DriverManager.getConnection(url, user, password)}. */
    public interface Connections {
        Connection open() throws SQLException;
    }

    private final Connections connections;
    private final String table;
    private final boolean postgres;

    public SdkDbStore(Connections connections, String table, boolean postgres) {
        this.connections = connections;
        this.table = table;
        this.postgres = postgres;
    }

    /** Creates the SDKs' table when it is missing (the SDK leaves this to the user's DBA). */
    public SdkDbStore createTable() {
        try (Connection c = connections.open(); Statement st = c.createStatement()) {
            st.executeUpdate("create table if not exists " + table + " (id varchar(10) not null,"
                    + " user_name varchar(255), client_id varchar(255), client_secret varchar(255),"
                    + " refresh_token varchar(255), access_token varchar(255), grant_token varchar(255),"
                    + " expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))");
        } catch (SQLException e) {
            throw Rows.io("cannot create table " + table, e);
        }
        return this;
    }

    private static boolean notEmpty(String s) {
        return s != null && !s.isEmpty();
    }

    /** The {@code where} clause of the branch the SDK picks, or {@code null}: shared by find and save. */
    private static String branch(OAuthToken t, boolean forSave) {
        if (t.getUserName() != null) {
            return notEmpty(t.getUserName()) ? " where user_name='" + t.getUserName() + "'" : null;
        }
        boolean noClient = t.getClientId() == null && t.getClientSecret() == null;
        boolean accessApplies = forSave ? notEmpty(t.getAccessToken()) : t.getAccessToken() != null;
        if (accessApplies && noClient) {
            return " where access_token='" + t.getAccessToken() + "'";
        }
        boolean tokenApplies = forSave ? notEmpty(t.getRefreshToken()) || notEmpty(t.getGrantToken())
                : t.getRefreshToken() != null || t.getGrantToken() != null;
        if (tokenApplies && t.getClientId() != null && t.getClientSecret() != null) {
            if (notEmpty(t.getGrantToken())) {
                return " where grant_token='" + t.getGrantToken() + "'";
            }
            if (notEmpty(t.getRefreshToken())) {
                return " where refresh_token='" + t.getRefreshToken() + "'";
            }
        }
        return null;
    }

    @Override
    public OAuthToken findToken(OAuthToken token) {
        if (token == null) {
            throw Rows.invalid("query must not be null");
        }
        String where = branch(token, false);
        String query = "select * from " + table + (where == null ? "" : where) + " limit 1";
        try (Connection c = connections.open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(query)) {
            if (!rs.next()) {
                return null;
            }
            mergeInto(token, rs);
            return token;
        } catch (SQLException e) {
            throw Rows.io("findToken failed", e);
        }
    }

    /** The SDK's merge: each field the token lacks ({@code null}) is taken from the row. */
    private static void mergeInto(OAuthToken t, ResultSet rs) throws SQLException {
        String[] row = new String[Rows.WIDTH];
        for (int col = 0; col < Rows.WIDTH; col++) {
            row[col] = rs.getString(col + 1);
        }
        String[] have = {t.getId(), t.getUserName(), t.getClientId(), t.getClientSecret(), t.getRefreshToken(),
            t.getAccessToken(), t.getGrantToken(), t.getExpiryTime(), t.getRedirectUrl(), t.getApiDomain()};
        for (int col = 0; col < Rows.WIDTH; col++) {
            if (have[col] == null) {
                have[col] = row[col];
            }
        }
        Rows.copyInto(have, t);
    }

    /** {@code col='value'} for every present field (the user name only when not empty), comma separated. */
    private static String assignments(OAuthToken t) {
        String[] in = {null, notEmpty(t.getUserName()) ? t.getUserName() : null, t.getClientId(), t.getClientSecret(),
            t.getRefreshToken(), t.getAccessToken(), t.getGrantToken(), t.getExpiryTime(), t.getRedirectUrl(),
            t.getApiDomain()};
        List<String> set = new ArrayList<>();
        for (int col = 1; col < Rows.WIDTH; col++) {
            if (in[col] != null) {
                set.add(Rows.COLUMNS[col] + "='" + in[col] + "'");
            }
        }
        return String.join(",", set);
    }

    @Override
    public void saveToken(OAuthToken token) {
        if (token == null) {
            throw Rows.invalid("token must not be null");
        }
        String where = branch(token, true);
        try (Connection c = connections.open()) {
            int updated = 0;
            if (where != null) {
                String set = assignments(token);
                String sql = postgres
                        ? "update " + table + " set " + set + " where ctid = (select ctid from " + table + where
                                + " limit 1)"
                        : "update " + table + " set " + set + where + " limit 1";
                try (Statement st = c.createStatement()) {
                    updated = st.executeUpdate(sql);
                }
            }
            if (updated == 0) {
                insert(c, token);
            }
        } catch (SQLException e) {
            throw Rows.io("saveToken failed", e);
        }
    }

    private void insert(Connection c, OAuthToken token) throws SQLException {
        if ((token.getId() != null || token.getUserName() != null) && token.getRefreshToken() == null
                && token.getGrantToken() == null && token.getAccessToken() == null) {
            throw Rows.invalid("a new token needs at least one of accessToken, refreshToken or grantToken");
        }
        if (token.getId() == null) {
            token.setId(Integer.toString(nextId()));
        }
        try (PreparedStatement ps = c.prepareStatement(upsert())) {
            String[] row = {token.getId(), token.getUserName(), token.getClientId(), token.getClientSecret(),
                token.getRefreshToken(), token.getAccessToken(), token.getGrantToken(), token.getExpiryTime(),
                token.getRedirectUrl(), token.getApiDomain()};
            for (int col = 0; col < Rows.WIDTH; col++) {
                ps.setString(col + 1, row[col]);
            }
            ps.executeUpdate();
        }
    }

    private String upsert() {
        StringBuilder sql = new StringBuilder("insert into ").append(table).append(" (")
                .append(String.join(",", Rows.COLUMNS)).append(") values (?,?,?,?,?,?,?,?,?,?)")
                .append(postgres ? " on conflict (id) do update set " : " on duplicate key update ");
        for (int col = 1; col < Rows.WIDTH; col++) {
            String name = Rows.COLUMNS[col];
            sql.append(col > 1 ? "," : "").append(name)
                    .append(postgres ? "=excluded." + name : "=values(" + name + ")");
        }
        return sql.toString();
    }

    /** {@code max(id) + 1} over the text column, in a connection of its own, as the SDK's {@code generateId}. */
    private int nextId() throws SQLException {
        try (Connection c = connections.open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select coalesce(max(id), " + (postgres ? "'0'" : "0") + ") from "
                     + table)) {
            return rs.next() ? rs.getInt(1) + 1 : 0;
        }
    }

    @Override
    public void deleteToken(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        try (Connection c = connections.open(); Statement st = c.createStatement()) {
            st.executeUpdate("delete from " + table + " where id='" + id + "'");
        } catch (SQLException e) {
            throw Rows.io("deleteToken failed", e);
        }
    }

    @Override
    public List<OAuthToken> getTokens() {
        List<OAuthToken> out = new ArrayList<>();
        try (Connection c = connections.open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select * from " + table)) {
            while (rs.next()) {
                OAuthToken t = new OAuthToken();
                mergeInto(t, rs);
                out.add(t);
            }
        } catch (SQLException e) {
            throw Rows.io("getTokens failed", e);
        }
        return out;
    }

    @Override
    public void deleteTokens() {
        try (Connection c = connections.open(); Statement st = c.createStatement()) {
            st.executeUpdate("delete from " + table);
        } catch (SQLException e) {
            throw Rows.io("deleteTokens failed", e);
        }
    }

    @Override
    public OAuthToken findTokenById(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        try (Connection c = connections.open(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select * from " + table + " where id='" + id + "'")) {
            if (!rs.next()) {
                throw Rows.notFound(id);
            }
            OAuthToken t = new OAuthToken();
            mergeInto(t, rs);
            return t;
        } catch (SQLException e) {
            throw Rows.io("findTokenById failed", e);
        }
    }

    /** Bulk load for benchmark setup only (bound parameters, one transaction per 1,000 rows); not the SDK's. */
    public void bulkLoad(int count, IntFunction<OAuthToken> tokens) {
        JdbcBulk.insert(connections, table, count, tokens);
    }
}
