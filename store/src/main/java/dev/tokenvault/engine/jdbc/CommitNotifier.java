package dev.tokenvault.engine.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;

/**
 * How a node wakes the other nodes' change feeds on PostgreSQL once it has committed: a daemon thread sends one
 * {@code pg_notify} for a burst of commits, on a pooled connection it borrows for that statement alone, at most one
 * every {@link WakeUp#MIN_GAP} (the listening side polls no more often than that anyway). {@link #NONE} sends
 * nothing, for MariaDB and MySQL, whose feeds only poll.
 *
 * <p>Why not in the committing transaction, where a {@code NOTIFY} is free of a round trip: PostgreSQL takes one lock
 * for the whole database when a transaction that notified commits and holds it through the commit's WAL flush, so
 * notifying commits wait for each other's flushes, and each such commit also signals every listening backend (a
 * probe on this project's CI machine measured 200 to 300 us more per commit; bench/README.md, "JDBC results").
 * Outside the transaction the notification is a short transaction of its own, which changes no table and so does
 * not wait for a WAL flush, sent once per burst.
 *
 * <p>What it guarantees: every commit reported to {@link #committed} before the thread clears its flag is followed by a
 * notification sent after that commit, so a feed woken by it and polling then sees the commit. A notification that
 * fails (the pool is exhausted, the connection is lost) is dropped: the feeds' polls every
 * {@link JdbcChangeFeed#POLL_INTERVAL} remain, and the staleness bound rests on those, never on notifications.
 */
class CommitNotifier {
    static final CommitNotifier NONE = new CommitNotifier();

    /** Reports a commit of this node; never blocks. */
    void committed() {
    }

    void start() {
    }

    void stop() {
    }

    /** Sends {@code pg_notify(channel, node)}; {@code node} is the payload a feed tells its own node's commits by. */
    static CommitNotifier postgres(DataSource dataSource, String channel, String node, String threadName) {
        return new Postgres(dataSource, channel, node, threadName);
    }

    private static final class Postgres extends CommitNotifier {
        private static final long GAP_NANOS = WakeUp.MIN_GAP.toNanos();
        private final DataSource dataSource;
        private final String channel;
        private final String node;
        private final Thread thread;
        private final AtomicBoolean pending = new AtomicBoolean();
        private volatile boolean stopped;

        Postgres(DataSource dataSource, String channel, String node, String threadName) {
            this.dataSource = dataSource;
            this.channel = channel;
            this.node = node;
            this.thread = new Thread(this::run, threadName);
            thread.setDaemon(true);
        }

        @Override
        void committed() {
            // the plain read first: under a stream of commits the flag is mostly set already, and a read does not
            // contend for the cache line the way a write does
            if (!pending.get() && !pending.getAndSet(true)) {
                LockSupport.unpark(thread);
            }
        }

        @Override
        void start() {
            thread.start();
        }

        @Override
        void stop() {
            stopped = true;
            thread.interrupt();
        }

        private void run() {
            long sentAt = System.nanoTime() - GAP_NANOS;
            try {
                while (!stopped) {
                    if (!pending.get()) {
                        LockSupport.park(this);
                        continue; // woken by a commit, by stop(), or spuriously: look again
                    }
                    long gap = sentAt + GAP_NANOS - System.nanoTime();
                    if (gap > 0) {
                        TimeUnit.NANOSECONDS.sleep(gap); // commits meanwhile join this notification
                    }
                    // cleared before the send: a commit reported after this line sets it again and gets a later one
                    pending.set(false);
                    sendQuietly();
                    sentAt = System.nanoTime();
                }
            } catch (InterruptedException e) {
                // stopped
            }
        }

        private void sendQuietly() {
            try (Connection c = dataSource.getConnection();
                 PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
                ps.setString(1, channel);
                ps.setString(2, node);
                ps.execute();
                if (!c.getAutoCommit()) {
                    c.commit(); // a pool that hands out connections outside autocommit
                }
            } catch (SQLException | RuntimeException e) {
                // dropped: the feeds' polls find the commit within their interval
            }
        }
    }
}
