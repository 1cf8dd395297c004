package dev.tokenvault.bench.baseline;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import javax.sql.DataSource;

/**
 * What a careful user builds on MariaDB/MySQL or PostgreSQL instead of the SDK's {@code DBStore}: a connection pool
 * (the caller's {@link DataSource}, HikariCP in the benchmarks), prepared statements with bound values, a unique
 * index on each lookup column, and each save one transaction whose lookups lock the rows they read
 * ({@code select ... for update}), retried a few times, after a jittered back-off, on a deadlock or serialization
 * failure. Plaintext, as the SDK's store is. The contract logic is {@link ContractBaseline}'s, shared with the other correct baselines.
 */
public final class TunedJdbcStore extends ContractBaseline {
    private static final int ATTEMPTS = 5;
    private static final String COLUMNS = String.join(",", Rows.COLUMNS);

    private final DataSource pool;
    private final String table;
    private final String[] selectBy = new String[Rows.WIDTH];
    private final String[] selectForUpdateBy = new String[Rows.WIDTH];
    private final String insert;
    private final String update;
    /** The connection of the write transaction this thread runs, if any. */
    private final ThreadLocal<Connection> transaction = new ThreadLocal<>();

    public TunedJdbcStore(DataSource pool, String table) {
        this.pool = pool;
        this.table = table;
        for (int col = 0; col < Rows.WIDTH; col++) {
            selectBy[col] = "select " + COLUMNS + " from " + table + " where " + Rows.COLUMNS[col] + " = ?";
            selectForUpdateBy[col] = selectBy[col] + " for update";
        }
        insert = Rows.insertSql(table);
        update = Rows.updateSql(table);
    }

    /** Creates the table, with its unique lookup columns, when it is missing. */
    public TunedJdbcStore createTable() {
        try (Connection c = pool.getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate("create table if not exists " + table + " (id varchar(128) not null primary key,"
                    + " user_name varchar(255), client_id varchar(255), client_secret varchar(255),"
                    + " refresh_token varchar(255), access_token varchar(255), grant_token varchar(255),"
                    + " expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255),"
                    + " unique (user_name), unique (access_token), unique (refresh_token), unique (grant_token))");
        } catch (SQLException e) {
            throw Rows.io("cannot create table " + table, e);
        }
        return this;
    }

    @Override
    protected String[] byColumn(int col, String value) {
        Connection tx = transaction.get();
        try {
            if (tx != null) {
                return select(tx, selectForUpdateBy[col], value);
            }
            try (Connection c = pool.getConnection()) {
                return select(c, selectBy[col], value);
            }
        } catch (SQLException e) {
            throw Rows.io("lookup failed", e);
        }
    }

    private static String[] select(Connection c, String sql, String value) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, value);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Rows.of(rs) : null;
            }
        }
    }

    @Override
    protected <T> T inWriteTransaction(Supplier<T> work) {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = pool.getConnection()) {
                c.setAutoCommit(false);
                transaction.set(c);
                try {
                    T result = work.get();
                    c.commit();
                    return result;
                } catch (RuntimeException | SQLException e) {
                    c.rollback();
                    if (attempt < ATTEMPTS && isTransient(e)) {
                        backOff(attempt);
                        continue;
                    }
                    throw e;
                } finally {
                    transaction.remove();
                }
            } catch (SQLException e) {
                throw Rows.io("write failed", e);
            }
        }
    }

    /**
     * Sleeps a random time that grows with the attempt (up to 4, 8, 16, 32 ms), as tokenvault's own write retry does:
     * without it, eight writers of a hot set on MariaDB deadlocked again at once until the attempts ran out (seen in
     * the CI smoke pass).
     */
    private static void backOff(int attempt) {
        long maxMillis = 2L << attempt;
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ThreadLocalRandom.current().nextLong(1, maxMillis + 1)));
    }

    /** A deadlock or serialization failure (SQLSTATE class 40, PostgreSQL's 40P01 included): worth a retry. */
    private static boolean isTransient(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null && s.getSQLState().startsWith("40")) {
                return true;
            }
        }
        return false;
    }

    @Override
    protected void write(String[] existing, String[] merged) {
        Connection c = transaction.get();
        try (PreparedStatement ps = c.prepareStatement(existing == null ? insert : update)) {
            if (existing == null) {
                Rows.bindInsert(ps, merged);
            } else {
                Rows.bindUpdate(ps, merged);
            }
            ps.executeUpdate();
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("23")) {
                // a concurrent transaction took the value after this one checked it
                throw new TokenStoreException(ErrorCode.CONFLICT, "a unique value is held by another record");
            }
            throw Rows.io("write failed", e);
        }
    }

    @Override
    public void bulkLoad(int count, IntFunction<OAuthToken> tokens) {
        JdbcBulk.insert(pool::getConnection, table, count, tokens);
    }

    @Override
    public void deleteToken(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        int deleted = inWriteTransaction(() -> update("delete from " + table + " where id = ?", id));
        if (deleted == 0) {
            throw Rows.notFound(id);
        }
    }

    private int update(String sql, String value) {
        try (PreparedStatement ps = transaction.get().prepareStatement(sql)) {
            if (value != null) {
                ps.setString(1, value);
            }
            return ps.executeUpdate();
        } catch (SQLException e) {
            throw Rows.io("delete failed", e);
        }
    }

    @Override
    public List<OAuthToken> getTokens() {
        List<OAuthToken> out = new ArrayList<>();
        try (Connection c = pool.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select " + COLUMNS + " from " + table)) {
            while (rs.next()) {
                out.add(Rows.toToken(Rows.of(rs)));
            }
        } catch (SQLException e) {
            throw Rows.io("list failed", e);
        }
        return out;
    }

    @Override
    public void deleteTokens() {
        inWriteTransaction(() -> update("delete from " + table, null));
    }
}
