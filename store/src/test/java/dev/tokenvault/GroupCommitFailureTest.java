package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.CommitProbe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The group commit gives each caller its own result or error: a write that fails after staging its batch fails alone,
 * and the writes that shared its group commit are run again without it and saved.
 *
 * <p>The failing write holds the write lock at its staging step (a {@link CommitProbe}) until seven other saves have
 * queued behind it, so that the combiner takes them into the same group, then fails with an {@code Error}.
 */
class GroupCommitFailureTest {
    private static final int OTHERS = 7;

    @TempDir
    Path dir;

    @Test
    void aWriteThatFailsAfterStagingFailsAloneAndTheRestOfItsGroupIsSaved() throws Exception {
        roundTrip(TokenVault.builder().path(dir.resolve("s.db")));
    }

    @Test
    void inMemoryToo() throws Exception {
        roundTrip(TokenVault.builder().inMemory());
    }

    private void roundTrip(TokenVault.Builder builder) throws Exception {
        CountDownLatch othersStarted = new CountDownLatch(OTHERS);
        AtomicBoolean armed = new AtomicBoolean();
        AtomicBoolean fired = new AtomicBoolean();
        CommitProbe probe = step -> {
            if (step.equals("vault.staged") && armed.get() && fired.compareAndSet(false, true)) {
                try {
                    othersStarted.await(10, TimeUnit.SECONDS);
                    Thread.sleep(300); // from calling saveToken to waiting in the queue
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new OutOfMemoryError("injected after staging");
            }
        };
        ExecutorService pool = Executors.newFixedThreadPool(OTHERS + 1);
        try (TokenVault v = builder.masterKey(MasterKey.generate()).commitProbe(probe).open()) {
            v.saveToken(full("before"));
            armed.set(true);
            Future<?> failing = pool.submit(() -> v.saveToken(full("failing")));
            while (!fired.get()) {
                Thread.onSpinWait();
            }
            List<Future<?>> others = new ArrayList<>();
            for (int i = 0; i < OTHERS; i++) {
                String name = "other" + i;
                others.add(pool.submit(() -> {
                    othersStarted.countDown();
                    v.saveToken(full(name));
                }));
            }
            Throwable failure = outcome(failing);
            assertTrue(failure instanceof TokenStoreException e && e.code() == ErrorCode.IO
                    && e.getMessage().contains("injected after staging"), String.valueOf(failure));
            for (int i = 0; i < OTHERS; i++) {
                assertNull(outcome(others.get(i)), "other" + i + " failed with the write that shared its group");
            }
            assertNull(v.findToken(OAuthToken.builder().userName(full("failing").getUserName()).build()));
            for (int i = 0; i < OTHERS; i++) {
                assertNotNull(v.findToken(OAuthToken.builder().userName(full("other" + i).getUserName()).build()));
            }
            assertEquals(OTHERS + 1, v.getTokens().size());
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
        } finally {
            pool.shutdownNow();
        }
    }

    /** What the task threw, or {@code null} when it returned. */
    private static Throwable outcome(Future<?> task) throws InterruptedException {
        try {
            task.get(30, TimeUnit.SECONDS);
            return null;
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("a save did not return in 30 s", e);
        }
    }
}
