package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordLeases;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The shared engine's lease table on each database: one take wins a race, a running lease is kept and a run-out one
 * taken over (by the database's clock), a release ends only its own holder's lease, and the table's place in the
 * schema (created for a store made before it existed; a foreign table of its name is refused).
 */
class JdbcLeasesTest {
    private static final Duration HOUR = Duration.ofHours(1);
    private final List<JdbcEngine> engines = new ArrayList<>();
    private final List<Runnable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() {
        engines.forEach(JdbcEngine::close);
        cleanup.forEach(Runnable::run);
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void ofSixteenRacingTakesExactlyOneWins(TestDatabase db) throws Exception {
        String prefix = store(db);
        RecordLeases a = open(db, prefix).leases().orElseThrow();
        RecordLeases b = open(db, prefix).leases().orElseThrow();
        int racers = 16;
        ExecutorService pool = Executors.newFixedThreadPool(racers);
        try {
            CyclicBarrier start = new CyclicBarrier(racers);
            List<Future<String>> seen = new ArrayList<>();
            for (int i = 0; i < racers; i++) {
                RecordLeases node = i % 2 == 0 ? a : b;
                String name = "racer-" + i;
                seen.add(pool.submit(() -> {
                    start.await();
                    return node.take("record-1", name, HOUR);
                }));
            }
            List<String> holders = new ArrayList<>();
            for (Future<String> f : seen) {
                holders.add(f.get(60, TimeUnit.SECONDS));
            }
            String winner = a.holder("record-1");
            assertTrue(winner.startsWith("racer-"), winner);
            assertEquals(List.of(winner), holders.stream().distinct().toList(), "every racer saw the one winner");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases"));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aRunningLeaseIsKeptARunOutOneIsTakenOverAndReleasesEndThem(TestDatabase db) throws Exception {
        String prefix = store(db);
        RecordLeases leases = open(db, prefix).leases().orElseThrow();
        assertNull(leases.holder("r"));
        assertEquals("first", leases.take("r", "first", HOUR));
        assertEquals("first", leases.take("r", "second", HOUR), "a running lease is kept");
        assertEquals("first", leases.holder("r"));
        assertEquals("other", leases.take("other-record", "other", HOUR), "leases are per record id");

        leases.release("r", "second");
        assertEquals("first", leases.holder("r"), "a release by another holder changes nothing");
        leases.release("r", "first");
        assertNull(leases.holder("r"));

        leases.take("r", "short", Duration.ofMillis(1)); // may have run out by the take's own read-back
        // the database's clock passes the expiry: the row stays, but no longer runs
        db.execute(db == TestDatabase.MARIADB ? "DO SLEEP(0.05)" : "SELECT pg_sleep(0.05)");
        assertEquals(1, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases WHERE holder = 'short'"));
        assertNull(leases.holder("r"));
        assertEquals("next", leases.take("r", "next", HOUR), "a lease that ran out is taken over");
        assertEquals(2, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases"), "one row per record id");

        leases.release("r", "short");
        assertEquals("next", leases.holder("r"), "a holder whose lease ran out does not end the next holder's");
        leases.release("r", "next");
        assertNull(leases.holder("r"));
        leases.release("other-record", "other");
        assertEquals(0, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases"));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aStoreMadeBeforeTheLeaseTableGetsItAtItsNextOpen(TestDatabase db) {
        String prefix = store(db);
        open(db, prefix).close();
        db.execute("DROP TABLE " + prefix + "_leases");
        RecordLeases leases = open(db, prefix).leases().orElseThrow();
        assertEquals("h", leases.take("r", "h", HOUR));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aForeignTableOfTheLeaseTablesNameIsUnsupportedFormat(TestDatabase db) {
        String prefix = store(db);
        db.execute("CREATE TABLE " + prefix + "_leases (id INT PRIMARY KEY, name VARCHAR(50))");
        EngineException e = assertThrows(EngineException.class, () -> open(db, prefix));
        assertEquals(EngineException.Kind.UNSUPPORTED_FORMAT, e.kind());
        assertTrue(e.getMessage().contains(prefix + "_leases"), e.getMessage());
    }

    private String store(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        return prefix;
    }

    private JdbcEngine open(TestDatabase db, String prefix) {
        JdbcEngine engine = JdbcEngine.open(db.dataSource(), prefix);
        engines.add(engine);
        return engine;
    }
}
