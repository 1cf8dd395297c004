package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.RefreshSingleFlightTest.Burst;
import dev.tokenvault.StoreFixtures.MutableClock;
import dev.tokenvault.engine.ChangeFeed;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Refresh single-flight across the nodes of a shared store, with the SDK's flow ({@link SdkLikeClient}) against a
 * fake accounts server that counts refreshes: nodes in this JVM (vaults that share nothing but the database), nodes
 * in child JVMs ({@link RefreshWorker}), a node that dies holding the lease (killed with SIGKILL, or closed before
 * it saves), and a node whose cache has not yet heard of another node's refresh.
 */
class SharedRefreshSingleFlightTest {
    @TempDir
    Path dir;
    private static final String FRESH = "1000.fresh-1";

    private final List<TokenVault> open = new ArrayList<>();
    private final List<Process> children = new ArrayList<>();
    private final Map<Process, Path> errorFiles = new HashMap<>();
    private final List<Runnable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() {
        children.forEach(Process::destroyForcibly);
        open.forEach(TokenVault::close);
        cleanup.forEach(Runnable::run);
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void twoNodesOfThirtyTwoThreadsMakeOneRefresh(TestDatabase db) throws Exception {
        Duration maxWait = Duration.ofSeconds(5);
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        TokenVault a = node(db, prefix, key, maxWait);
        TokenVault b = node(db, prefix, key, maxWait);
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(300), 0)) {
            OAuthToken stored = RefreshSingleFlightTest.expiringToken(a);
            Burst burst = RefreshSingleFlightTest.burst(List.of(a, b), 32, stored, accounts.tokenUri(), () -> { });

            System.out.println(db + ": 2 nodes x 32 threads made " + accounts.calls() + " refresh(es)");
            assertEquals(1, accounts.calls(), "refreshes");
            assertEquals(0, burst.failures());
            assertEquals(64, burst.accessTokens().size());
            assertEquals(List.of(FRESH), burst.accessTokens().stream().distinct().toList());
            assertFoundWithin(maxWait, burst.longestFindNanos());
            assertEquals(1, a.stats().refreshSingleFlight().leasesGranted()
                    + b.stats().refreshSingleFlight().leasesGranted(), "one lease for both nodes");
            assertEquals(FRESH, b.findTokenById(stored.getId()).getAccessToken());
            assertEquals(0, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases"), "the holder's save ended it");
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void fourProcessesOfSixteenThreadsMakeOneRefresh(TestDatabase db) throws Exception {
        Duration maxWait = Duration.ofSeconds(5);
        String prefix = store(db);
        String keyB64 = newKey();
        MasterKey key = MasterKey.fromBase64(keyB64);
        TokenVault setup = node(db, prefix, key, maxWait);
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(300), 0)) {
            OAuthToken stored = RefreshSingleFlightTest.expiringToken(setup);
            List<BufferedReader> outputs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                worker(db, prefix, keyB64, accounts, stored, 16, maxWait, "burst");
            }
            for (Process child : children) {
                outputs.add(expectLine(child, "READY"));
            }
            for (Process child : children) {
                OutputStream go = child.getOutputStream();
                go.write("GO\n".getBytes(StandardCharsets.UTF_8));
                go.flush();
            }
            List<String> tokens = new ArrayList<>();
            long longest = 0;
            for (int i = 0; i < 4; i++) {
                for (String line; !"DONE".equals(line = outputs.get(i).readLine()); ) {
                    if (line == null) {
                        fail("worker " + i + " ended before DONE");
                    } else if (line.startsWith("TOKEN ")) {
                        tokens.add(line.substring(6));
                    } else if (line.startsWith("FAILURES ")) {
                        assertEquals("FAILURES 0", line, "worker " + i);
                    } else if (line.startsWith("LONGEST ")) {
                        longest = Math.max(longest, Long.parseLong(line.substring(8)));
                    }
                }
                assertTrue(children.get(i).waitFor(60, TimeUnit.SECONDS), "worker " + i + " did not exit");
                assertEquals(0, children.get(i).exitValue(), "worker " + i);
            }

            System.out.println(db + ": 4 processes x 16 threads made " + accounts.calls() + " refresh(es)");
            assertEquals(1, accounts.calls(), "refreshes");
            assertEquals(64, tokens.size());
            assertEquals(List.of(FRESH), tokens.stream().distinct().toList());
            assertFoundWithin(maxWait, longest);
            assertEquals(FRESH, setup.findTokenById(stored.getId()).getAccessToken());
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aNodeKilledHoldingTheLeaseBlocksTheOthersAtMostMaxWait(TestDatabase db) throws Exception {
        Duration maxWait = Duration.ofSeconds(2);
        String prefix = store(db);
        String keyB64 = newKey();
        TokenVault survivor = node(db, prefix, MasterKey.fromBase64(keyB64), maxWait);
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(100), 0)) {
            OAuthToken stored = RefreshSingleFlightTest.expiringToken(survivor);
            Process holder = worker(db, prefix, keyB64, accounts, stored, 1, maxWait, "hold");
            BufferedReader out = expectLine(holder, "READY");
            assertEquals("LEASED", out.readLine(), "the holder's second line");
            holder.destroyForcibly(); // SIGKILL on Linux: the node dies holding the lease, its row stays
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS), "the holder did not die");
            assertEquals(1, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases"), "the dead node's row");

            assertOneMoreRefreshAfterTheDeadLease(survivor, stored, accounts, maxWait);
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aNodeClosedHoldingTheLeaseBlocksTheOthersAtMostMaxWait(TestDatabase db) throws Exception {
        Duration maxWait = Duration.ofSeconds(2);
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        TokenVault survivor = node(db, prefix, key, maxWait);
        try (FakeAccountsServer accounts = new FakeAccountsServer(Duration.ofMillis(100), 0);
             TokenVault holder = node(db, prefix, key, maxWait)) {
            OAuthToken stored = RefreshSingleFlightTest.expiringToken(survivor);
            holder.findTokenById(stored.getId());
            assertEquals(1, holder.stats().refreshSingleFlight().leasesGranted());
            holder.close(); // without the save it took the lease for

            assertOneMoreRefreshAfterTheDeadLease(survivor, stored, accounts, maxWait);
        }
    }

    /**
     * A holder's thread that dies without saving ends its lease for every node, not only its own: its node deletes
     * the row of a dead holder thread at once, and the other nodes' waiters see the row gone. Before, only a waiter or
     * a later take on the holder's own node deleted it, and another node's finders waited a full {@code maxWait}.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aHolderThreadThatDiesEndsTheLeaseForOtherNodes(TestDatabase db) throws Exception {
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        MutableClock clock = new MutableClock();
        Duration hour = Duration.ofHours(1);
        TokenVault a = open(builder(db, prefix, key).clock(clock).refreshSingleFlight(RefreshSingleFlightTest.WINDOW,
                hour));
        TokenVault b = open(builder(db, prefix, key).clock(clock).refreshSingleFlight(RefreshSingleFlightTest.WINDOW,
                hour));
        OAuthToken saved = StoreFixtures.saved(a, OAuthToken.builder().userName("ada").accessToken("access-old")
                .expiryTime(Long.toString(clock.millis() + 1_000)).build());
        Thread holder = new Thread(() -> a.findTokenById(saved.getId())); // takes the lease, dies without a save
        holder.start();
        holder.join();
        assertEquals(1, a.stats().refreshSingleFlight().leasesGranted());

        FutureTask<OAuthToken> find = new FutureTask<>(() -> b.findTokenById(saved.getId()));
        new Thread(find).start();
        // an hour without the fix: the limit is the machine's margin, not the lease
        assertEquals("access-old", find.get(20, TimeUnit.SECONDS).getAccessToken(), "the record as stored");
        assertEquals(1, b.stats().refreshSingleFlight().leasesGranted(), "b's finder holds the next lease");
    }

    /** The thread that looks at a node's lease holders stops with the vault: it must not use a closed engine. */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void theLookOutForDeadHoldersStopsWhenTheVaultCloses(TestDatabase db) throws Exception {
        String prefix = store(db);
        MutableClock clock = new MutableClock();
        TokenVault a = TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix)
                .masterKey(MasterKey.generate()).clock(clock)
                .refreshSingleFlight(RefreshSingleFlightTest.WINDOW, Duration.ofHours(1)).open();
        OAuthToken saved = StoreFixtures.saved(a, OAuthToken.builder().userName("ada").accessToken("access-old")
                .expiryTime(Long.toString(clock.millis() + 1_000)).build());
        java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread holder = new Thread(() -> { // takes the lease and stays alive: the look-out keeps running
            a.findTokenById(saved.getId());
            holding.countDown();
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        holder.start();
        try {
            assertTrue(holding.await(20, TimeUnit.SECONDS));
            assertTrue(lookOuts().anyMatch(Thread::isAlive), "the look-out runs while a holder lives");
            a.close();
            assertFalse(lookOuts().anyMatch(Thread::isAlive), "the look-out outlived the vault");
        } finally {
            done.countDown();
            holder.join();
        }
    }

    private static java.util.stream.Stream<Thread> lookOuts() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("tokenvault-lease-holders-"));
    }

    /**
     * A node's cache learns of another node's save at its change feed's next poll. A lease taken before then must not
     * go by the cached record, which another node refreshed already: the take reads the store.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aLeaseOnACachedRecordThatAnotherNodeRefreshedReadsTheStore(TestDatabase db) {
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        MutableClock clock = new MutableClock();
        Duration hour = Duration.ofHours(1);
        TokenVault a = open(builder(db, prefix, key).clock(clock).refreshSingleFlight(RefreshSingleFlightTest.WINDOW,
                hour));
        // b's cache hears nothing of other nodes and counts as current: as in the moment before its feed's next poll
        ChangeFeed deaf = new ChangeFeed() {
            @Override
            public void listen(Listener listener) {
            }

            @Override
            public boolean isCurrent() {
                return true;
            }
        };
        TokenVault b = open(builder(db, prefix, key).clock(clock).refreshSingleFlight(RefreshSingleFlightTest.WINDOW,
                hour).engineWrapper(engine -> EngineProxy.of(engine, (method, args, proceed) ->
                        method.getName().equals("changeFeed") ? deaf : proceed.with(args))));
        OAuthToken saved = StoreFixtures.saved(a, OAuthToken.builder().userName("ada").accessToken("access-old")
                .expiryTime(Long.toString(clock.millis() + 10_000)).build());
        assertEquals("access-old", b.findTokenById(saved.getId()).getAccessToken()); // not expiring yet: cached

        clock.advance(Duration.ofSeconds(6)); // b's cached record expires within the window now
        a.saveToken(OAuthToken.builder().id(saved.getId()).accessToken("access-new")
                .expiryTime(Long.toString(clock.millis() + 3_600_000)).build());

        assertEquals("access-new", b.findTokenById(saved.getId()).getAccessToken());
        assertEquals(VaultStats.SingleFlight.OFF, b.stats().refreshSingleFlight(), "no lease for a fresh record");
        assertEquals(0, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_leases"), "the take was given back");
    }

    /** 32 threads on {@code survivor} wait for the dead holder's lease to run out; then one of them refreshes. */
    private static void assertOneMoreRefreshAfterTheDeadLease(TokenVault survivor, OAuthToken stored,
            FakeAccountsServer accounts, Duration maxWait) throws InterruptedException {
        Burst burst = RefreshSingleFlightTest.burst(List.of(survivor), 32, stored, accounts.tokenUri(), () -> { });

        assertEquals(1, accounts.calls(), "refreshes: the dead holder made none, one survivor made one");
        assertEquals(0, burst.failures());
        assertEquals(List.of(FRESH), burst.accessTokens().stream().distinct().toList());
        assertFoundWithin(maxWait, burst.longestFindNanos());
        VaultStats.SingleFlight s = survivor.stats().refreshSingleFlight();
        assertEquals(1, s.leasesGranted());
        assertTrue(s.waits() >= 31, "the finders waited for the dead holder's lease: " + s);
        assertEquals(1, s.waitsTimedOut(), "only the next holder's wait ended without a refreshed token");
    }

    /** A successful refresh keeps every find within {@code maxWait} (and the machine's scheduling margin). */
    private static void assertFoundWithin(Duration maxWait, long longestFindNanos) {
        assertTrue(longestFindNanos < maxWait.plus(RefreshSingleFlightTest.MARGIN).toNanos(),
                "a find waited " + Duration.ofNanos(longestFindNanos));
    }

    /** A master key as the base64 text a child process gets on its command line. */
    private static String newKey() {
        byte[] raw = new byte[32];
        new SecureRandom().nextBytes(raw);
        return Base64.getEncoder().encodeToString(raw);
    }

    private String store(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        return prefix;
    }

    private TokenVault node(TestDatabase db, String prefix, MasterKey key, Duration maxWait) {
        return open(builder(db, prefix, key).refreshSingleFlight(RefreshSingleFlightTest.WINDOW, maxWait));
    }

    private static TokenVault.Builder builder(TestDatabase db, String prefix, MasterKey key) {
        return TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key);
    }

    private TokenVault open(TokenVault.Builder builder) {
        TokenVault v = builder.open();
        open.add(v);
        return v;
    }

    /** Starts a {@link RefreshWorker} with the test's class path; its standard error goes to a file of its own. */
    private Process worker(TestDatabase db, String prefix, String keyB64, FakeAccountsServer accounts,
                           OAuthToken stored, int threads, Duration maxWait, String mode) throws IOException {
        // a short-lived child needs no optimizing compiler nor parallel collector: it starts faster on a busy machine
        List<String> command = ChildJvm.command(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
                RefreshWorker.class, db.name(), prefix, keyB64,
                accounts.tokenUri().toString(), stored.getId(), stored.getUserName(), Integer.toString(threads),
                Long.toString(maxWait.toMillis()), mode);
        Path errors = dir.resolve("worker-" + children.size() + ".err");
        Process child = new ProcessBuilder(command).redirectError(errors.toFile()).start();
        children.add(child);
        errorFiles.put(child, errors);
        return child;
    }

    /** The child's output, after its first line, which must be {@code expected}. */
    private BufferedReader expectLine(Process child, String expected) throws IOException, InterruptedException {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        if (!expected.equals(first)) {
            child.waitFor(10, TimeUnit.SECONDS);
            fail("the worker's first line is " + first + ", not " + expected + "; its standard error:\n"
                    + Files.readString(errorFiles.get(child)));
        }
        return out;
    }
}
