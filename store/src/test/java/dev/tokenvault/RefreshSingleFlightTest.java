package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.StoreFixtures.Variant;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Refresh single-flight with the SDK's own flow ({@link SdkLikeClient}) against a fake accounts server
 * ({@link FakeAccountsServer}): 64 threads, each with its own token object that already has the record's id (so each
 * finds by id, as the SDK does after its first save), all asking for one token that expires in 2 seconds.
 */
class RefreshSingleFlightTest {
    private static final int THREADS = 64;
    /** The SDK's threshold: the window must equal it. */
    static final Duration WINDOW = Duration.ofMillis(SdkLikeClient.REFRESH_THRESHOLD_MILLIS);
    /** Room for a loaded machine's scheduling on top of the bounds the design promises. */
    static final Duration MARGIN = Duration.ofSeconds(1);

    @TempDir
    Path dir;

    /** What a burst of SDK calls did. */
    record Burst(int refreshAttempts, List<String> accessTokens, int failures, long longestFindNanos) {
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void sixtyFourThreadsMakeOneRefreshAndAllGetTheNewToken(Variant variant) throws Exception {
        Duration maxWait = Duration.ofSeconds(3);
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(300), 0);
             TokenVault vault = variant.builder(dir, MasterKey.generate()).refreshSingleFlight(WINDOW, maxWait)
                     .open()) {
            OAuthToken stored = expiringToken(vault);
            Burst burst = burst(vault, stored, accounts, () -> { });

            assertEquals(1, accounts.calls(), "refreshes");
            assertEquals(1, burst.refreshAttempts());
            assertEquals(0, burst.failures());
            assertEquals(List.of("1000.fresh-1"), burst.accessTokens().stream().distinct().toList());
            assertEquals(THREADS, burst.accessTokens().size());
            assertTrue(burst.longestFindNanos() < maxWait.plus(MARGIN).toNanos(),
                    "a find waited " + Duration.ofNanos(burst.longestFindNanos()));
            VaultStats.SingleFlight s = vault.stats().refreshSingleFlight();
            assertEquals(1, s.leasesGranted());
            assertEquals(0, s.waitsTimedOut());
            assertTrue(s.waits() <= THREADS - 1, "waits " + s.waits());
            assertTrue(s.longestWait().compareTo(maxWait) < 0, "longest wait " + s.longestWait());
            assertEquals("1000.fresh-1", vault.findTokenById(stored.getId()).getAccessToken());
        }
    }

    /** How the first refresh fails. */
    enum Failure {
        /** The accounts server answers HTTP 500. */
        SERVER_ERROR,
        /** The lease holder throws before it asks the accounts server (and its thread lives on). */
        HOLDER_THROWS
    }

    @ParameterizedTest
    @EnumSource(Failure.class)
    void aFailedRefreshCostsOneMoreRefreshAfterMaxWait(Failure failure) throws Exception {
        Duration maxWait = Duration.ofSeconds(1);
        AtomicInteger thrown = new AtomicInteger();
        Runnable beforeRefresh = failure == Failure.SERVER_ERROR ? () -> { } : () -> {
            if (thrown.getAndIncrement() == 0) {
                throw new IllegalStateException("the refresh broke before it was sent");
            }
        };
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(100),
                failure == Failure.SERVER_ERROR ? 1 : 0);
             TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate())
                     .refreshSingleFlight(WINDOW, maxWait).open()) {
            OAuthToken stored = expiringToken(vault);
            Burst burst = burst(vault, stored, accounts, beforeRefresh);

            assertEquals(2, burst.refreshAttempts(), "refreshes: the failed one and the next");
            assertEquals(failure == Failure.SERVER_ERROR ? 2 : 1, accounts.calls());
            assertEquals(1, burst.failures(), "only the first holder fails");
            String fresh = failure == Failure.SERVER_ERROR ? "1000.fresh-2" : "1000.fresh-1";
            assertEquals(List.of(fresh), burst.accessTokens().stream().distinct().toList());
            assertEquals(THREADS - 1, burst.accessTokens().size());
            assertTrue(burst.longestFindNanos() < maxWait.multipliedBy(2).plus(MARGIN).toNanos(),
                    "a find waited " + Duration.ofNanos(burst.longestFindNanos()));
            VaultStats.SingleFlight s = vault.stats().refreshSingleFlight();
            assertEquals(2, s.leasesGranted());
            assertTrue(s.waitsTimedOut() >= 1, "the next holder waited for a lease that ran out");
            assertTrue(s.longestWait().compareTo(maxWait.multipliedBy(2).plus(MARGIN)) < 0,
                    "longest wait " + s.longestWait());
        }
    }

    @Test
    void aRefreshThatKeepsFailingCostsEachCallerAtMostTwiceMaxWait() throws Exception {
        Duration maxWait = Duration.ofMillis(500);
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(50), Integer.MAX_VALUE);
             TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate())
                     .refreshSingleFlight(WINDOW, maxWait).open()) {
            Burst burst = burst(vault, expiringToken(vault), accounts, () -> { });

            assertEquals(THREADS, burst.failures());
            assertTrue(burst.longestFindNanos() < maxWait.multipliedBy(2).plus(MARGIN).toNanos(),
                    "a find waited " + Duration.ofNanos(burst.longestFindNanos()));
            VaultStats.SingleFlight s = vault.stats().refreshSingleFlight();
            assertEquals(s.waits(), s.waitsTimedOut(), "no wait ended with a refreshed token");
            assertTrue(s.longestWait().compareTo(maxWait.multipliedBy(2).plus(MARGIN)) < 0,
                    "longest wait " + s.longestWait());
        }
    }

    /** The problem the option solves: without it, the callers in the window each refresh. */
    @Test
    void withTheOptionOffTheCallersRefreshEachAndTheStatsStayZero() throws Exception {
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(500), 0);
             TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            Burst burst = burst(vault, expiringToken(vault), accounts, () -> { });

            System.out.println("refreshSingleFlight off: " + accounts.calls() + " refreshes for " + THREADS
                    + " threads");
            assertTrue(accounts.calls() > 1, "refreshes: " + accounts.calls());
            assertEquals(accounts.calls(), burst.refreshAttempts());
            assertEquals(new VaultStats.SingleFlight(0, 0, 0, Duration.ZERO), vault.stats().refreshSingleFlight());
        }
    }

    /** Saves the SDK's token after its grant exchange, 2 seconds from expiry; returns it with its id. */
    static OAuthToken expiringToken(TokenVault vault) {
        OAuthToken t = OAuthToken.builder().userName("ada@example.com").clientId("1000.CLIENT")
                .clientSecret("client-secret").refreshToken("1000.refresh").accessToken("1000.access-old")
                .expiryTime(Long.toString(System.currentTimeMillis() + 2_000))
                .apiDomain("https://www.zohoapis.com").build();
        vault.saveToken(t);
        return t;
    }

    /** {@link #burst(List, int, OAuthToken, URI, Runnable)} of 64 threads on one vault. */
    private static Burst burst(TokenVault vault, OAuthToken stored, FakeAccountsServer accounts,
                               Runnable beforeRefresh) throws InterruptedException {
        return burst(List.of(vault), THREADS, stored, accounts.tokenUri(), beforeRefresh);
    }

    /**
     * {@code threadsPerNode} threads per vault of {@code nodes}, of a pool (which outlive their task, as an SDK's
     * worker threads do), each with its own token object holding the record's id, call {@code getToken()} once,
     * released together.
     */
    static Burst burst(List<TokenVault> nodes, int threadsPerNode, OAuthToken stored, URI accounts,
                       Runnable beforeRefresh) throws InterruptedException {
        AtomicInteger attempts = new AtomicInteger();
        Runnable counted = () -> {
            attempts.incrementAndGet();
            beforeRefresh.run();
        };
        int threads = nodes.size() * threadsPerNode;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<SdkLikeClient> clients = new ArrayList<>();
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                OAuthToken own = OAuthToken.builder().id(stored.getId()).userName(stored.getUserName()).build();
                SdkLikeClient client = new SdkLikeClient(nodes.get(i % nodes.size()), accounts, own, counted);
                clients.add(client);
                results.add(pool.submit(() -> {
                    start.await();
                    return client.getToken();
                }));
            }
            start.countDown();
            List<String> tokens = new ArrayList<>();
            int failures = 0;
            for (Future<String> f : results) {
                try {
                    tokens.add(f.get(60, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    failures++;
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new AssertionError("an SDK call did not finish", e);
                }
            }
            long longest = clients.stream().mapToLong(SdkLikeClient::longestFindNanos).max().orElse(0);
            return new Burst(attempts.get(), tokens, failures, longest);
        } finally {
            pool.shutdownNow();
        }
    }
}
