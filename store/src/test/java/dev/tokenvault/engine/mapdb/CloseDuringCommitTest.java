package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A commit's fsync and apply run without the engine's write lock, so that readers go on; a {@code close()} from another
 * thread must still wait for them. Before, it closed the files under the commit, which then returned normally, and
 * the commit was gone at the next open.
 */
class CloseDuringCommitTest {
    @TempDir
    Path dir;

    private final ExecutorService writer = Executors.newSingleThreadExecutor();
    private final ExecutorService closer = Executors.newSingleThreadExecutor();

    @AfterEach
    void stopThreads() {
        writer.shutdownNow();
        closer.shutdownNow();
    }

    @Test
    void aCloseWaitsForTheCommitInFlightAndTheCommitSurvives() throws Exception {
        CountDownLatch reached = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        boolean[] armed = {false};
        CommitProbe holdPastTheCommitPoint = step -> {
            if (armed[0] && step.equals("volume.logged")) { // synced: the commit is durable from here on
                armed[0] = false;
                reached.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        Path file = dir.resolve("store.db");
        MapDbEngine engine = MapDbEngine.open(file, 4, true, holdPastTheCommitPoint);
        engine.commit(new Batch().putRecord("a", new byte[] {1}));
        armed[0] = true;
        Future<?> commit = writer.submit(() -> {
            engine.stage(new Batch().putRecord("b", new byte[] {2, 2, 2}));
            engine.commitStaged();
        });
        assertTrue(reached.await(30, TimeUnit.SECONDS), "the commit never reached its fsync's end");
        Future<?> close = closer.submit(engine::close);
        Thread.sleep(300);
        assertFalse(close.isDone(), "the close ran while the commit was being applied");
        release.countDown();
        commit.get(30, TimeUnit.SECONDS);
        close.get(30, TimeUnit.SECONDS);
        try (MapDbEngine again = MapDbEngine.open(file, 4)) {
            assertArrayEquals(new byte[] {1}, again.get("a"));
            assertArrayEquals(new byte[] {2, 2, 2}, again.get("b"), "an acknowledged commit was lost");
        }
    }
}
