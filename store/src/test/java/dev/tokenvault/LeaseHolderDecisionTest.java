package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tokenvault.StoreFixtures.MutableClock;
import dev.tokenvault.engine.RecordLeases;
import dev.tokenvault.engine.jdbc.JdbcEngine;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a lease's holder decides by, and whose lease a release ends, below the public API, where a cache that has not
 * heard of another node's save and a lease that ran out can be set up exactly: a new holder reads the store past the
 * cache and gives the lease back when the record was refreshed meanwhile; a node's release ends only the row that node
 * took.
 */
class LeaseHolderDecisionTest {
    private static final Duration WINDOW = Duration.ofSeconds(5);
    private static final Duration HOUR = Duration.ofHours(1);

    private final MutableClock clock = new MutableClock();
    private final List<JdbcEngine> engines = new ArrayList<>();
    private final List<Runnable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() {
        engines.forEach(JdbcEngine::close);
        cleanup.forEach(Runnable::run);
    }

    /** A reader over a map of records by id, standing for a cache or the store. */
    private static final class Records implements Selection.Reader {
        final Map<String, TokenRecord> byId = new ConcurrentHashMap<>();

        @Override
        public TokenRecord find(Field field, String value) {
            return field == Field.ID ? byId.get(value) : null;
        }
    }

    @Test
    void aNewHolderWhoseCacheMissedARefreshReadsTheStoreAndGivesTheLeaseBack() {
        Records cache = new Records();
        Records store = new Records();
        cache.byId.put("r1", record("access-old", clock.millis() + 1_000)); // not yet told of the refresh
        store.byId.put("r1", record("access-new", clock.millis() + 3_600_000));
        LocalLeases table = new LocalLeases();
        RefreshLeases leases = new RefreshLeases(RefreshLeases.Settings.of(WINDOW, HOUR), clock, table,
                new OpenState("test"), cache, store, cache);

        TokenRecord found = leases.find(from -> from.find(Field.ID, "r1"));

        assertEquals("access-new", found.get(Field.ACCESS_TOKEN), "the holder read the store, not the stale cache");
        assertEquals(VaultStats.SingleFlight.OFF, RefreshLeases.statsOf(leases), "no lease granted, no wait");
        assertEquals(LeaseTable.Take.TAKEN, table.tryTake("r1", HOUR), "the lease was given back at once");
    }

    @Test
    void aNewHolderOfARecordStillExpiringInTheStoreKeepsTheLease() {
        Records cache = new Records();
        Records store = new Records();
        cache.byId.put("r1", record("access-old", clock.millis() + 1_000));
        store.byId.put("r1", record("access-older", clock.millis() + 500));
        RefreshLeases leases = new RefreshLeases(RefreshLeases.Settings.of(WINDOW, HOUR), clock, new LocalLeases(),
                new OpenState("test"), cache, store, cache);

        TokenRecord found = leases.find(from -> from.find(Field.ID, "r1"));

        assertEquals("access-older", found.get(Field.ACCESS_TOKEN), "the holder gets the record as stored");
        assertEquals(1, RefreshLeases.statsOf(leases).leasesGranted());
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aNodeWhoseLeaseRanOutDoesNotEndTheLeaseAnotherNodeTookSince(TestDatabase db) throws Exception {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        RecordLeases rows = open(db, prefix).leases().orElseThrow();
        SharedLeases a = new SharedLeases(open(db, prefix).leases().orElseThrow(), offCache());
        SharedLeases b = new SharedLeases(open(db, prefix).leases().orElseThrow(), offCache());

        // long enough for the take's own read-back to see it running on a busy machine
        assertEquals(LeaseTable.Take.TAKEN, a.tryTake("r1", Duration.ofSeconds(1)));
        while (rows.holder("r1") != null) { // a's row runs out by the database's clock
            Thread.sleep(20);
        }
        assertEquals(LeaseTable.Take.TAKEN, b.tryTake("r1", HOUR));
        String bHolds = rows.holder("r1");

        a.release("r1"); // a's save, late: a no longer holds the lease
        assertEquals(bHolds, rows.holder("r1"), "b's lease still runs");
        b.release("r1");
        assertNull(rows.holder("r1"));
        assertEquals(0, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases"), "each release took its own row");
    }

    private TokenRecord record(String accessToken, long expiry) {
        return TokenRecord.from(OAuthToken.builder().id("r1").userName("ada").accessToken(accessToken)
                .expiryTime(Long.toString(expiry)).build(), "token");
    }

    /** A cache of size 0: the lease table only forgets entries in it. */
    private static LookupCache offCache() {
        return new LookupCache(0, Duration.ofMinutes(1), java.time.Clock.systemUTC(), new Records());
    }

    private JdbcEngine open(TestDatabase db, String prefix) {
        JdbcEngine engine = JdbcEngine.open(db.dataSource(), prefix);
        engines.add(engine);
        return engine;
    }
}
