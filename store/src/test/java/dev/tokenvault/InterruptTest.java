package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.CommitProbe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A thread whose interrupt flag is set (a cancelled request, a pool shutting down) may call the store: its call is not
 * cancelled, it does not break the store for other threads, and it returns with the flag still set. Why it matters:
 * the store's files are {@code FileChannel}s, which close for every thread when a thread blocked in them is
 * interrupted; a save that ran its group's commit on such a thread failed the whole group with {@code IO}.
 */
class InterruptTest {
    @TempDir
    Path dir;

    private final MasterKey key = MasterKey.generate();

    @AfterEach
    void clearFlag() {
        Thread.interrupted();
    }

    private TokenVault open() {
        return TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).open();
    }

    @Test
    void aSaveFromAnInterruptedThreadIsDurableAndKeepsTheFlag() {
        try (TokenVault v = open()) {
            v.saveToken(full("before"));
            Thread.currentThread().interrupt();
            v.saveToken(full("during"));
            v.deleteToken(v.findToken(OAuthToken.builder().userName("user-before@example.com").build()).getId());
            assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
            v.saveToken(full("after"));
            assertEquals(2, v.getTokens().size());
        }
        try (TokenVault v = open()) {
            List<String> users = new ArrayList<>();
            v.getTokens().forEach(t -> users.add(t.getUserName()));
            assertEquals(List.of("user-after@example.com", "user-during@example.com"),
                    users.stream().sorted().toList());
        }
    }

    @Test
    void anInterruptedSaverDoesNotFailTheOthers() throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (TokenVault v = open()) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                threads.add(new Thread(() -> {
                    try {
                        for (int i = 0; i < 50; i++) {
                            if (thread == 0) {
                                Thread.currentThread().interrupt(); // a thread that is interrupted before every call
                            }
                            v.saveToken(full("t" + thread + "-" + i));
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a save failed", failure.get());
            }
            assertEquals(200, v.getTokens().size());
        }
    }

    /** Interrupts the committing thread once, at {@code step} of the commit: an interrupt that lands in the I/O. */
    private static final class InterruptAt implements CommitProbe {
        private final String step;
        volatile boolean armed;

        InterruptAt(String step) {
            this.step = step;
        }

        @Override
        public void reached(String s) {
            if (armed && s.equals(step)) {
                armed = false;
                Thread.currentThread().interrupt();
            }
        }
    }

    private static OAuthToken byUser(String name) {
        return OAuthToken.builder().userName("user-" + name + "@example.com").build();
    }

    /**
     * The interrupt closes the redo log's channel in the middle of the fsync, so the commit fails: its record, written
     * whole, must never replay, though the channel that should erase it is closed. And the store reopens its files
     * and goes on, though the thread that does it is still interrupted.
     */
    @Test
    void aSaveWhoseLogSyncAnInterruptBrokeFailsAndNeverAppears() {
        InterruptAt interrupt = new InterruptAt("redo.syncing");
        try (TokenVault v = TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).cacheMaximumSize(0)
                .commitProbe(interrupt).open()) {
            v.saveToken(full("before"));
            interrupt.armed = true;
            TokenStoreException e = assertThrows(TokenStoreException.class, () -> v.saveToken(full("failed")));
            assertEquals(ErrorCode.IO, e.code(), e.getMessage());
            assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
            assertNull(v.findToken(byUser("failed")));
            v.saveToken(full("after")); // the store reopened its files, and serves
            assertEquals(2, v.getTokens().size());
        }
        try (TokenVault v = open()) {
            assertNull(v.findToken(byUser("failed")), "a save told it failed came back at the next open");
            assertNotNull(v.findToken(byUser("before")));
            assertNotNull(v.findToken(byUser("after")));
        }
    }

    /** Past the commit point (the log synced), the interrupt closes the main file's channel during the apply. */
    @Test
    void aSaveWhoseApplyAnInterruptBrokeIsDurableAndTheStoreGoesOn() {
        InterruptAt interrupt = new InterruptAt("volume.logged");
        try (TokenVault v = TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).cacheMaximumSize(0)
                .commitProbe(interrupt).open()) {
            v.saveToken(full("before"));
            interrupt.armed = true;
            v.saveToken(full("durable"));
            assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
            assertNotNull(v.findToken(byUser("durable")));
            v.saveToken(full("after"));
            assertEquals(3, v.getTokens().size());
        }
        try (TokenVault v = open()) {
            assertEquals(3, v.getTokens().size());
            assertNotNull(v.findToken(byUser("durable")));
        }
    }

    @Test
    void aCloseFromAnInterruptedThreadCheckpointsAndKeepsTheFlag() throws Exception {
        TokenVault v = open();
        v.saveToken(full("x"));
        Thread.currentThread().interrupt();
        v.close();
        assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
        assertEquals(0, Files.size(dir.resolve("s.db.redo")), "the close checkpointed and emptied the log");
        try (TokenVault again = open()) {
            assertEquals(1, again.getTokens().size());
        }
    }

    @Test
    void anOpenFromAnInterruptedThreadWorksAndKeepsTheFlag() {
        try (TokenVault v = open()) {
            v.saveToken(full("x"));
        }
        Thread.currentThread().interrupt();
        try (TokenVault v = open()) {
            assertEquals(1, v.getTokens().size());
        }
        Thread.currentThread().interrupt();
        try (TokenVault v = TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).readOnly().open()) {
            assertEquals(1, v.getTokens().size());
        }
        assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
    }
}
