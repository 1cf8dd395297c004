package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.EngineException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Which connection each call of a node's engine runs on, under one rule: no thread waits for a connection while it
 * holds one, so a pool of one connection serves the node (plus the change feed's listening one on PostgreSQL).
 *
 * <ul>
 *   <li>The writer's thread owns the {@link WriteUnit} of the write in progress, and its reads run on it.</li>
 *   <li>A thread that holds a connection outside a write (a scan, a metadata update: {@link #holding}) reads on it.</li>
 *   <li>Any other read borrows a connection for its statement and returns it.</li>
 * </ul>
 * A read that fails inside a write loses the write's transaction; the write's later stages and its commit then fail
 * too ({@link #requireNotLost}), so no caller is told "saved" for a batch that is gone.
 */
final class NodeConnections {
    final DataSource dataSource;
    private final String where;
    private volatile boolean closed;
    // the write of this node in progress, or null; touched by its owner thread only (the single writer)
    private volatile WriteUnit unit;
    // why the writer's transaction was lost by a failed read, until the writer ends that write; writer thread only
    private EngineException lost;
    /** The connection the calling thread holds outside a write, which its reads use meanwhile. */
    private final ThreadLocal<Connection> held = new ThreadLocal<>();
    private final ReadCommitted readCommitted = new ReadCommitted();

    NodeConnections(DataSource dataSource, String where) {
        this.dataSource = dataSource;
        this.where = where;
    }

    /** A read's body: on {@code c}, which belongs to {@code unit} when the caller is the writer (else null). */
    @FunctionalInterface
    interface ReadBody<T> {
        T run(Connection c, WriteUnit unit) throws SQLException;
    }

    void live() {
        if (closed) {
            throw new EngineException(EngineException.Kind.CLOSED, "the " + where + " is closed");
        }
    }

    void close() {
        closed = true;
    }

    boolean isClosed() {
        return closed;
    }

    /** The write unit when the calling thread owns it, else {@code null}. */
    WriteUnit own() {
        WriteUnit u = unit;
        return u != null && u.ownedByCaller() ? u : null;
    }

    /** Runs a read: on the caller's write unit, or the connection it holds, else on one borrowed for it. */
    <T> T read(String what, ReadBody<T> body) {
        live();
        WriteUnit u = own();
        try {
            if (u != null) {
                u.sendDeferred(); // a read of the write sees what the write staged
                return body.run(u.connection, u);
            }
            Connection mine = held.get();
            if (mine != null) {
                return body.run(mine, null);
            }
            try (Connection c = dataSource.getConnection()) {
                return holding(c, unused -> body.run(c, null));
            }
        } catch (SQLException e) {
            EngineException failure = SqlFailures.translate(e, what + " in the " + where);
            if (u != null) {
                // the transaction is gone with what the write staged: its later stages and its commit must fail too
                abandonUnit(e);
                lost = failure;
            }
            throw failure;
        }
    }

    /** Runs {@code body} with {@code c} as the connection of the calling thread's reads. */
    <T> T holding(Connection c, Jdbc.SqlBody<T> body) throws SQLException {
        held.set(c);
        try {
            return body.run(c);
        } finally {
            held.remove();
        }
    }

    /** Fails a stage or commit of a write whose transaction a failed read lost (see {@link #read}). */
    void requireNotLost() {
        EngineException l = lost;
        if (l != null) {
            throw new EngineException(l.kind(), "the write's transaction was lost, with what it staged: "
                    + l.getMessage(), l);
        }
    }

    /** The writer ends a write: a loss it was told of is forgotten. */
    void forgetLoss() {
        lost = null;
    }

    /** The caller's write unit, opened on a borrowed connection when it has none. */
    WriteUnit ownOrOpen(boolean locking) {
        WriteUnit u = own();
        if (u != null) {
            return u;
        }
        if (unit != null) {
            throw new IllegalStateException("another thread's write is in progress: the engine has one writer");
        }
        Connection c = null;
        try {
            c = dataSource.getConnection();
            c.setAutoCommit(false);
            readCommitted.begin(c);
            u = new WriteUnit(c, locking);
            unit = u;
            return u;
        } catch (SQLException e) {
            Jdbc.abandon(c, e);
            throw SqlFailures.translate(e, "starting a write in the " + where);
        }
    }

    /** Rolls back what the caller's unit left uncommitted, if it has one, and returns its connection. */
    void abandonUnit(Throwable cause) {
        WriteUnit u = own();
        if (u != null) {
            closeUnit(u, cause, true);
        }
    }

    /**
     * Returns the unit's connection to the pool, first rolling back what it left uncommitted unless it just committed
     * ({@code rollback} false: a round trip saved).
     */
    void closeUnit(WriteUnit u, Throwable cause, boolean rollback) {
        unit = null;
        try {
            if (!u.connection.isClosed()) {
                if (rollback) {
                    u.connection.rollback();
                }
                u.connection.setAutoCommit(true);
            }
        } catch (SQLException e) {
            if (cause != null) {
                cause.addSuppressed(e);
            }
        }
        Jdbc.abandon(u.connection, cause);
    }
}
