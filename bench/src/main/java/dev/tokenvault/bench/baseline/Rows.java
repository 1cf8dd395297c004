package dev.tokenvault.bench.baseline;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * A token as a row of ten strings in the column order of the SDK's stores ({@code id, user_name, client_id,
 * client_secret, refresh_token, access_token, grant_token, expiry_time, redirect_url, api_domain}). Absent is
 * {@code null}; an empty string counts as absent.
 */
public final class Rows {
    public static final int ID = 0;
    public static final int USER_NAME = 1;
    public static final int CLIENT_ID = 2;
    public static final int CLIENT_SECRET = 3;
    public static final int REFRESH_TOKEN = 4;
    public static final int ACCESS_TOKEN = 5;
    public static final int GRANT_TOKEN = 6;
    public static final int EXPIRY_TIME = 7;
    public static final int REDIRECT_URL = 8;
    public static final int API_DOMAIN = 9;
    public static final int WIDTH = 10;
    /** Column names, in row order. */
    public static final String[] COLUMNS = {"id", "user_name", "client_id", "client_secret", "refresh_token",
        "access_token", "grant_token", "expiry_time", "redirect_url", "api_domain"};
    /** The columns each of which must be unique across records. */
    public static final int[] UNIQUE = {USER_NAME, ACCESS_TOKEN, GRANT_TOKEN, REFRESH_TOKEN};

    private Rows() {
    }

    public static boolean present(String s) {
        return s != null && !s.isEmpty();
    }

    static String orNull(String s) {
        return present(s) ? s : null;
    }

    /** The current row of {@code rs}, whose first {@link #WIDTH} columns are in row order; empty strings as absent. */
    static String[] of(ResultSet rs) throws SQLException {
        String[] row = new String[WIDTH];
        for (int col = 0; col < WIDTH; col++) {
            row[col] = orNull(rs.getString(col + 1));
        }
        return row;
    }

    /** {@code insert into table (id, ..., api_domain) values (?, ...)}: the values bound by {@link #bindInsert}. */
    static String insertSql(String table) {
        return "insert into " + table + " (" + String.join(",", COLUMNS) + ") values (?" + ",?".repeat(WIDTH - 1) + ")";
    }

    /** {@code update table set user_name = ?, ..., api_domain = ? where id = ?}: bound by {@link #bindUpdate}. */
    static String updateSql(String table) {
        StringBuilder set = new StringBuilder("update " + table + " set ");
        for (int col = 1; col < WIDTH; col++) {
            set.append(col > 1 ? ", " : "").append(COLUMNS[col]).append(" = ?");
        }
        return set.append(" where id = ?").toString();
    }

    /** Binds {@code row} to a statement of {@link #insertSql}: every column in row order. */
    static void bindInsert(PreparedStatement ps, String[] row) throws SQLException {
        for (int col = 0; col < WIDTH; col++) {
            ps.setString(col + 1, row[col]);
        }
    }

    /** Binds {@code row} to a statement of {@link #updateSql}: the columns after the id, then the id. */
    static void bindUpdate(PreparedStatement ps, String[] row) throws SQLException {
        for (int col = 1; col < WIDTH; col++) {
            ps.setString(col, row[col]);
        }
        ps.setString(WIDTH, row[ID]);
    }

    public static String[] of(OAuthToken t) {
        return new String[] {orNull(t.getId()), orNull(t.getUserName()), orNull(t.getClientId()),
            orNull(t.getClientSecret()), orNull(t.getRefreshToken()), orNull(t.getAccessToken()),
            orNull(t.getGrantToken()), orNull(t.getExpiryTime()), orNull(t.getRedirectUrl()),
            orNull(t.getApiDomain())};
    }

    /** A new token holding every column of {@code row}. */
    public static OAuthToken toToken(String[] row) {
        OAuthToken t = new OAuthToken();
        copyInto(row, t);
        return t;
    }

    /** Sets every field of {@code t} to the row's value. */
    public static void copyInto(String[] row, OAuthToken t) {
        t.setId(row[ID]);
        t.setUserName(row[USER_NAME]);
        t.setClientId(row[CLIENT_ID]);
        t.setClientSecret(row[CLIENT_SECRET]);
        t.setRefreshToken(row[REFRESH_TOKEN]);
        t.setAccessToken(row[ACCESS_TOKEN]);
        t.setGrantToken(row[GRANT_TOKEN]);
        t.setExpiryTime(row[EXPIRY_TIME]);
        t.setRedirectUrl(row[REDIRECT_URL]);
        t.setApiDomain(row[API_DOMAIN]);
    }

    /** Fills every absent field of {@code q} from the row and sets its id (the contract's merge on a match). */
    public static void fillAbsent(String[] row, OAuthToken q) {
        q.setId(row[ID]);
        if (!present(q.getUserName())) {
            q.setUserName(row[USER_NAME]);
        }
        if (!present(q.getClientId())) {
            q.setClientId(row[CLIENT_ID]);
        }
        if (!present(q.getClientSecret())) {
            q.setClientSecret(row[CLIENT_SECRET]);
        }
        if (!present(q.getRefreshToken())) {
            q.setRefreshToken(row[REFRESH_TOKEN]);
        }
        if (!present(q.getAccessToken())) {
            q.setAccessToken(row[ACCESS_TOKEN]);
        }
        if (!present(q.getGrantToken())) {
            q.setGrantToken(row[GRANT_TOKEN]);
        }
        if (!present(q.getExpiryTime())) {
            q.setExpiryTime(row[EXPIRY_TIME]);
        }
        if (!present(q.getRedirectUrl())) {
            q.setRedirectUrl(row[REDIRECT_URL]);
        }
        if (!present(q.getApiDomain())) {
            q.setApiDomain(row[API_DOMAIN]);
        }
    }

    /** The stored row updated by the present columns of {@code in}; the stored id stays. */
    public static String[] merge(String[] stored, String[] in) {
        String[] out = stored.clone();
        for (int c = 1; c < WIDTH; c++) {
            if (in[c] != null) {
                out[c] = in[c];
            }
        }
        return out;
    }

    static TokenStoreException invalid(String message) {
        return new TokenStoreException(ErrorCode.INVALID_ARGUMENT, message);
    }

    static TokenStoreException notFound(String id) {
        return new TokenStoreException(ErrorCode.NOT_FOUND, "no token with id " + id);
    }

    static TokenStoreException io(String what, Exception e) {
        return new TokenStoreException(ErrorCode.IO, what + ": " + e.getMessage(), e);
    }
}
