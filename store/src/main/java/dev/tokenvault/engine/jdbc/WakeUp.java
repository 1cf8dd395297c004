package dev.tokenvault.engine.jdbc;

import java.lang.reflect.Array;
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
     * and, when that is lost, on a connection it borrows again. Notifications whose payload is {@code ownNode} (this
     * node's own commits, which it reports when it makes them) do not end it, and after a wake-up the next wait
     * lets {@link #MIN_GAP} pass first: a stream of other nodes' commits is answered by one poll every few
     * milliseconds, not by one poll per commit.
     */
    static WakeUp listening(DataSource dataSource, String channel, String ownNode, Connection first) {
        return new Listening(dataSource, channel, ownNode, first);
    }

    /** The least time between two polls that notifications start. */
    static final Duration MIN_GAP = Duration.ofMillis(5);

    private static final class Listening extends WakeUp {
        private final DataSource dataSource;
        private final String channel;
        private final String ownNode;
        private Connection connection; // the poller thread's only
        private Object pgConnection;
        private Method getNotifications;
        private Method getParameter;
        private long wokenAt = System.nanoTime() - MIN_GAP.toNanos();
        private boolean closed;
        private Connection first; // taken at open, listening from the first wait on

        Listening(DataSource dataSource, String channel, String ownNode, Connection first) {
            this.dataSource = dataSource;
            this.channel = channel;
            this.ownNode = ownNode;
            this.first = first;
        }

        @Override
        void await(Duration interval) throws InterruptedException {
            long deadline = System.nanoTime() + interval.toNanos();
            long gap = wokenAt + MIN_GAP.toNanos() - System.nanoTime();
            if (gap > 0) {
                TimeUnit.NANOSECONDS.sleep(gap); // what arrives meanwhile waits in the driver for the next call
            }
            if (!closed && (connection != null || listen())) {
                try {
                    for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
                        Object got = getNotifications.invoke(pgConnection,
                                (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                        if (fromAnotherNode(got)) {
                            wokenAt = System.nanoTime();
                            return;
                        }
                    }
                    return;
                } catch (ReflectiveOperationException | RuntimeException e) {
                    drop();
                }
            }
            super.await(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }

        /** Whether {@code got} (the driver's array of notifications, or null) holds one that is not this node's. */
        private boolean fromAnotherNode(Object got) throws ReflectiveOperationException {
            if (got == null) {
                return false;
            }
            for (int i = 0; i < Array.getLength(got); i++) {
                if (!ownNode.equals(getParameter.invoke(Array.get(got, i)))) {
                    return true;
                }
            }
            return false;
        }

        private boolean listen() {
            try {
                Connection c = first != null ? first : dataSource.getConnection();
                first = null;
                connection = c; // dropped when what follows fails
                try (Statement st = c.createStatement()) {
                    st.execute("LISTEN " + channel);
                }
                ClassLoader loader = c.getClass().getClassLoader() == null ? WakeUp.class.getClassLoader()
                        : c.getClass().getClassLoader();
                Class<?> pg = Class.forName("org.postgresql.PGConnection", false, loader);
                pgConnection = c.unwrap(pg);
                getNotifications = pg.getMethod("getNotifications", int.class);
                getParameter = Class.forName("org.postgresql.PGNotification", false, loader).getMethod("getParameter");
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
