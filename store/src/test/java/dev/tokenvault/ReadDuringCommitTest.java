package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.engine.CommitProbe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A commit's fsync and its apply to the main file run with readers let in: a cache-off lookup made while the writer
 * is held at a step after its redo record was written returns at once, and sees the whole commit, never part of it.
 * Before, every lookup that missed the cache waited for each commit's fsync and apply (bench:
 * {@code LookupWhileSavingBenchmark}).
 */
class ReadDuringCommitTest {
    @TempDir Path dir;

    private final MasterKey key = MasterKey.generate();
    private final ExecutorService writer = Executors.newSingleThreadExecutor();
    private final ExecutorService reader = Executors.newSingleThreadExecutor();

    @AfterEach
    void stopThreads() {
        writer.shutdownNow();
        reader.shutdownNow();
    }

    /** Holds the writer the first time it reaches {@code step} once armed, until released. */
    private static final class HoldAt implements CommitProbe {
        final String step;
        final CountDownLatch reached = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean armed;

        HoldAt(String step) {
            this.step = step;
        }

        @Override
        public void reached(String s) {
            if (armed && s.equals(step) && reached.getCount() > 0) {
                reached.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"redo.syncing", "volume.logged", "volume.applying", "volume.applied", "engine.committed"})
    void aLookupDuringTheCommitNeitherWaitsForItNorSeesPartOfIt(String step) throws Exception {
        HoldAt hold = new HoldAt(step);
        try (TokenVault v = TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).cacheMaximumSize(0)
                .commitProbe(hold).open()) {
            List<OAuthToken> seed = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                seed.add(full("u" + i));
            }
            v.saveTokens(seed);
            OAuthToken refreshed = OAuthToken.builder().userName("user-u7@example.com")
                    .accessToken("access-refreshed").expiryTime("1800000000000").build();
            hold.armed = true;
            Future<?> save = writer.submit(() -> v.saveTokens(List.of(refreshed, full("new"))));
            assertTrue(hold.reached.await(30, TimeUnit.SECONDS), "the commit never reached " + step);
            try {
                List<OAuthToken> seen = withinSeconds(() -> snapshot(v));
                assertEquals(51, seen.size(), "the lookup saw part of the commit");
                withinSeconds(() -> {
                    assertEquals("access-refreshed", v.findToken(byUser("user-u7@example.com")).getAccessToken());
                    assertNull(v.findToken(OAuthToken.builder().accessToken("access-u7").build()));
                    assertNotNull(v.findToken(OAuthToken.builder().accessToken("access-refreshed").build()));
                    assertNotNull(v.findToken(byUser("user-new@example.com")));
                    return null;
                });
            } finally {
                hold.release.countDown();
            }
            save.get(30, TimeUnit.SECONDS);
            assertEquals(51, v.getTokens().size());
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
        }
        try (TokenVault v = TokenVault.builder().path(dir.resolve("s.db")).masterKey(key).open()) {
            assertEquals("access-refreshed", v.findToken(byUser("user-u7@example.com")).getAccessToken());
            assertEquals(51, v.getTokens().size());
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
        }
    }

    /** Runs {@code read} on the reader thread; fails if it does not return within 10 s (it waits for the writer). */
    private <T> T withinSeconds(Callable<T> read) throws Exception {
        Future<T> f = reader.submit(read);
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail("a lookup waited for the commit held at its fsync or apply");
            return null;
        }
    }

    private static OAuthToken byUser(String userName) {
        return OAuthToken.builder().userName(userName).build();
    }
}
