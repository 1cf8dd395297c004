package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.CommitProbe;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code verify()} scans beside the writers, so that a large store stays writable meanwhile; what the writers do during
 * the scan must not read as damage: {@code repair()} rebuilds the index maps on what {@code verify()} reports.
 */
class VerifyWhileWritingTest {
    /**
     * A thread per task: the tasks block on each other's latches, which the common pool (one thread on a 2-core
     * machine, where Java 25's {@code CompletableFuture} uses it) would run one after the other.
     */
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stopThreads() {
        threads.shutdownNow();
    }

    @TempDir
    Path dir;

    /** Pauses the verifying thread once, at its first call of engine method {@code method}. */
    private static TokenVault.Builder pausing(TokenVault.Builder b, String method, AtomicReference<Thread> who,
                                              CountDownLatch paused, CountDownLatch go) {
        return b.engineWrapper(inner -> EngineProxy.of(inner, (m, args, proceed) -> {
            if (m.getName().equals(method) && who.get() == Thread.currentThread() && paused.getCount() > 0) {
                paused.countDown();
                assertTrue(go.await(30, TimeUnit.SECONDS));
            }
            return proceed.with(args);
        }));
    }

    @Test
    void aSaveBetweenTheRecordsScanAndTheIndexScanIsNoDamage() throws Exception {
        AtomicReference<Thread> verifier = new AtomicReference<>();
        CountDownLatch paused = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        try (TokenVault v = pausing(TokenVault.builder().path(dir.resolve("a.db")).masterKey(MasterKey.generate()),
                "forEachIndexEntry", verifier, paused, go).open()) {
            v.saveToken(full("a"));
            CompletableFuture<VerifyReport> report = CompletableFuture.supplyAsync(() -> {
                verifier.set(Thread.currentThread());
                return v.verify();
            }, threads);
            assertTrue(paused.await(30, TimeUnit.SECONDS));
            v.saveToken(full("b"));
            go.countDown();
            VerifyReport r = report.get(30, TimeUnit.SECONDS);
            assertTrue(r.isClean(), () -> "verify() called the clean store damaged: " + r.problems());
            assertEquals(2, r.recordsChecked());
        }
    }

    /**
     * A rollover to data key version 2 whose commit fails is forgotten; the next rollover must not give version 2 to
     * another key, since a reader that took the key state meanwhile still opens version 2 with the abandoned key.
     */
    @Test
    void aVersionOfAnAbandonedRolloverIsNeverGivenToAnotherKey() throws Exception {
        AtomicReference<Thread> verifier = new AtomicReference<>();
        CountDownLatch verifyPaused = new CountDownLatch(1);
        CountDownLatch verifyGo = new CountDownLatch(1);
        CountDownLatch commitPaused = new CountDownLatch(1);
        CountDownLatch commitGo = new CountDownLatch(1);
        AtomicReference<Thread> failing = new AtomicReference<>();
        CommitProbe probe = step -> {
            if (step.equals("vault.commit") && failing.get() == Thread.currentThread()
                    && commitPaused.getCount() > 0) {
                commitPaused.countDown();
                try {
                    commitGo.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                throw new OutOfMemoryError("injected at vault.commit");
            }
        };
        TokenVault.Builder b = TokenVault.builder().path(dir.resolve("b.db")).masterKey(MasterKey.generate())
                .sealLimit(1).commitProbe(probe);
        try (TokenVault v = pausing(b, "forEachRecord", verifier, verifyPaused, verifyGo).open()) {
            v.saveToken(full("a")); // version 1 used up
            CompletableFuture<Void> w = CompletableFuture.runAsync(() -> {
                failing.set(Thread.currentThread());
                assertEquals(ErrorCode.IO,
                        assertThrows(TokenStoreException.class, () -> v.saveToken(full("b"))).code());
            }, threads);
            assertTrue(commitPaused.await(30, TimeUnit.SECONDS)); // version 2 (a key K) published, not committed
            CompletableFuture<VerifyReport> report = CompletableFuture.supplyAsync(() -> {
                verifier.set(Thread.currentThread());
                return v.verify(); // takes the key state holding K
            }, threads);
            assertTrue(verifyPaused.await(30, TimeUnit.SECONDS));
            commitGo.countDown();
            w.get(30, TimeUnit.SECONDS); // the rollover is forgotten
            v.saveToken(full("c")); // a new rollover, with another key
            verifyGo.countDown();
            VerifyReport r = report.get(30, TimeUnit.SECONDS);
            assertTrue(r.isClean(), () -> "verify() called the clean store damaged: " + r.problems());
            assertTrue(v.stats().currentKeyVersion() > 2, "version 2 was given to another key");
        }
    }
}
