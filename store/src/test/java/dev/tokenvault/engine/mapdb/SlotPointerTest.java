package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.RecordEngine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An index entry holds the recid of its record's slot besides the id ({@link IndexEntry}): the recid is only a
 * shortcut, and every case where it does not lead to the record of the entry's id answers as the id alone would.
 */
class SlotPointerTest {
    private static final byte[] KEY = "sixteen byte key".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private static byte[] sealed(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** An entry written before its record had a slot (recid 0) finds the record once it is there, by its id. */
    @Test
    void anEntryWrittenBeforeItsRecordFindsItById() {
        try (MapDbEngine engine = MapDbEngine.open(dir.resolve("s.db"), 4)) {
            engine.commit(new Batch().putIndex(1, KEY, "late").putRecord("late", sealed("late record")));
            RecordEngine.Entry e = engine.getByIndex(engine.indexGeneration(), 1, KEY);
            assertEquals("late", e.id());
            assertArrayEquals(sealed("late record"), e.sealed());
        }
    }

    /**
     * An entry left behind by its removed record, whose slot MapDB may give to the next record inserted: the entry
     * still names the removed record, which does not exist; the new record is never returned for it.
     */
    @Test
    void anEntryWhoseSlotWentToAnotherRecordNamesItsOwnMissingRecord() {
        try (MapDbEngine engine = MapDbEngine.open(dir.resolve("s.db"), 4)) {
            engine.commit(new Batch().putRecord("gone", sealed("gone record")).putIndex(0, KEY, "gone"));
            engine.commit(new Batch().removeRecord("gone"));
            for (int i = 0; i < 4; i++) {
                engine.commit(new Batch().putRecord("new" + i, sealed("new record " + i)));
            }
            RecordEngine.Entry e = engine.getByIndex(engine.indexGeneration(), 0, KEY);
            assertEquals("gone", e.id());
            assertNull(e.sealed());
            assertEquals("gone", engine.getIndex(engine.indexGeneration(), 0, KEY));
        }
    }

    /** A record replaced under its id keeps its slot, and compaction moves slots: the entry follows both. */
    @Test
    void anEntryFollowsItsRecordThroughReplacementCompactionAndReopen() {
        Path file = dir.resolve("s.db");
        try (MapDbEngine engine = MapDbEngine.open(file, 4)) {
            for (int i = 0; i < 50; i++) {
                engine.commit(new Batch().putRecord("filler" + i, sealed("filler " + i)));
            }
            engine.commit(new Batch().putRecord("a", sealed("first")).putIndex(3, KEY, "a"));
            engine.commit(new Batch().putRecord("a", sealed("second, and longer than the first")));
            assertArrayEquals(sealed("second, and longer than the first"),
                    engine.getByIndex(engine.indexGeneration(), 3, KEY).sealed());
            for (int i = 0; i < 50; i += 2) {
                engine.commit(new Batch().removeRecord("filler" + i));
            }
            engine.compact();
            assertArrayEquals(sealed("second, and longer than the first"),
                    engine.getByIndex(engine.indexGeneration(), 3, KEY).sealed());
        }
        try (MapDbEngine engine = MapDbEngine.open(file, 4)) {
            RecordEngine.Entry e = engine.getByIndex(engine.indexGeneration(), 3, KEY);
            assertEquals("a", e.id());
            assertArrayEquals(sealed("second, and longer than the first"), e.sealed());
            assertEquals(26, engine.size());
        }
    }
}
