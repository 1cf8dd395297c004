package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.engine.CommitProbe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An {@code Error} (an {@code OutOfMemoryError}, say) at any step of the commit path never leaves part of a batch:
 * either the call fails and the store is exactly as before, in this process and after a reopen, or the call returns
 * and the whole batch is there. Readers and {@code verify()} never see part of it.
 *
 * <p>The steps are the names the commit path reports to its {@link CommitProbe}; before the redo record is written
 * whole and synced, a failure must undo the batch; after it, the batch is durable.
 */
class CommitFailureTest {
    /** Steps before the commit point: the write must fail and change nothing. */
    private static final Set<String> BEFORE_THE_COMMIT_POINT = Set.of("vault.staged", "vault.commit",
            "engine.applied", "engine.commit", "volume.beforeLog", "redo.written", "redo.syncing");

    @TempDir Path dir;

    private final MasterKey key = MasterKey.generate();

    /** Throws an Error the first time an armed step is reached; records that it did. */
    private static final class FailAt implements CommitProbe {
        final Set<String> steps;
        final AtomicBoolean armed = new AtomicBoolean();
        final Set<String> fired = ConcurrentHashMap.newKeySet(); // the checkpoint's step runs on a thread of its own

        FailAt(String... steps) {
            this.steps = new HashSet<>(List.of(steps));
        }

        @Override
        public void reached(String step) {
            if (armed.get() && steps.contains(step) && fired.add(step)) {
                throw new OutOfMemoryError("injected at " + step);
            }
        }
    }

    private TokenVault open(CommitProbe probe) {
        return TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).commitProbe(probe).open();
    }

    private List<OAuthToken> seed() {
        List<OAuthToken> before;
        try (TokenVault v = open(CommitProbe.NONE)) {
            List<OAuthToken> batch = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                batch.add(full("old" + i));
            }
            v.saveTokens(batch);
            before = snapshot(v);
        }
        return before;
    }

    /** {@code n} new tokens and an update of an old one, in one batch: many records, index entries and a counter. */
    private static List<OAuthToken> batch(int n, int accessLength) {
        List<OAuthToken> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            batch.add(OAuthToken.builder().userName("new" + i).accessToken("access-new-" + i + "x".repeat(accessLength))
                    .refreshToken("refresh-new-" + i).build());
        }
        batch.add(OAuthToken.builder().userName("user-old0@example.com").accessToken("refreshed-access").build());
        return batch;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"vault.staged", "vault.commit", "engine.applied", "engine.commit", "volume.beforeLog",
            "redo.written", "redo.syncing", "volume.logged", "volume.applying", "volume.applied", "engine.committed"})
    void anErrorAtEachStepLeavesTheWholeBatchOrNone(String step) {
        List<OAuthToken> before = seed();
        FailAt probe = new FailAt(step);
        boolean failed = false;
        try (TokenVault v = open(probe)) {
            probe.armed.set(true);
            try {
                v.saveTokens(batch(200, 10));
            } catch (TokenStoreException e) {
                failed = true;
                assertEquals(ErrorCode.IO, e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("injected at " + step), e.getMessage());
            }
            probe.armed.set(false);
            assertEquals(Set.of(step), probe.fired, "the step was never reached");
            assertEquals(BEFORE_THE_COMMIT_POINT.contains(step), failed,
                    failed ? "failed after the commit point" : "succeeded before the commit point");
            // this process sees the whole batch or none of it, and the store keeps working
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            assertEquals(failed ? 20 : 220, v.getTokens().size());
            if (failed) {
                assertEquals(before, snapshot(v));
            }
            v.saveToken(full("after"));
        }
        try (TokenVault v = open(CommitProbe.NONE)) {
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            List<OAuthToken> now = snapshot(v);
            assertEquals(failed ? 21 : 221, now.size());
            if (failed) {
                now.removeIf(t -> "user-after@example.com".equals(t.getUserName()));
                assertEquals(before, now);
            } else {
                assertEquals("refreshed-access",
                        v.findToken(OAuthToken.builder().userName("user-old0@example.com").build()).getAccessToken());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"vault.staged", "engine.applied"})
    void inMemoryAnErrorWhileStagingLeavesTheStoreAsBefore(String step) {
        FailAt probe = new FailAt(step);
        try (TokenVault v = TokenVault.builder().inMemory().masterKey(key).commitProbe(probe).open()) {
            List<OAuthToken> seedBatch = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                seedBatch.add(full("old" + i));
            }
            v.saveTokens(seedBatch);
            List<OAuthToken> before = snapshot(v);
            probe.armed.set(true);
            try {
                v.saveTokens(batch(200, 10));
                fail("the write did not fail");
            } catch (TokenStoreException e) {
                assertEquals(ErrorCode.IO, e.code(), e.getMessage());
            }
            probe.armed.set(false);
            assertEquals(Set.of(step), probe.fired);
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            assertEquals(before, snapshot(v));
            v.saveToken(full("after")); // and it keeps working
            assertEquals(21, v.getTokens().size());
        }
    }

    /**
     * The checkpoint runs on a thread of its own once a half of the redo log is full: a failure there fails no call,
     * loses nothing, and the close (or the next switch of halves) syncs the main file again.
     */
    @Test
    void anErrorAtTheCheckpointFailsNoSaveAndLosesNothing() {
        seed();
        FailAt probe = new FailAt("volume.checkpointed");
        TokenVault v = open(probe);
        try {
            probe.armed.set(true);
            v.saveTokens(batch(6000, 1500)); // more than the 8 MiB of log after which a commit checkpoints
            v.saveToken(full("after"));
            assertEquals(6021, v.getTokens().size());
        } finally {
            v.close(); // waits for the checkpoint thread, then checkpoints itself
        }
        assertEquals(Set.of("volume.checkpointed"), probe.fired, "the checkpoint was never reached");
        try (TokenVault again = open(CommitProbe.NONE)) {
            assertTrue(again.verify().isClean(), () -> again.verify().problems().toString());
            assertEquals(6021, again.getTokens().size());
        }
    }

    /**
     * The fsync of the redo log fails, and so does the erasing of its record: opening the files again would apply a
     * commit its callers were told failed, so the store stops instead, and says why. The next open finds the whole
     * batch or none of it (here the whole: the record was written, and the process did not crash).
     */
    @Test
    void whenTheFailedCommitsRecordCannotBeErasedTheVaultStopsInsteadOfApplyingIt() {
        List<OAuthToken> before = seed();
        FailAt probe = new FailAt("redo.syncing", "redo.erasing");
        try (TokenVault v = open(probe)) {
            probe.armed.set(true);
            TokenStoreException e = assertThrows(TokenStoreException.class, () -> v.saveTokens(batch(50, 10)));
            assertEquals(ErrorCode.IO, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("could not be erased"), e.getMessage());
            assertEquals(Set.of("redo.syncing", "redo.erasing"), probe.fired);
            TokenStoreException later = assertThrows(TokenStoreException.class, v::getTokens);
            assertTrue(later.getMessage().contains("could not be erased"), later.getMessage());
        } catch (TokenStoreException closing) {
            assertEquals(ErrorCode.IO, closing.code(), closing.getMessage()); // the close of a stopped store
        }
        try (TokenVault v = open(CommitProbe.NONE)) {
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            List<OAuthToken> after = snapshot(v);
            assertEquals(before.size() + 50, after.size(), "the whole batch, as the record holds it");
            assertEquals("refreshed-access", v.findToken(OAuthToken.builder().userName("user-old0@example.com")
                    .build()).getAccessToken());
        }
    }

    /**
     * Two deletes of one record in one group commit: the first stages, the second finds the record gone. When the
     * group's commit fails, the record is still there, so the second must not stand as {@code NOT_FOUND}: it decided on
     * a change that was never saved, and is told the group failed too.
     */
    @Test
    void aWriteThatDecidedOnAFailedGroupsChangesIsToldItFailedToo() throws Exception {
        CompletableFuture<Throwable> second = new CompletableFuture<>();
        AtomicReference<TokenVault> vault = new AtomicReference<>();
        AtomicReference<String> id = new AtomicReference<>();
        AtomicBoolean queueSecond = new AtomicBoolean();
        AtomicBoolean failSync = new AtomicBoolean();
        CommitProbe probe = step -> {
            if (step.equals("vault.staged") && queueSecond.getAndSet(false)) {
                // the first delete has staged: queue the second behind it, in the same group
                Thread t = new Thread(() -> {
                    try {
                        vault.get().deleteToken(id.get());
                        second.complete(null);
                    } catch (Throwable e) {
                        second.complete(e);
                    }
                });
                t.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING
                        && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                failSync.set(true);
            } else if (step.equals("redo.syncing") && failSync.getAndSet(false)) {
                throw new OutOfMemoryError("injected at " + step);
            }
        };
        try (TokenVault v = TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).cacheMaximumSize(0)
                .commitProbe(probe).open()) {
            vault.set(v);
            OAuthToken t = full("x");
            v.saveToken(t);
            id.set(t.getId());
            queueSecond.set(true);
            TokenStoreException first = assertThrows(TokenStoreException.class, () -> v.deleteToken(id.get()));
            assertEquals(ErrorCode.IO, first.code(), first.getMessage());
            Throwable other = second.get(30, TimeUnit.SECONDS);
            assertNotNull(v.findTokenById(id.get()), "the record is still there");
            assertTrue(other instanceof TokenStoreException, String.valueOf(other));
            assertEquals(ErrorCode.IO, ((TokenStoreException) other).code(), other.getMessage());
        }
    }

    @Test
    void whenGoingBackFailsTooTheVaultStopsAndTheNextOpenRecovers() {
        List<OAuthToken> before = seed();
        FailAt probe = new FailAt("engine.commit", "engine.reload");
        try (TokenVault v = open(probe)) {
            probe.armed.set(true);
            try {
                v.saveTokens(batch(50, 10));
                fail("the commit did not fail");
            } catch (TokenStoreException e) {
                assertEquals(ErrorCode.IO, e.code(), e.getMessage());
            }
            assertEquals(Set.of("engine.commit", "engine.reload"), probe.fired);
            // every later call says what happened and what to do, and nothing is served from a half state
            for (Runnable call : List.<Runnable>of(v::getTokens, v::verify, () -> v.saveToken(full("x")),
                    () -> v.findToken(OAuthToken.builder().userName("user-old1@example.com").build()))) {
                try {
                    call.run();
                    fail("a call on a stopped store succeeded");
                } catch (TokenStoreException e) {
                    assertEquals(ErrorCode.IO, e.code(), e.getMessage());
                    assertTrue(e.getMessage().contains("open it again"), e.getMessage());
                }
            }
        }
        try (TokenVault v = open(CommitProbe.NONE)) {
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            assertEquals(before, snapshot(v));
        }
    }
}
