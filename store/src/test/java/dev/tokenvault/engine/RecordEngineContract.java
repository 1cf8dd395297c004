package dev.tokenvault.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link RecordEngine} contract as tests: every engine passes them through a subclass that says how to open it.
 * Covers atomic batches, the round trips of records, index entries and metadata, index generations, staging,
 * committing and discarding, durability across a reopen (for engines that persist) and close.
 */
public abstract class RecordEngineContract {
    protected static final int INDEXES = 4;

    protected RecordEngine engine;

    /** Opens the engine under test: the same store each time for an engine that persists, else a new empty one. */
    protected abstract RecordEngine open();

    /** Whether what is committed survives {@link RecordEngine#close()} and a new {@link #open()}. */
    protected abstract boolean persists();

    @BeforeEach
    void openEngine() {
        engine = open();
    }

    @AfterEach
    void closeEngine() {
        // null when open() was skipped by an assumption (a database that is not running)
        if (engine != null) {
            engine.close();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] key(int n) {
        byte[] k = new byte[16];
        k[0] = (byte) n;
        k[15] = (byte) (n >> 8);
        return k;
    }

    private Map<ByteBuffer, String> entries(int index) {
        Map<ByteBuffer, String> out = new HashMap<>();
        engine.forEachIndexEntry(index, (k, id) -> out.put(ByteBuffer.wrap(k), id));
        return out;
    }

    @Test
    void recordsIndexEntriesAndMetadataRoundTrip() {
        int gen = engine.indexGeneration();
        engine.commit(new Batch().putRecord("a", bytes("sealed-a")).putIndex(1, key(1), "a")
                .putMeta("m", bytes("meta")));
        assertArrayEquals(bytes("sealed-a"), engine.get("a"));
        assertArrayEquals(bytes("meta"), engine.getMeta("m"));
        assertEquals("a", engine.getIndex(gen, 1, key(1)));
        RecordEngine.Entry e = engine.getByIndex(gen, 1, key(1));
        assertEquals("a", e.id());
        assertArrayEquals(bytes("sealed-a"), e.sealed());
        assertEquals(1, engine.size());
        assertEquals(Map.of(ByteBuffer.wrap(key(1)), "a"), entries(1));
        assertEquals(Map.of(), entries(0), "an entry of one index is in no other");
        Map<String, String> records = new HashMap<>();
        engine.forEachRecord((id, sealed) -> records.put(id, new String(sealed, StandardCharsets.UTF_8)));
        assertEquals(Map.of("a", "sealed-a"), records);

        engine.commit(new Batch().removeRecord("a").removeIndex(1, key(1)).removeMeta("m"));
        assertNull(engine.get("a"));
        assertNull(engine.getMeta("m"));
        assertNull(engine.getByIndex(gen, 1, key(1)));
        assertNull(engine.getIndex(gen, 1, key(1)));
        assertEquals(0, engine.size());
    }

    @Test
    void anIndexEntryNamingAMissingRecordIsReportedAsSuch() {
        int gen = engine.indexGeneration();
        engine.commit(new Batch().putIndex(2, key(7), "ghost"));
        RecordEngine.Entry e = engine.getByIndex(gen, 2, key(7));
        assertEquals("ghost", e.id());
        assertNull(e.sealed());
    }

    @Test
    void aStagedBatchIsVisibleWholeBeforeItsCommit() {
        int gen = engine.indexGeneration();
        engine.stage(new Batch().putRecord("a", bytes("1")).putIndex(0, key(1), "a").putMeta("m", bytes("x")));
        assertArrayEquals(bytes("1"), engine.get("a"));
        assertEquals("a", engine.getByIndex(gen, 0, key(1)).id());
        assertArrayEquals(bytes("x"), engine.getMeta("m"));
        engine.commitStaged();
        assertArrayEquals(bytes("1"), engine.get("a"));
    }

    @Test
    void readersNeverSeeHalfABatch() throws InterruptedException {
        int gen = engine.indexGeneration();
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicReference<String> broken = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            while (writing.get() && broken.get() == null) {
                for (int i = 0; i < 20; i++) {
                    // every batch writes a record and its entry together, and removes them together
                    RecordEngine.Entry e = engine.getByIndex(gen, 0, key(i));
                    if (e != null && e.sealed() == null) {
                        broken.set("entry " + i + " without its record");
                    }
                }
            }
        });
        reader.start();
        try {
            for (int round = 0; round < 200; round++) {
                Batch batch = new Batch();
                for (int i = 0; i < 20; i++) {
                    // ordered so that any half of a batch shows as an entry without its record
                    if (round % 2 == 0) {
                        batch.putIndex(0, key(i), "r" + i).putRecord("r" + i, bytes("v" + round));
                    } else {
                        batch.removeRecord("r" + i).removeIndex(0, key(i));
                    }
                }
                engine.stage(batch);
                if (round % 10 == 9) {
                    engine.commitStaged();
                }
            }
            engine.commitStaged();
        } finally {
            writing.set(false);
            reader.join();
        }
        assertNull(broken.get(), broken.get());
    }

    @Test
    void discardStagedDropsExactlyTheBatchesStagedSinceTheLastCommit() {
        engine.commit(new Batch().putRecord("kept", bytes("k")).putMeta("m", bytes("old")));
        engine.stage(new Batch().putRecord("dropped1", bytes("d")).putMeta("m", bytes("new")));
        engine.stage(new Batch().putRecord("dropped2", bytes("d")).removeRecord("kept"));
        engine.discardStaged("test: the caller failed");
        assertArrayEquals(bytes("k"), engine.get("kept"));
        assertNull(engine.get("dropped1"));
        assertNull(engine.get("dropped2"));
        assertArrayEquals(bytes("old"), engine.getMeta("m"));
        assertEquals(1, engine.size());
        // and the engine keeps working
        engine.commit(new Batch().putRecord("after", bytes("a")));
        assertEquals(2, engine.size());
    }

    /** A new store whose first change is discarded is empty and keeps working (the in-memory engine stopped). */
    @Test
    void discardingTheFirstChangeOfANewStoreLeavesItEmptyAndWorking() {
        engine.stage(new Batch().putRecord("a", bytes("1")).putIndex(0, bytes("alice"), "a"));
        engine.discardStaged("test: the caller failed");
        assertNull(engine.get("a"));
        assertNull(engine.getIndex(engine.indexGeneration(), 0, bytes("alice")));
        engine.commit(new Batch().putRecord("b", bytes("2")).putIndex(0, bytes("bob"), "b"));
        assertEquals("b", engine.getIndex(engine.indexGeneration(), 0, bytes("bob")));
        assertEquals(1, engine.size());
    }

    @Test
    void commitStagedCommitsEveryBatchStagedBefore() {
        engine.stage(new Batch().putRecord("a", bytes("1")));
        engine.stage(new Batch().putRecord("b", bytes("2")));
        engine.commitStaged();
        engine.discardStaged("test: nothing is staged any more");
        assertArrayEquals(bytes("1"), engine.get("a"));
        assertArrayEquals(bytes("2"), engine.get("b"));
    }

    @Test
    void aNewGenerationIsInvisibleUntilTheSwitchThenTheOldOneAnswersGenerationChanged() {
        int old = engine.indexGeneration();
        engine.commit(new Batch().putRecord("a", bytes("1")).putIndex(0, key(1), "a"));
        int next = engine.nextIndexGeneration();
        assertTrue(next != old, "a new generation number");
        engine.commit(new Batch().putIndexIn(next, 0, key(2), "a"));
        assertNull(engine.getByIndex(old, 0, key(2)), "a generation being built is invisible to readers");
        assertEquals("a", engine.getIndex(next, 0, key(2)));
        assertEquals(old, engine.indexGeneration());

        engine.commit(new Batch().switchIndexGeneration(next));
        assertEquals(next, engine.indexGeneration());
        assertSame(RecordEngine.GENERATION_CHANGED, engine.getByIndex(old, 0, key(1)));
        assertEquals("a", engine.getByIndex(next, 0, key(2)).id());
        assertEquals(Map.of(ByteBuffer.wrap(key(2)), "a"), entries(0), "forEachIndexEntry reads the current one");
        assertEquals("a", engine.getIndex(old, 0, key(1)), "the old generation stays until it is cleared");
        assertTrue(engine.nextIndexGeneration() != old && engine.nextIndexGeneration() != next,
                "a generation number is never used twice");
    }

    @Test
    void aDiscardedSwitchLeavesTheOldGenerationCurrent() {
        int old = engine.indexGeneration();
        engine.commit(new Batch().putRecord("a", bytes("1")).putIndex(0, key(1), "a"));
        int next = engine.nextIndexGeneration();
        engine.stage(new Batch().putIndexIn(next, 0, key(2), "a").switchIndexGeneration(next));
        engine.discardStaged("test: the switch is not saved");
        assertEquals(old, engine.indexGeneration());
        assertEquals("a", engine.getByIndex(old, 0, key(1)).id());
        assertSame(RecordEngine.GENERATION_CHANGED, engine.getByIndex(next, 0, key(2)));
        engine.commit(new Batch().switchIndexGeneration(next));
        assertEquals(next, engine.indexGeneration());
        assertSame(RecordEngine.GENERATION_CHANGED, engine.getByIndex(old, 0, key(1)));
    }

    /** Commits 25 entries over the indexes of the current generation, and returns that generation. */
    private int commitTwentyFiveEntries() {
        Batch fill = new Batch();
        for (int i = 0; i < 25; i++) {
            fill.putIndex(i % INDEXES, key(i), "r" + i);
        }
        engine.commit(fill);
        return engine.indexGeneration();
    }

    @Test
    void clearIndexGenerationEmptiesAnOldGenerationInBoundedCommits() {
        int old = commitTwentyFiveEntries();
        int next = engine.nextIndexGeneration();
        engine.commit(new Batch().switchIndexGeneration(next));
        assertThrows(IllegalArgumentException.class, () -> engine.clearIndexGeneration(next, 10));
        assertEquals(25, engine.clearIndexGeneration(old, 4));
        for (int i = 0; i < 25; i++) {
            assertNull(engine.getIndex(old, i % INDEXES, key(i)));
        }
        assertEquals(0, engine.clearIndexGeneration(old, 4));
    }

    @Test
    void indexRemovalsHandOutAnOldGenerationInBoundedBatchesToStageBesideOtherWrites() {
        int old = commitTwentyFiveEntries();
        int next = engine.nextIndexGeneration();
        engine.commit(new Batch().putIndexIn(next, 0, key(99), "kept").switchIndexGeneration(next));
        assertThrows(IllegalArgumentException.class, () -> engine.indexRemovals(next, 10));
        assertThrows(IllegalArgumentException.class, () -> engine.indexRemovals(old, 0));
        int removed = 0;
        for (int round = 0; round < 25; round++) {
            Batch removals = engine.indexRemovals(old, 10);
            if (removals.isEmpty()) {
                break;
            }
            assertTrue(removals.ops().size() <= 10, "more than max: " + removals.ops().size());
            for (Batch.Op op : removals.ops()) {
                assertTrue(op instanceof Batch.RemoveIndexIn r && r.generation() == old
                        && engine.getIndex(old, r.index(), r.key()) != null, "not a removal of an old entry: " + op);
            }
            engine.stage(removals);
            engine.stage(new Batch().putRecord("w" + round, bytes("written beside")));
            engine.commitStaged();
            removed += removals.ops().size();
        }
        assertEquals(25, removed);
        for (int i = 0; i < 25; i++) {
            assertNull(engine.getIndex(old, i % INDEXES, key(i)));
        }
        assertTrue(engine.indexRemovals(old, 10).isEmpty());
        assertEquals("kept", engine.getByIndex(next, 0, key(99)).id());
        assertArrayEquals(bytes("written beside"), engine.get("w0"));
    }

    @Test
    void clearAllRemovesRecordsAndEntriesOfEveryGenerationButKeepsMetadata() {
        int gen = engine.indexGeneration();
        int next = engine.nextIndexGeneration();
        engine.commit(new Batch().putRecord("a", bytes("1")).putIndex(0, key(1), "a")
                .putIndexIn(next, 0, key(2), "a").putMeta("m", bytes("x")));
        engine.commit(new Batch().clearAll());
        assertEquals(0, engine.size());
        assertNull(engine.getByIndex(gen, 0, key(1)));
        assertNull(engine.getIndex(next, 0, key(2)));
        assertArrayEquals(bytes("x"), engine.getMeta("m"));
    }

    @Test
    void whatIsCommittedIsThereAfterAReopen() {
        assumeTrue(persists(), "this engine does not persist");
        int next = engine.nextIndexGeneration();
        engine.commit(new Batch().putRecord("a", bytes("1")).putIndexIn(next, 3, key(5), "a")
                .switchIndexGeneration(next).putMeta("m", bytes("x")));
        engine.stage(new Batch().putRecord("b", bytes("2")));
        engine.discardStaged("test: not saved");
        engine.close();
        engine = open();
        assertArrayEquals(bytes("1"), engine.get("a"));
        assertNull(engine.get("b"));
        assertArrayEquals(bytes("x"), engine.getMeta("m"));
        assertEquals(next, engine.indexGeneration());
        assertEquals("a", engine.getByIndex(next, 3, key(5)).id());
    }

    @Test
    void closeIsIdempotentAndEveryCallAfterItFailsWithClosed() {
        engine.commit(new Batch().putRecord("a", bytes("1")));
        engine.close();
        engine.close();
        List<Runnable> calls = new ArrayList<>(List.of(() -> engine.get("a"), () -> engine.getMeta("m"),
                engine::size, engine::indexGeneration, () -> engine.stage(new Batch().putRecord("b", bytes("2"))),
                () -> engine.forEachRecord((id, sealed) -> { })));
        for (Runnable call : calls) {
            EngineException e = assertThrows(EngineException.class, call::run);
            assertEquals(EngineException.Kind.CLOSED, e.kind(), e.getMessage());
            assertNotNull(e.getMessage());
        }
    }
}
