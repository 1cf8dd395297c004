package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The PostgreSQL change feed's wait: another node's notification ends it, this node's own does not (it reports its
 * own commits when it makes them), and a wait right after a wake-up first lets the minimum gap pass. The assertions
 * are on what must have happened (a wait that nothing woke lasted its whole interval), not on speed.
 */
class WakeUpTest {
    private static final String OWN = "0123456789abcdef";
    private final String channel = "wakeup_test_" + TestDatabase.freshPrefix();
    private WakeUp wakeUp;

    @AfterEach
    void close() {
        if (wakeUp != null) {
            wakeUp.close();
        }
    }

    private WakeUp listening() throws SQLException, InterruptedException {
        TestDatabase.POSTGRESQL.assumeAvailable();
        DataSource ds = TestDatabase.POSTGRESQL.dataSource();
        wakeUp = WakeUp.listening(ds, channel, OWN, ds.getConnection());
        wakeUp.await(Duration.ofMillis(1)); // starts listening
        return wakeUp;
    }

    private void notifyWith(String payload) throws SQLException {
        try (Connection c = TestDatabase.POSTGRESQL.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_notify('" + channel + "', '" + payload + "')");
        }
    }

    private static long millisOf(ThrowingRunnable r) throws Exception {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void anotherNodesNotificationEndsTheWait() throws Exception {
        WakeUp w = listening();
        notifyWith("fedcba9876543210");
        long waited = millisOf(() -> w.await(Duration.ofSeconds(30)));
        assertTrue(waited < 20_000, "a notification from another node must end the wait; it lasted " + waited + " ms");
    }

    @Test
    void thisNodesOwnNotificationDoesNotEndTheWait() throws Exception {
        WakeUp w = listening();
        notifyWith(OWN);
        long waited = millisOf(() -> w.await(Duration.ofMillis(400)));
        assertTrue(waited >= 400, "the node's own notification ended the wait after " + waited + " ms");
    }

    @Test
    void aWaitRightAfterAWakeUpLetsTheMinimumGapPassFirst() throws Exception {
        WakeUp w = listening();
        notifyWith("fedcba9876543210");
        w.await(Duration.ofSeconds(30));
        long wokenAt = System.nanoTime();
        notifyWith("fedcba9876543210");
        w.await(Duration.ofSeconds(30));
        long sinceWoken = (System.nanoTime() - wokenAt) / 1_000_000;
        assertTrue(sinceWoken >= WakeUp.MIN_GAP.toMillis() - 1, "woken again " + sinceWoken + " ms after the last");
        assertTrue(sinceWoken < 20_000, "the second notification must end the wait; it lasted " + sinceWoken + " ms");
    }
}
