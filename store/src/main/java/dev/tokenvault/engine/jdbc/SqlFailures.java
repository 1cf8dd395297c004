package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.EngineException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;

/** What a {@link SQLException} means for the engine: another node's collision ({@code RETRY}), or a failure. */
final class SqlFailures {
    /** MariaDB/MySQL: deadlock found; lock wait timeout exceeded. */
    private static final int MYSQL_DEADLOCK = 1213;
    private static final int MYSQL_LOCK_WAIT_TIMEOUT = 1205;
    /** PostgreSQL: lock_timeout (or NOWAIT) could not get a lock. */
    private static final String PG_LOCK_NOT_AVAILABLE = "55P03";

    private SqlFailures() {
    }

    /**
     * Whether another node's concurrent transaction caused {@code e}: a deadlock or serialization failure (SQLSTATE
     * 40001, PostgreSQL's 40P01, MariaDB's 1213). The transaction was rolled back, or must be. A lock wait that timed
     * out is not one: a session holds the rows and does not let go (a paused process, a transaction left open), and
     * running the write again would wait as long again, five times over; it is {@code IO}.
     */
    static boolean isCollision(SQLException e) {
        for (SQLException s = e; s != null; s = s.getNextException()) {
            String state = s.getSQLState();
            if (s.getErrorCode() != MYSQL_LOCK_WAIT_TIMEOUT
                    && ("40001".equals(state) || "40P01".equals(state) || s.getErrorCode() == MYSQL_DEADLOCK)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code e} is a lock wait that timed out (MariaDB's 1205, PostgreSQL's 55P03). */
    static boolean isLockWaitTimeout(SQLException e) {
        for (SQLException s = e; s != null; s = s.getNextException()) {
            if (s.getErrorCode() == MYSQL_LOCK_WAIT_TIMEOUT || PG_LOCK_NOT_AVAILABLE.equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code e} is a unique-key violation: SQLSTATE 23505, MariaDB's 1062. */
    static boolean isDuplicateKey(SQLException e) {
        if ("23505".equals(e.getSQLState()) || e.getErrorCode() == 1062) {
            return true;
        }
        // a failed batch (BatchUpdateException) names the statement's failure as its cause or next exception
        return e.getCause() instanceof SQLException cause && cause != e && isDuplicateKey(cause)
                || e.getNextException() != null && isDuplicateKey(e.getNextException());
    }

    /** Whether {@code e} says the connection is gone (SQLSTATE class 08, or the driver's own connection failures). */
    static boolean isConnectionLost(SQLException e) {
        String state = e.getSQLState();
        return e instanceof SQLNonTransientConnectionException || e instanceof SQLTransientConnectionException
                || (state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("70100")));
    }

    /** {@code e}, met while doing {@code what}, as an {@link EngineException}: {@code RETRY} or {@code IO}. */
    static EngineException translate(SQLException e, String what) {
        // a duplicate key that reaches here: a row another node inserted between this write's look and its insert
        if (isCollision(e) || isDuplicateKey(e)) {
            return retry(what + ": another node changed the same rows at the same time", e);
        }
        SQLException root = root(e);
        String state = root.getSQLState() == null ? "" : root.getSQLState();
        String detail = state.startsWith("28") ? "the database refused the login (wrong user or password?)"
                : isLockWaitTimeout(e) || isLockWaitTimeout(root) ? "timed out waiting for rows another session holds"
                + " locked (a stuck process, or a transaction left open?)"
                : isConnectionLost(e) || isConnectionLost(root) ? "the database cannot be reached, or the connection"
                + " to it was lost" : "the database failed";
        return new EngineException(EngineException.Kind.IO, what + ": " + detail + " (SQLSTATE " + root.getSQLState()
                + ": " + root.getMessage() + ")", e);
    }

    /** The innermost SQLException among the causes of {@code e}: a pool's timeout wraps the driver's real reason. */
    private static SQLException root(SQLException e) {
        SQLException root = e;
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                root = s;
            }
        }
        return root;
    }

    static EngineException retry(String message, Throwable cause) {
        return new EngineException(EngineException.Kind.RETRY, message, cause);
    }
}
