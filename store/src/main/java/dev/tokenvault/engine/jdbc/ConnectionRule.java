package dev.tokenvault.engine.jdbc;

import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.OptionalInt;
import javax.sql.DataSource;

/**
 * How many connections a node needs of its pool at once, and the check at open that the pool has them: a pool too
 * small would make the node wait for a connection that only it could free, until the pool's timeout, at every call.
 * The pool is the caller's, so its size is read, by reflection, from the getter the common pools have (HikariCP's
 * {@code getMaximumPoolSize}, DBCP's {@code getMaxTotal}, c3p0's {@code getMaxPoolSize}, Tomcat's
 * {@code getMaxActive}); for another pool the open itself borrows the connections it needs at once.
 */
final class ConnectionRule {
    private static final String[] SIZE_GETTERS = {"getMaximumPoolSize", "getMaxTotal", "getMaxPoolSize",
        "getMaxActive"};

    private ConnectionRule() {
    }

    /**
     * Fails when the pool of {@code dataSource} is known to hold fewer than {@code needed} connections.
     *
     * @throws IllegalArgumentException naming the pool's size, the rule and {@code why}
     */
    static void check(DataSource dataSource, int needed, String why) {
        OptionalInt size = poolSize(dataSource);
        if (size.isPresent() && size.getAsInt() > 0 && size.getAsInt() < needed) {
            throw tooSmall("holds at most " + size.getAsInt(), needed, why);
        }
    }

    /**
     * Borrows a second connection while the caller holds one, at open; a pool that times out instead (its size
     * unknown to {@link #check}) is too small.
     */
    static Connection second(DataSource dataSource, String why) throws SQLException {
        try {
            return dataSource.getConnection();
        } catch (SQLTransientConnectionException e) {
            if (e.getCause() == null) { // the pool's own timeout; a driver's failure comes as the cause
                throw tooSmall("gave no second connection while the store held one (" + e.getMessage() + ")", 2, why);
            }
            throw e;
        }
    }

    private static IllegalArgumentException tooSmall(String what, int needed, String why) {
        return new IllegalArgumentException("the dataSource's pool " + what + "; a shared store needs a pool of at"
                + " least " + needed + " connections per vault here: " + why);
    }

    /** The pool's maximum size, when its class has one of the usual getters. */
    static OptionalInt poolSize(DataSource dataSource) {
        for (String getter : SIZE_GETTERS) {
            try {
                Method m = dataSource.getClass().getMethod(getter);
                if (m.getReturnType() == int.class) {
                    return OptionalInt.of((int) m.invoke(dataSource));
                }
            } catch (ReflectiveOperationException | RuntimeException e) {
                // not this pool's getter
            }
        }
        return OptionalInt.empty();
    }
}
