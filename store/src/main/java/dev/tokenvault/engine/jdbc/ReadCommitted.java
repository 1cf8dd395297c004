package dev.tokenvault.engine.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Puts a write's transaction at READ COMMITTED without a round trip per write where the pool's connections already
 * are, and with one statement where they are not.
 *
 * <p>Asking a connection its isolation level is a query on some drivers (PostgreSQL's runs {@code SHOW TRANSACTION
 * ISOLATION LEVEL} at every call, and HikariCP passes the call through), and setting it through JDBC changes the
 * session, which a pool then resets when the connection comes back: up to three round trips per write. So the level
 * is asked once per physical connection (a pool hands its connections out in its configured state, the same at every
 * borrow), and a connection that is not at READ COMMITTED gets {@code SET TRANSACTION ISOLATION LEVEL READ
 * COMMITTED}, which sets the level of the transaction about to begin only and leaves the session as the pool
 * configured it. A pool configured at READ COMMITTED (HikariCP's {@code transactionIsolation}) saves that statement.
 */
final class ReadCommitted {
    private static final String SET = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";

    /** Physical connection to whether it is at READ COMMITTED when borrowed; weak, so closed ones go. */
    private final Map<Connection, Boolean> atBorrow = Collections.synchronizedMap(new WeakHashMap<>());

    /** On a connection just set to manual commit, with no transaction begun: its next transaction is READ COMMITTED. */
    void begin(Connection c) throws SQLException {
        Connection physical = c.isWrapperFor(Connection.class) ? c.unwrap(Connection.class) : c;
        Boolean readCommitted = atBorrow.get(physical);
        if (readCommitted == null) {
            readCommitted = c.getTransactionIsolation() == Connection.TRANSACTION_READ_COMMITTED;
            atBorrow.put(physical, readCommitted);
        }
        if (!readCommitted) {
            try (Statement st = c.createStatement()) {
                st.execute(SET);
            }
        }
    }
}
