package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.StoreFixtures.MutableClock;
import dev.tokenvault.StoreFixtures.Variant;
import dev.tokenvault.engine.EngineException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The lease rules of refresh single-flight, one at a time, through the public API: which records are leased, what
 * ends a lease (a save from any thread, a delete, the holder's thread dying, close), that a cache hit waits too, and
 * the builder's checks. The rules about what ends a lease run on a shared store's node too, whose leases are also
 * rows in the database ({@link SharedRefreshSingleFlightTest} has several nodes). The leases here last an hour, so a rule that fails shows as a test that does not finish
 * (stopped after a minute), never as a race on timing.
 */
class RefreshLeaseTest {
    private static final Duration WINDOW = Duration.ofSeconds(5);
    private static final Duration HOUR = Duration.ofHours(1);
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock();

    /** How a test finds the record: the SDK's two finds. */
    enum Lookup {
        BY_ID, BY_USER_NAME;

        OAuthToken find(TokenVault v, OAuthToken saved) {
            return this == BY_ID ? v.findTokenById(saved.getId())
                    : v.findToken(OAuthToken.builder().userName(saved.getUserName()).build());
        }
    }

    @Test
    void builderRejectsImpossibleValuesNamingTheSetting() {
        assertRejected(null, HOUR, "refreshSingleFlight window must not be null");
        assertRejected(WINDOW, null, "refreshSingleFlight maxWait must not be null");
        assertRejected(Duration.ZERO, HOUR, "refreshSingleFlight window must be positive");
        assertRejected(Duration.ofSeconds(-5), HOUR, "refreshSingleFlight window must be positive");
        assertRejected(WINDOW, Duration.ZERO, "refreshSingleFlight maxWait must be positive");
        assertRejected(WINDOW, Duration.ofMillis(-1), "refreshSingleFlight maxWait must be positive");
        assertRejected(HOUR.plusMillis(1), HOUR, "refreshSingleFlight window must be at most 1 hour");
        assertRejected(WINDOW, HOUR.plusNanos(1), "refreshSingleFlight maxWait must be at most 1 hour");
        assertRejected(Duration.ofNanos(999_999), HOUR, "refreshSingleFlight window must be at least 1 millisecond");
        TokenVault.builder().refreshSingleFlight(HOUR, HOUR); // the bounds themselves are fine
        TokenVault.builder().refreshSingleFlight(Duration.ofMillis(1), Duration.ofNanos(1));
    }

    @Test
    void aReadOnlyVaultCannotSaveARefreshSoItRefusesTheOption() {
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().readOnly()
                .path(dir.resolve("absent.db")).masterKey(MasterKey.generate())
                .refreshSingleFlight(WINDOW, HOUR).open());
        assertTrue(e.getMessage().contains("refreshSingleFlight needs a writable store"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void aCacheHitWaitsForTheHoldersSaveMadeFromAnotherThread(Variant variant) throws Exception {
        for (Lookup lookup : Lookup.values()) {
            Path own = Files.createDirectories(dir.resolve(lookup.name()));
            try (TokenVault v = variant.builder(own, MasterKey.generate()).clock(clock)
                    .refreshSingleFlight(WINDOW, HOUR).open()) {
                OAuthToken saved = expiring(v, "ada");
                assertEquals("access-old", lookup.find(v, saved).getAccessToken()); // the lease, a cached record
                double hitRateBefore = v.stats().cacheHitRate();
                FutureTask<OAuthToken> waiter = inThread(() -> lookup.find(v, saved));
                awaitWaits(v, 1);
                assertFalse(waiter.isDone(), "a find of a leased record returned before the save");
                // on a shared store the change feed may forget the entry at any time (it reports this node's own
                // commits too), so only an embedded store's waiter is sure to find it cached
                if (variant.cached && variant.db == null) {
                    assertTrue(v.stats().cacheHitRate() > hitRateBefore, "the waiter's lookup was a cache hit");
                }

                // the save comes from a third thread: any thread's save of the record ends the lease
                inThread(() -> {
                    v.saveToken(refreshed(saved));
                    return null;
                }).get();
                OAuthToken got = waiter.get(LIMIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals("access-new", got.getAccessToken());
                VaultStats.SingleFlight s = v.stats().refreshSingleFlight();
                assertEquals(new VaultStats.SingleFlight(1, 1, 0, s.longestWait()), s);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void theHoldersDeathEndsTheLeaseOfAWaitingFind(Variant variant) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (TokenVault v = vault(variant)) {
                OAuthToken saved = expiring(v, "ada");
                CountDownLatch die = new CountDownLatch(1);
                Thread holder = new Thread(() -> {
                    v.findTokenById(saved.getId());
                    awaitQuietly(die);
                });
                holder.start();
                awaitGranted(v, 1);
                FutureTask<OAuthToken> waiter = inThread(() -> v.findTokenById(saved.getId()));
                awaitWaits(v, 1);

                die.countDown();
                holder.join();
                assertEquals("access-old", waiter.get().getAccessToken(), "the record as stored, with the next lease");
                VaultStats.SingleFlight s = v.stats().refreshSingleFlight();
                assertEquals(2, s.leasesGranted());
                assertEquals(1, s.waitsTimedOut(), "the wait ended without a refresh");
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void aLeaseWhoseHolderDiedIsTakenByTheNextFindWithoutWaiting(Variant variant) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (TokenVault v = vault(variant)) {
                OAuthToken saved = expiring(v, "ada");
                Thread holder = new Thread(() -> v.findTokenById(saved.getId())); // it ends holding the lease
                holder.start();
                holder.join();
                assertEquals("access-old", v.findTokenById(saved.getId()).getAccessToken());
                assertEquals(new VaultStats.SingleFlight(2, 0, 0, Duration.ZERO), v.stats().refreshSingleFlight());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void theHolderFindsAgainWithoutWaitingForItself(Variant variant) {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (TokenVault v = vault(variant)) {
                OAuthToken saved = expiring(v, "ada");
                for (Lookup lookup : Lookup.values()) {
                    assertEquals("access-old", lookup.find(v, saved).getAccessToken());
                }
                assertEquals(new VaultStats.SingleFlight(1, 0, 0, Duration.ZERO), v.stats().refreshSingleFlight());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void aDeleteEndsTheLeaseAndTheWaitersFindNothing(Variant variant) throws Exception {
        try (TokenVault v = vault(variant)) {
            OAuthToken saved = expiring(v, "ada");
            v.findTokenById(saved.getId());
            FutureTask<OAuthToken> byId = inThread(() -> v.findTokenById(saved.getId()));
            FutureTask<OAuthToken> byName = inThread(() -> Lookup.BY_USER_NAME.find(v, saved));
            awaitWaits(v, 2);

            v.deleteToken(saved.getId());
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> byId.get(LIMIT.toSeconds(), TimeUnit.SECONDS));
            assertEquals(ErrorCode.NOT_FOUND, ((TokenStoreException) e.getCause()).code());
            assertNull(byName.get(LIMIT.toSeconds(), TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void deleteTokensWakesTheWaiters(Variant variant) throws Exception {
        deleteTokensOrCloseWakesTheWaiters(variant, false);
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void closeWakesTheWaiters(Variant variant) throws Exception {
        deleteTokensOrCloseWakesTheWaiters(variant, true);
    }

    private void deleteTokensOrCloseWakesTheWaiters(Variant variant, boolean close) throws Exception {
        TokenVault v = vault(variant);
        try {
            OAuthToken saved = expiring(v, "ada");
            v.findTokenById(saved.getId());
            FutureTask<OAuthToken> waiter = inThread(() -> v.findTokenById(saved.getId()));
            awaitWaits(v, 1);
            if (close) {
                v.close();
            } else {
                v.deleteTokens();
            }
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> waiter.get(LIMIT.toSeconds(), TimeUnit.SECONDS));
            assertEquals(close ? ErrorCode.CLOSED : ErrorCode.NOT_FOUND,
                    ((TokenStoreException) e.getCause()).code());
        } finally {
            v.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void anInterruptedWaiterGetsTheRecordAsStoredAndKeepsItsInterrupt(Variant variant) throws Exception {
        try (TokenVault v = vault(variant)) {
            OAuthToken saved = expiring(v, "ada");
            v.findTokenById(saved.getId());
            boolean[] interrupted = new boolean[1];
            FutureTask<OAuthToken> waiter = new FutureTask<>(() -> {
                OAuthToken t = v.findTokenById(saved.getId());
                interrupted[0] = Thread.currentThread().isInterrupted();
                return t;
            });
            Thread t = new Thread(waiter);
            t.start();
            awaitWaits(v, 1);
            t.interrupt();
            assertEquals("access-old", waiter.get(LIMIT.toSeconds(), TimeUnit.SECONDS).getAccessToken());
            t.join();
            assertTrue(interrupted[0], "the interrupt was swallowed");
        }
    }

    /**
     * A waiter that found the record by its access token (or refresh token) gets the saved token, though the save
     * changed the value it looked up by: after the wait it reads the record by its id when its query no longer finds
     * it. Before, it ran its query again and got nothing.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MEMORY_UNCACHED", "MARIADB_CACHED",
        "POSTGRESQL_CACHED"})
    void aWaiterThatFoundByTheAccessTokenGetsTheSavedToken(Variant variant) throws Exception {
        try (TokenVault v = vault(variant)) {
            OAuthToken saved = expiring(v, "ada");
            v.findTokenById(saved.getId()); // the lease
            FutureTask<OAuthToken> waiter = inThread(() -> v.findToken(OAuthToken.builder()
                    .accessToken("access-old").build()));
            awaitWaits(v, 1);

            OAuthToken refreshed = refreshed(saved);
            v.saveToken(refreshed); // a new access token
            OAuthToken got = waiter.get(LIMIT.toSeconds(), TimeUnit.SECONDS);
            assertNotNull(got, "the waiter got nothing");
            // findToken keeps the query's own fields (its access token) and fills in the others from the record
            assertEquals(saved.getId(), got.getId());
            assertEquals(refreshed.getExpiryTime(), got.getExpiryTime(), "the saved record's expiry");
        }
    }

    /**
     * A find that took the lease and then failed to read the record from the store (an IO error, a pool timeout)
     * gives the lease back: its caller got an error and will not refresh, so another finder must not wait for it.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "MARIADB_CACHED", "POSTGRESQL_CACHED"})
    void aFindThatFailsAfterTakingTheLeaseGivesItBack(Variant variant) {
        assertTimeoutPreemptively(LIMIT, () -> {
            AtomicBoolean failGet = new AtomicBoolean();
            try (TokenVault v = variant.builder(dir, MasterKey.generate()).clock(clock)
                    .refreshSingleFlight(WINDOW, HOUR)
                    .engineWrapper(e -> EngineProxy.of(e, (m, args, proceed) -> {
                        if (m.getName().equals("get") && failGet.getAndSet(false)) {
                            throw new EngineException(EngineException.Kind.IO, "injected: one read failed");
                        }
                        return proceed.with(args);
                    })).open()) {
                OAuthToken saved = StoreFixtures.saved(v, OAuthToken.builder().userName("ada")
                        .accessToken("access-old").expiryTime(Long.toString(clock.millis() + 10_000)).build());
                v.findTokenById(saved.getId()); // not expiring yet: cached
                clock.advance(Duration.ofSeconds(6)); // expiring now: the next find takes the lease, then reads
                failGet.set(true);
                assertEquals(ErrorCode.IO, assertThrows(TokenStoreException.class,
                        () -> v.findTokenById(saved.getId())).code());

                // another thread: it would wait an hour (the test's limit stops it) behind a lease kept
                assertEquals("access-old", inThread(() -> v.findTokenById(saved.getId())).get().getAccessToken());
                VaultStats.SingleFlight s = v.stats().refreshSingleFlight();
                assertEquals(0, s.waits(), "the second finder waited: " + s);
                assertEquals(1, s.leasesGranted(), "the second finder holds the lease: " + s);
            }
        });
    }

    /** Only an expiryTime less than window ahead of the vault's clock (an expired one too) takes a lease. */
    @Test
    void recordsWithoutAnExpiryInTheWindowAreNeverLeased() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (TokenVault v = vault()) {
                long now = clock.millis();
                Function<String, OAuthToken> withExpiry = expiry -> v.findTokenById(StoreFixtures.saved(v,
                        OAuthToken.builder().accessToken("a-" + expiry).expiryTime(expiry).build()).getId());
                for (String expiry : new String[] {null, "99999999999999999999999", Long.toString(now + 5_000),
                        Long.toString(now + 3_600_000)}) {
                    OAuthToken t = withExpiry.apply(expiry);
                    inThread(() -> v.findTokenById(t.getId())).get(); // would wait an hour behind a lease
                }
                assertEquals(VaultStats.SingleFlight.OFF, v.stats().refreshSingleFlight());
                withExpiry.apply(Long.toString(now + 4_999)); // just inside the window
                withExpiry.apply(Long.toString(now - 1)); // expired: the SDK refreshes it too
                assertEquals(2, v.stats().refreshSingleFlight().leasesGranted());
            }
        });
    }

    private TokenVault vault() {
        return vault(Variant.MEMORY_CACHED);
    }

    /** A vault of {@code variant} whose leases last an hour: on a shared store, its own node. */
    private TokenVault vault(Variant variant) {
        return variant.builder(dir, MasterKey.generate()).clock(clock).refreshSingleFlight(WINDOW, HOUR).open();
    }

    /** Saves a token of {@code user} that expires in one second of the vault's clock. */
    private OAuthToken expiring(TokenVault v, String user) {
        return StoreFixtures.saved(v, OAuthToken.builder().userName(user).refreshToken("refresh-" + user)
                .accessToken("access-old").expiryTime(Long.toString(clock.millis() + 1_000)).build());
    }

    /** What the SDK saves after a refresh: the record's id, a new access token, an expiry an hour ahead. */
    private OAuthToken refreshed(OAuthToken saved) {
        return OAuthToken.builder().id(saved.getId()).accessToken("access-new")
                .expiryTime(Long.toString(clock.millis() + 3_600_000)).build();
    }

    private static void assertRejected(Duration window, Duration maxWait, String message) {
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT,
                () -> TokenVault.builder().refreshSingleFlight(window, maxWait));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    /** Runs {@code call} in a new thread, which ends when the call returns. */
    private static <T> FutureTask<T> inThread(Callable<T> call) {
        FutureTask<T> task = new FutureTask<>(call);
        new Thread(task).start();
        return task;
    }

    /** Until {@code n} finds have begun to wait (polls the stats; the test's own limit stops a hang). */
    private static void awaitWaits(TokenVault v, long n) throws InterruptedException {
        awaitStat(v, n, VaultStats.SingleFlight::waits);
    }

    private static void awaitGranted(TokenVault v, long n) throws InterruptedException {
        awaitStat(v, n, VaultStats.SingleFlight::leasesGranted);
    }

    private static void awaitStat(TokenVault v, long n, Function<VaultStats.SingleFlight, Long> stat)
            throws InterruptedException {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (stat.apply(v.stats().refreshSingleFlight()) < n) {
            if (System.nanoTime() - deadline > 0) {
                fail("the stats never reached " + n + ": " + v.stats().refreshSingleFlight());
            }
            Thread.sleep(2);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
