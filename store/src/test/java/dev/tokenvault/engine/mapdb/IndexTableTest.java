package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mapdb.DB;
import org.mapdb.DBMaker;

/**
 * The index tables ({@link IndexTable}) through the engine: growth by splits past one directory chunk, buckets whose
 * pages overflow into chains, removals that empty overflow pages, and reopening.
 */
class IndexTableTest {
    @TempDir
    Path dir;

    private static byte[] key(int n) {
        return ByteBuffer.allocate(16).putLong(0x5EED_0000_0000_0000L ^ n).putLong(n * 31L).array();
    }

    private static String idOf(RecordEngine engine, int index, byte[] key) {
        return engine.getIndex(engine.indexGeneration(), index, key);
    }

    @Test
    void fortyThousandEntriesGrowTheTablePastOneDirectoryChunkAndSurviveRemovalAndReopen() {
        Path p = dir.resolve("grow.db");
        int n = 40_000;
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            for (int start = 0; start < n; start += 5_000) {
                Batch batch = new Batch();
                for (int i = start; i < start + 5_000; i++) {
                    batch.putIndex(2, key(i), "r" + i);
                }
                engine.commit(batch);
            }
            for (int i = 0; i < n; i++) {
                assertEquals("r" + i, idOf(engine, 2, key(i)), "entry " + i);
            }
            Batch removals = new Batch();
            for (int i = 0; i < n; i += 2) {
                removals.removeIndex(2, key(i));
            }
            engine.commit(removals);
            long[] seen = {0};
            engine.forEachIndexEntry(2, (k, id) -> seen[0]++);
            assertEquals(n / 2, seen[0]);
        }
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            for (int i = 0; i < n; i++) {
                assertEquals(i % 2 == 0 ? null : "r" + i, idOf(engine, 2, key(i)), "entry " + i + " after reopen");
            }
            assertNull(idOf(engine, 1, key(1)), "the other indexes stay empty");
        }
    }

    /** Keys whose fingerprints share their low 16 bits: one bucket of a small table, a chain of several pages. */
    private static List<byte[]> oneBucketKeys(int count) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; out.size() < count; i++) {
            byte[] k = key(i);
            if ((IndexTable.fingerprint(k) & 0xFFFF) == 0x1234) {
                out.add(k);
            }
        }
        return out;
    }

    @Test
    void aBucketOverflowsIntoAChainAndEmptiedOverflowPagesLeaveIt() {
        Path p = dir.resolve("chain.db");
        List<byte[]> keys = oneBucketKeys(300); // about 45 bytes an entry: 300 of them fill six or seven pages
        String longId = "x".repeat(20);
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            Batch batch = new Batch();
            for (int i = 0; i < keys.size(); i++) {
                batch.putIndex(0, keys.get(i), longId + i);
            }
            engine.commit(batch);
            for (int i = 0; i < keys.size(); i++) {
                assertEquals(longId + i, idOf(engine, 0, keys.get(i)));
            }
            Batch removals = new Batch();
            for (int i = 0; i < keys.size(); i++) {
                if (i % 10 != 0) {
                    removals.removeIndex(0, keys.get(i));
                }
            }
            engine.commit(removals);
            Batch replacements = new Batch(); // each moves to the first page with room: overflow pages empty out
            for (int i = 10; i < keys.size(); i += 10) {
                replacements.putIndex(0, keys.get(i), "moved" + i);
            }
            engine.commit(replacements.putIndex(0, keys.get(0), "replaced"));
        }
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            Map<String, String> found = new HashMap<>();
            engine.forEachIndexEntry(0, (k, id) -> found.put(Arrays.toString(k), id));
            assertEquals(30, found.size());
            assertEquals("replaced", idOf(engine, 0, keys.get(0)));
            for (int i = 1; i < keys.size(); i++) {
                assertEquals(i % 10 == 0 ? "moved" + i : null, idOf(engine, 0, keys.get(i)), "key " + i);
            }
        }
    }

    /** An overflow link back to its chain's head (a damaged file) is {@code CORRUPT} for a lookup and a scan. */
    @Test
    void aChainThatLoopsIsCorruptNotAHang() throws Exception {
        Path p = dir.resolve("loop.db");
        List<byte[]> keys = oneBucketKeys(100);
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            Batch batch = new Batch();
            for (int i = 0; i < keys.size(); i++) {
                batch.putIndex(0, keys.get(i), "x".repeat(20) + i);
            }
            engine.commit(batch);
        }
        try (DB db = DBMaker.fileDB(p.toFile()).make()) {
            ByteBuffer pages = ByteBuffer.wrap(TableRecords.raw(db,
                    TableRecords.firstChunk(db, IndexGenerations.tableName(0, 0))));
            long looped = 0;
            for (int i = 0; i < pages.getInt(0) && looped == 0; i++) {
                long page = pages.getLong(4 + 8 * i);
                long next = ByteBuffer.wrap(TableRecords.raw(db, page)).getLong(8);
                if (next != 0) { // the head of the long chain: its overflow page now links back to the head
                    ByteBuffer overflow = ByteBuffer.wrap(TableRecords.raw(db, next));
                    overflow.putLong(8, page);
                    TableRecords.write(db, next, overflow.array());
                    looped = page;
                }
            }
            assertNotEquals(0, looped, "no bucket had an overflow page");
            db.commit();
        }
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            EngineException scan = assertThrows(
                    EngineException.class, () -> engine.forEachIndexEntry(0, (k, id) -> { }));
            assertEquals(EngineException.Kind.CORRUPT, scan.kind());
            byte[] absent = key(-1); // a key of that bucket that is not there walks the whole chain
            for (int i = -2; (IndexTable.fingerprint(absent) & 0xFFFF) != 0x1234; i--) {
                absent = key(i);
            }
            byte[] missing = absent;
            EngineException lookup = assertThrows(
                    EngineException.class, () -> idOf(engine, 0, missing));
            assertEquals(EngineException.Kind.CORRUPT, lookup.kind());
        }
    }
}
