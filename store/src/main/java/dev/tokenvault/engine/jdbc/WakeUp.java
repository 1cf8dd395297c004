package dev.tokenvault.engine.jdbc;

import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * How the change feed waits between polls. {@link #SLEEP} sleeps the interval. On PostgreSQL, {@link #listening} keeps
 * one connection that {@code LISTEN}s to the store's channel, and a commit's {@code pg_notify} ends the wait at once.
 * The driver is the caller's, so its {@code PGConnection.getNotifications(int)} is called by reflection: the store
 * module has no dependency on it. Whatever fails (no such driver API, a lost connection), the wait falls back to a
 * sleep and the listening connection is opened again at the next wait.
 */
class WakeUp implements AutoCloseable {
    static final WakeUp SLEEP = new WakeUp();

    /** Waits at most {@code interval}; returns early when woken. */
    void await(Duration interval) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep(interval.toNanos());
    }

    @Override
    public void close() {
    }

    /** The channel a store's commits notify on PostgreSQL: the change log table's name. */
    static String channel(Sql sql) {
        return sql.changes;
    }

    /**
     * A wait that PostgreSQL notifications on {@code channel} end early, listening on {@code first} (which it owns)
     * and, when that is lost, on a connection it borrows again.
     */
    static WakeUp listening(DataSource dataSource, String channel, Connection first) {
        return new Listening(dataSource, channel, first);
    }

    private static final class Listening extends WakeUp {
        private final DataSource dataSource;
        private final String channel;
        private Connection connection; // the poller thread's only
        private Object pgConnection;
        private Method getNotifications;
        private boolean closed;
        private Connection first; // taken at open, listening from the first wait on

        Listening(DataSource dataSource, String channel, Connection first) {
            this.dataSource = dataSource;
            this.channel = channel;
            this.first = first;
        }

        @Override
        void await(Duration interval) throws InterruptedException {
            if (!closed && (connection != null || listen())) {
                try {
                    getNotifications.invoke(pgConnection, (int) Math.max(1, interval.toMillis()));
                    return;
                } catch (ReflectiveOperationException | RuntimeException e) {
                    drop();
                }
            }
            super.await(interval);
        }

        private boolean listen() {
            try {
                Connection c = first != null ? first : dataSource.getConnection();
                first = null;
                connection = c; // dropped when what follows fails
                try (Statement st = c.createStatement()) {
                    st.execute("LISTEN " + channel);
                }
                Class<?> pg = Class.forName("org.postgresql.PGConnection", false,
                        c.getClass().getClassLoader() == null ? WakeUp.class.getClassLoader()
                                : c.getClass().getClassLoader());
                pgConnection = c.unwrap(pg);
                getNotifications = pg.getMethod("getNotifications", int.class);
                return true;
            } catch (SQLException | ReflectiveOperationException | RuntimeException | LinkageError e) {
                drop();
                return false;
            }
        }

        private void drop() {
            Connection c = connection;
            connection = null;
            pgConnection = null;
            if (c != null) {
                Jdbc.abandon(c, null);
            }
        }

        /** By the poller thread, when it stops. */
        @Override
        public void close() {
            closed = true;
            drop();
            if (first != null) {
                Jdbc.abandon(first, null);
                first = null;
            }
        }
    }
}
