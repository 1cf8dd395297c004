package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.nio.file.Path;
import java.util.SortedSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * After {@code rotateIndexKey()} or {@code repair()} switched to the new index generation, the old one is emptied in
 * bounded batches. A writer that queues meanwhile must get in before the old generation is gone, not wait for all of
 * it: that wait would grow with the store.
 */
class DiscardWhileWritingTest {
    /** 4 indexed values each: 10,000 old entries, more than two batches of 4,000 to empty. */
    private static final int RECORDS = 2_500;

    @TempDir
    Path dir;

    private final MasterKey key = MasterKey.generate();

    private Path file() {
        return dir.resolve("discard.db");
    }

    /** What the vault's engine saw: the switch's commit, the first commit after it, and the save of a record. */
    private static final class Watch {
        /** The thread that committed the switch: the rotation's or the repair's. */
        final AtomicReference<Thread> switcher = new AtomicReference<>();
        final AtomicBoolean firstEmptyingCommit = new AtomicBoolean();
        /** The store's generations holding entries (the current one included) when the late save was staged. */
        final AtomicReference<SortedSet<Integer>> generationsAtSave = new AtomicReference<>();
        final AtomicReference<MapDbEngine> store = new AtomicReference<>();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rotateIndexKey", "repair"})
    void aSaveQueuedAsTheOldGenerationIsEmptiedGoesInBeforeItIsGone(String operation) throws Exception {
        try (TokenVault v = TokenVault.builder().path(file()).masterKey(key).open()) {
            KeyRotationTest.populate(v, "d", RECORDS);
        }
        if (operation.equals("repair")) {
            strayEntry(); // something for repair() to rebuild
        }
        AtomicReference<TokenVault> vault = new AtomicReference<>();
        AtomicReference<Throwable> writerFailure = new AtomicReference<>();
        OAuthToken late = full("late");
        Thread writer = new Thread(() -> {
            try {
                vault.get().saveToken(late);
            } catch (Throwable t) {
                writerFailure.set(t);
            }
        }, "late-writer");
        Watch watch = new Watch();
        try (TokenVault v = watching(watch, writer).open()) {
            vault.set(v);
            if (operation.equals("repair")) {
                assertTrue(v.repair().rebuilt());
            } else {
                v.rotateIndexKey();
            }
            writer.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(writer.isAlive(), "the save never returned");
            assertNull(writerFailure.get(), () -> "the save failed: " + writerFailure.get());
            SortedSet<Integer> atSave = watch.generationsAtSave.get();
            assertNotNull(atSave, "the save was never staged");
            assertEquals(2, atSave.size(), () -> "the save waited until the old index generation was emptied: the"
                    + " generations holding entries when it was staged were " + atSave);
            assertEquals(1, watch.store.get().indexGenerations().size(), "the old index generation was not emptied");
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            ContractTest.lookAllWays(v, late);
        }
    }

    /**
     * A builder for the store that starts {@code writer} when the switching thread's first commit after the switch
     * (the first of emptying the old generation) is durable and lets that commit return once the writer waits in the
     * write queue; it notes the generations holding entries when a record is staged after the switch (the writer's
     * save: nothing else saves records then).
     */
    private TokenVault.Builder watching(Watch watch, Thread writer) {
        CommitProbe probe = step -> {
            if (step.equals("engine.committed") && watch.switcher.get() == Thread.currentThread()
                    && watch.firstEmptyingCommit.compareAndSet(false, true)) {
                writer.start();
                awaitQueued(writer);
            }
        };
        return TokenVault.builder().path(file()).masterKey(key).commitProbe(probe).engineWrapper(inner -> {
            watch.store.set((MapDbEngine) inner);
            return EngineProxy.of(inner, (m, args, proceed) -> {
                if (m.getName().equals("stage") && watch.switcher.get() != null
                        && holds((Batch) args[0], op -> op instanceof Batch.PutRecord)) {
                    watch.generationsAtSave.compareAndSet(null, watch.store.get().indexGenerations());
                }
                Object result = proceed.with(args);
                if (m.getName().equals("commit") && holds((Batch) args[0],
                        op -> op instanceof Batch.SwitchIndexGeneration)) {
                    watch.switcher.set(Thread.currentThread());
                }
                return result;
            });
        });
    }

    private static boolean holds(Batch batch, Predicate<Batch.Op> kind) {
        return batch.ops().stream().anyMatch(kind);
    }

    /** Waits until {@code writer} is parked in the write pipeline's queue, behind the holder of the write lock. */
    private static void awaitQueued(Thread writer) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(LockSupport.getBlocker(writer) instanceof WritePipeline)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the writer never reached the write queue");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // polling, not timing: the condition decides
        }
    }

    /** Adds an index entry naming no record to the closed store, for {@code verify()} to report. */
    private void strayEntry() {
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            engine.commit(new Batch().putIndex(Field.GRANT_TOKEN.index, new byte[] {1, 2, 3}, "no-such-record"));
        }
    }
}
