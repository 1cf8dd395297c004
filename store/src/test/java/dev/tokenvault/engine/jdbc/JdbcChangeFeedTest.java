package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.ChangeFeed;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The change feed polled by hand (its thread not started): what it tells of other nodes' commits, and that a gap in
 * the log (pruned past what it saw) or a failed poll makes it tell that everything changed.
 */
class JdbcChangeFeedTest {
    private String prefix;
    private TestDatabase db;
    private JdbcEngine other;

    /** What the feed told. */
    static final class Told implements ChangeFeed.Listener {
        final List<String> ids = new ArrayList<>();
        int everything;

        @Override
        public void recordsChanged(Collection<String> changed) {
            ids.addAll(changed);
        }

        @Override
        public void everythingChanged() {
            everything++;
        }
    }

    private JdbcChangeFeed feed(DataSource ds, Told told) {
        JdbcChangeFeed feed = new JdbcChangeFeed(ds, new Sql(prefix, dialect()), "test", 0, WakeUp.SLEEP,
                CommitNotifier.NONE);
        feed.listen(told);
        return feed;
    }

    private Dialect dialect() {
        return db == TestDatabase.MARIADB ? Dialect.MARIADB : Dialect.POSTGRESQL;
    }

    private void open(TestDatabase server) {
        server.assumeAvailable();
        db = server;
        prefix = TestDatabase.freshPrefix();
        other = JdbcEngine.open(db.dataSource(), prefix);
    }

    @AfterEach
    void dropTables() {
        if (other != null) {
            other.close();
            db.drop(prefix);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aPollTellsTheRecordsOtherNodesChangedSinceTheLast(TestDatabase server) throws SQLException {
        open(server);
        Told told = new Told();
        JdbcChangeFeed feed = feed(db.dataSource(), told);
        other.commit(new Batch().putRecord("a", bytes("1")).putRecord("b", bytes("2")));
        other.commit(new Batch().removeRecord("a").putMeta("m", bytes("x")));
        feed.poll();
        assertEquals(List.of("a", "b", "a"), told.ids);
        assertEquals(0, told.everything);
        assertTrue(feed.isCurrent());
        feed.poll();
        assertEquals(3, told.ids.size(), "each change is told once");
        other.commit(new Batch().clearAll());
        feed.poll();
        assertEquals(1, told.everything, "deleteTokens clears every node's cache");
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aLogPrunedPastWhatTheFeedSawTellsThatEverythingChanged(TestDatabase server) throws SQLException {
        open(server);
        Told told = new Told();
        JdbcChangeFeed feed = feed(db.dataSource(), told);
        for (int i = 0; i < 3; i++) {
            other.commit(new Batch().putRecord("r" + i, bytes("v")));
        }
        db.execute("DELETE FROM " + prefix + "_changes WHERE seq < 3"); // as pruning does, keeping the newest
        feed.poll();
        assertEquals(1, told.everything);
        assertEquals(List.of(), told.ids);
        other.commit(new Batch().putRecord("next", bytes("v")));
        feed.poll();
        assertEquals(List.of("next"), told.ids, "caught up: single changes again");
    }

    /** Commits three changes dated older than the log keeps, then a fresh one; returns the old date. */
    private long threeOldRowsAndAFreshOne() throws SQLException {
        for (int i = 0; i < 3; i++) {
            other.commit(new Batch().putRecord("r" + i, bytes("v")));
        }
        long old = System.currentTimeMillis() - JdbcChangeFeed.KEEP.toMillis() - 60_000;
        db.execute("UPDATE " + prefix + "_changes SET changed_at = " + old);
        other.commit(new Batch().putRecord("fresh", bytes("v")));
        return old;
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void pruningRemovesOldRowsButNeverTheNewest(TestDatabase server) throws SQLException {
        open(server);
        long old = threeOldRowsAndAFreshOne();
        feed(db.dataSource(), new Told()).prune();
        assertEquals(1, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_changes"), "the fresh row stays");
        db.execute("UPDATE " + prefix + "_changes SET changed_at = " + old);
        feed(db.dataSource(), new Told()).prune();
        assertEquals(4, db.queryLong("SELECT MAX(seq) FROM " + prefix + "_changes"), "the newest row stays");
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aNodePrunesTheLogAtItsFirstPollSoShortLivedNodesKeepItSmall(TestDatabase server) throws Exception {
        open(server);
        threeOldRowsAndAFreshOne();
        assertEquals(4, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_changes"));
        try (JdbcEngine node = JdbcEngine.open(db.dataSource(), prefix)) {
            long deadline = System.nanoTime() + JdbcChangeFeed.BOUND.toNanos() * 5;
            while (db.queryLong("SELECT COUNT(*) FROM " + prefix + "_changes") > 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(1, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_changes"),
                    "a node that has just opened pruned the rows older than the log keeps");
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aFailedPollLeavesTheFeedBehindUntilAPollSucceedsAndTellsThatEverythingChanged(TestDatabase server)
            throws SQLException {
        open(server);
        Told told = new Told();
        AtomicBoolean down = new AtomicBoolean();
        DataSource flaky = new DelegatingDataSource(db.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                if (down.get()) {
                    throw new SQLException("server down", "08001");
                }
                return super.getConnection();
            }
        };
        JdbcChangeFeed feed = feed(flaky, told);
        feed.poll();
        down.set(true);
        other.commit(new Batch().putRecord("a", bytes("1")));
        assertThrows(SQLException.class, feed::poll);
        assertFalse(feed.isCurrent(), "a cache must serve from the store now");
        down.set(false);
        feed.poll();
        assertTrue(feed.isCurrent());
        assertEquals(1, told.everything);
    }
}
