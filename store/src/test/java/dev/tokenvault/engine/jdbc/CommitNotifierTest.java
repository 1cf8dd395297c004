package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * The PostgreSQL notifier that wakes the other nodes after this node's commits, outside the committing transaction:
 * a commit is followed by a notification sent after it, with the node as payload; a burst of commits costs one
 * notification per gap, not one per commit; a failed notification is dropped and the next commit is notified again;
 * after {@code stop()} nothing is sent. Sends are seen where they start (the notifier's borrow of a connection), so
 * the assertions are on order and counts, never on speed.
 */
class CommitNotifierTest {
    private static final String NODE = "0123456789abcdef";
    private final String channel = "notifier_test_" + TestDatabase.freshPrefix();
    /** When each send borrowed its connection, in nanoTime. */
    private final List<Long> sends = new CopyOnWriteArrayList<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();
    private Connection listening;
    private CommitNotifier notifier;

    @BeforeEach
    void listen() throws SQLException {
        TestDatabase.POSTGRESQL.assumeAvailable();
        DataSource db = TestDatabase.POSTGRESQL.dataSource();
        listening = db.getConnection();
        try (Statement st = listening.createStatement()) {
            st.execute("LISTEN " + channel);
        }
        DataSource recording = new DelegatingDataSource(db) {
            @Override
            public Connection getConnection() throws SQLException {
                sends.add(System.nanoTime());
                if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    throw new SQLException("connection refused (test)");
                }
                return super.getConnection();
            }
        };
        notifier = CommitNotifier.postgres(recording, channel, NODE, "notifier-test");
        notifier.start();
    }

    @AfterEach
    void close() throws SQLException {
        if (notifier != null) {
            notifier.stop();
        }
        if (listening != null) {
            listening.close();
        }
    }

    /** The notifications received within {@code millis}, returning at the first when {@code untilFirst}. */
    private List<PGNotification> receive(int millis, boolean untilFirst) throws SQLException {
        List<PGNotification> got = new ArrayList<>();
        long deadline = System.nanoTime() + millis * 1_000_000L;
        for (long left = millis; left > 0 && !(untilFirst && !got.isEmpty());
                left = (deadline - System.nanoTime()) / 1_000_000) {
            PGNotification[] batch = listening.unwrap(PGConnection.class).getNotifications((int) Math.max(1, left));
            if (batch != null) {
                got.addAll(List.of(batch));
            }
        }
        return got;
    }

    @Test
    void aCommitIsFollowedByANotificationWithTheNodeAsPayload() throws SQLException {
        long committedAt = System.nanoTime();
        notifier.committed();
        List<PGNotification> got = receive(20_000, true);
        assertEquals(1, got.size(), "one commit, one notification");
        assertEquals(NODE, got.get(0).getParameter());
        assertEquals(channel, got.get(0).getName());
        assertTrue(sends.get(0) >= committedAt, "sent before the commit it reports");
    }

    @Test
    void aBurstOfCommitsIsNotifiedOncePerGapAndItsLastCommitIsNotifiedAfterItWasReported() throws Exception {
        long start = System.nanoTime();
        long lastCommit = 0;
        for (int i = 0; i < 2_000; i++) {
            lastCommit = System.nanoTime();
            notifier.committed();
            if (i % 100 == 0) {
                Thread.sleep(1);
            }
        }
        receive(1_000, false);
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        long gapMillis = WakeUp.MIN_GAP.toMillis();
        assertTrue(sends.size() <= elapsedMillis / gapMillis + 1,
                sends.size() + " notifications in " + elapsedMillis + " ms, at most one per " + gapMillis + " ms");
        long last = sends.get(sends.size() - 1);
        assertTrue(last >= lastCommit, "the last commit of the burst got no notification sent after it");
        for (int i = 1; i < sends.size(); i++) {
            assertTrue(sends.get(i) - sends.get(i - 1) >= WakeUp.MIN_GAP.toNanos() - 1_000_000,
                    "two notifications " + (sends.get(i) - sends.get(i - 1)) / 1_000 + " us apart");
        }
    }

    @Test
    void aFailedNotificationIsDroppedAndTheNextCommitIsNotifiedAgain() throws SQLException {
        failuresLeft.set(1);
        notifier.committed();
        assertTrue(receive(500, true).isEmpty(), "the failed send notified nevertheless");
        assertEquals(1, sends.size(), "the failed send is not retried on its own");
        notifier.committed();
        List<PGNotification> got = receive(20_000, true);
        assertFalse(got.isEmpty(), "the commit after a failed send was not notified");
        assertEquals(NODE, got.get(0).getParameter());
    }

    @Test
    void nothingIsSentAfterStop() throws SQLException {
        notifier.committed();
        assertNotNull(receive(20_000, true).get(0));
        notifier.stop();
        int before = sends.size();
        notifier.committed();
        assertTrue(receive(300, false).isEmpty(), "a stopped notifier sent a notification");
        assertEquals(before, sends.size());
    }
}
