package dev.tokenvault.bench.baseline;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * What a careful user builds over SQLite instead of the seed's design: one connection per thread, prepared
 * statements, a unique index on each lookup column, WAL, {@code synchronous=FULL} (a save is durable on return, as
 * tokenvault's is). SQLite admits one writer at a time, so writers take an in-process lock before {@code BEGIN
 * IMMEDIATE} instead of spinning in SQLite's sleeping busy handler; readers never wait for writers (WAL).
 */
public final class TunedSqliteStore extends ContractBaseline implements AutoCloseable {
    private static final String COLUMNS = String.join(",", Rows.COLUMNS);
    private static final String[] SELECT_BY = new String[Rows.WIDTH];

    static {
        for (int c = 0; c < Rows.WIDTH; c++) {
            SELECT_BY[c] = "select " + COLUMNS + " from oauthtoken where " + Rows.COLUMNS[c] + " = ?";
        }
    }

    private final String url;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final List<Session> sessions = new CopyOnWriteArrayList<>();
    private final ThreadLocal<Session> session = ThreadLocal.withInitial(this::newSession);
    private volatile boolean closed;

    /** One connection and its prepared statements, used by one thread. */
    private final class Session {
        final Connection c;
        final PreparedStatement[] selectBy = new PreparedStatement[Rows.WIDTH];
        final PreparedStatement insert;
        final PreparedStatement update;
        final PreparedStatement delete;

        Session(Connection c) throws SQLException {
            this.c = c;
            this.insert = c.prepareStatement(Rows.insertSql("oauthtoken"));
            this.update = c.prepareStatement(Rows.updateSql("oauthtoken"));
            this.delete = c.prepareStatement("delete from oauthtoken where id = ?");
        }

        PreparedStatement selectBy(int col) throws SQLException {
            PreparedStatement ps = selectBy[col];
            if (ps == null) {
                ps = c.prepareStatement(SELECT_BY[col]);
                selectBy[col] = ps;
            }
            return ps;
        }
    }

    public TunedSqliteStore(Path file) {
        this.url = "jdbc:sqlite:" + file.toAbsolutePath();
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.executeUpdate("create table if not exists oauthtoken (id varchar(255) not null primary key,"
                    + " user_name varchar(255), client_id varchar(255), client_secret varchar(255),"
                    + " refresh_token varchar(255), access_token varchar(255), grant_token varchar(255),"
                    + " expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255))");
            for (String col : new String[] {"user_name", "access_token", "refresh_token", "grant_token"}) {
                s.executeUpdate("create unique index if not exists oauthtoken_" + col + " on oauthtoken(" + col + ")");
            }
        } catch (SQLException e) {
            throw Rows.io("cannot open " + url, e);
        }
    }

    private Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("journal_mode", "WAL");
        p.setProperty("synchronous", "FULL");
        p.setProperty("busy_timeout", "10000");
        return DriverManager.getConnection(url, p);
    }

    private Session newSession() {
        if (closed) {
            throw new TokenStoreException(ErrorCode.CLOSED, "store is closed");
        }
        try {
            Session s = new Session(connect());
            sessions.add(s);
            return s;
        } catch (SQLException e) {
            throw Rows.io("cannot connect to " + url, e);
        }
    }

    private Session session() {
        if (closed) {
            throw new TokenStoreException(ErrorCode.CLOSED, "store is closed");
        }
        return session.get();
    }

    @Override
    protected String[] byColumn(int col, String value) {
        try {
            PreparedStatement ps = session().selectBy(col);
            ps.setString(1, value);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Rows.of(rs) : null;
            }
        } catch (SQLException e) {
            throw Rows.io("lookup failed", e);
        }
    }

    @Override
    protected <T> T inWriteTransaction(Supplier<T> work) {
        Session s = session();
        writeLock.lock();
        try (Statement st = s.c.createStatement()) {
            st.executeUpdate("begin immediate");
            boolean ok = false;
            try {
                T result = work.get();
                st.executeUpdate("commit");
                ok = true;
                return result;
            } finally {
                if (!ok) {
                    st.executeUpdate("rollback");
                }
            }
        } catch (SQLException e) {
            throw Rows.io("write failed", e);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    protected void write(String[] existing, String[] merged) {
        Session s = session();
        try {
            if (existing == null) {
                Rows.bindInsert(s.insert, merged);
                s.insert.executeUpdate();
            } else {
                Rows.bindUpdate(s.update, merged);
                s.update.executeUpdate();
            }
        } catch (SQLException e) {
            if (e.getMessage() != null && e.getMessage().contains("UNIQUE")) {
                throw new TokenStoreException(ErrorCode.CONFLICT, "a unique value is held by another record");
            }
            throw Rows.io("write failed", e);
        }
    }

    @Override
    public void bulkLoad(int count, IntFunction<OAuthToken> tokens) {
        Session s = session();
        writeLock.lock();
        try (Statement st = s.c.createStatement()) {
            int batch = 10_000;
            for (int from = 0; from < count; from += batch) {
                st.executeUpdate("begin immediate");
                for (int i = from; i < Math.min(count, from + batch); i++) {
                    Rows.bindInsert(s.insert, Rows.of(tokens.apply(i)));
                    s.insert.addBatch();
                }
                s.insert.executeBatch();
                st.executeUpdate("commit");
            }
        } catch (SQLException e) {
            throw Rows.io("bulk load failed", e);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void deleteToken(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        int n = inWriteTransaction(() -> {
            try {
                PreparedStatement d = session().delete;
                d.setString(1, id);
                return d.executeUpdate();
            } catch (SQLException e) {
                throw Rows.io("delete failed", e);
            }
        });
        if (n == 0) {
            throw Rows.notFound(id);
        }
    }

    @Override
    public List<OAuthToken> getTokens() {
        List<OAuthToken> out = new ArrayList<>();
        try (Statement st = session().c.createStatement();
             ResultSet rs = st.executeQuery("select " + COLUMNS + " from oauthtoken")) {
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
        inWriteTransaction(() -> {
            try (Statement st = session().c.createStatement()) {
                return st.executeUpdate("delete from oauthtoken");
            } catch (SQLException e) {
                throw Rows.io("delete failed", e);
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        for (Session s : sessions) {
            try {
                s.c.close();
            } catch (SQLException ignored) {
                // closing
            }
        }
        sessions.clear();
    }
}
