package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.ChangeFeed;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.sql.DataSource;

/**
 * A node's view of the change log: a daemon thread polls it by sequence number every {@link #POLL_INTERVAL} and tells
 * the listener which records other nodes changed (its own commits are told at once, by {@link #committed}).
 *
 * <p>On PostgreSQL a node's commits are followed by a notification ({@code pg_notify}, one per burst, sent by
 * {@link CommitNotifier} outside the committing transaction), which wakes the other nodes' pollers at once
 * ({@link WakeUp}); the polls stay, as the fallback when a notification is dropped or lost with its connection.
 *
 * <p>The staleness bound: the feed {@link #isCurrent() is current} while its last successful poll started less than
 * {@link #BOUND} ago; such a poll saw every change committed before it started, so a cache that serves only while the
 * feed is current serves nothing older than the bound. A poll that fails, or finds that the log was pruned past the
 * last number it saw (a gap), leaves the feed behind: when a poll succeeds again, the listener is told that everything
 * changed before the feed is current again. The log is pruned of rows older than {@link #KEEP} by every node at its
 * first poll and then about once a minute (the newest row always stays, so a node that slept through the pruning sees
 * the gap).
 */
final class JdbcChangeFeed implements ChangeFeed {
    static final Duration POLL_INTERVAL = Duration.ofMillis(100);
    static final Duration BOUND = Duration.ofSeconds(1);
    static final Duration KEEP = Duration.ofMinutes(5);
    private static final int POLLS_PER_PRUNE = 600;
    private static final long BOUND_NANOS = BOUND.toNanos();

    private final DataSource dataSource;
    private final Sql sql;
    private final String where;
    private final Thread thread;
    /** Waits between polls: PostgreSQL's notifications end the wait early; elsewhere it sleeps. */
    private final WakeUp wakeUp;
    /** Wakes the other nodes' feeds after this node's commits (PostgreSQL); {@link CommitNotifier#NONE} elsewhere. */
    private final CommitNotifier notifier;
    private volatile Listener listener;
    private volatile boolean stopped;
    // written by the poller only
    private long lastSeen;
    private volatile long lastPollStart = System.nanoTime();
    private volatile boolean behind;
    private long polls;

    JdbcChangeFeed(DataSource dataSource, Sql sql, String where, long lastSeen, WakeUp wakeUp,
                   CommitNotifier notifier) {
        this.dataSource = dataSource;
        this.wakeUp = wakeUp;
        this.notifier = notifier;
        this.sql = sql;
        this.where = where;
        this.lastSeen = lastSeen;
        this.thread = new Thread(this::run, "tokenvault-changes-" + sql.records);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
        notifier.start();
    }

    void stop() {
        stopped = true;
        thread.interrupt(); // the poller ends within one interval, and releases its listening connection
        notifier.stop();
    }

    @Override
    public void listen(Listener l) {
        listener = l;
    }

    @Override
    public boolean isCurrent() {
        return System.nanoTime() - lastPollStart < BOUND_NANOS && !behind;
    }

    /** This node committed: tells the listener at once, on the committing thread, and the other nodes soon after. */
    void committed(boolean everything, Collection<String> ids) {
        notifier.committed();
        Listener l = listener;
        if (l == null) {
            return;
        }
        if (everything) {
            l.everythingChanged();
        } else {
            l.recordsChanged(ids);
        }
    }

    private void run() {
        try {
            while (!stopped) {
                try {
                    poll();
                    // at the first poll too: a fleet of short-lived processes (none living a minute) must prune
                    if (polls++ % POLLS_PER_PRUNE == 0) {
                        prune();
                    }
                } catch (SQLException | RuntimeException e) {
                    // behind: the next successful poll clears the cache
                }
                wakeUp.await(POLL_INTERVAL);
            }
        } catch (InterruptedException e) {
            // stopped
        } finally {
            wakeUp.close();
        }
    }

    /**
     * Reads the rows after the last seen; tells the listener; then the feed is current as of this poll's start. When
     * it fails, the feed is behind until a poll succeeds (which then tells the listener that everything changed).
     */
    void poll() throws SQLException {
        try {
            pollOnce();
        } catch (SQLException | RuntimeException e) {
            behind = true;
            throw e;
        }
    }

    private void pollOnce() throws SQLException {
        long start = System.nanoTime();
        boolean wasBehind = behind || start - lastPollStart >= BOUND_NANOS;
        List<String> ids = new ArrayList<>();
        boolean[] everything = {wasBehind};
        long[] last = {lastSeen};
        try (Connection c = dataSource.getConnection()) {
            Jdbc.query(c, sql.changesAfter, rs -> {
                while (rs.next()) {
                    long seq = rs.getLong(1);
                    if (seq != last[0] + 1) {
                        everything[0] = true; // pruned past what this node saw
                    }
                    last[0] = seq;
                    byte[] id = rs.getBytes(2);
                    if (id == null) {
                        everything[0] = true;
                    } else if (!everything[0]) {
                        ids.add(Jdbc.id(id));
                    }
                }
                return null;
            }, lastSeen);
        }
        Listener l = listener;
        if (l != null) {
            if (everything[0]) {
                l.everythingChanged();
            } else if (!ids.isEmpty()) {
                l.recordsChanged(ids);
            }
        }
        lastSeen = last[0];
        behind = false;
        lastPollStart = start;
    }

    /** Removes rows older than {@link #KEEP}, but never the newest. Several nodes may do it at once: harmless. */
    void prune() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            Long max = Jdbc.query(c, sql.lastChange, rs -> rs.next() ? rs.getLong(1) : null);
            if (max != null && max > 0) {
                Jdbc.update(c, sql.pruneChanges, System.currentTimeMillis() - KEEP.toMillis(), max);
            }
        }
    }

    @Override
    public String toString() {
        return "JdbcChangeFeed[" + where + "]";
    }
}
