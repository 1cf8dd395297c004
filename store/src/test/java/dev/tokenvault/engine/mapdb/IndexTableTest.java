package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.RecordEngine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
            engine.commit(new Batch().putIndex(0, keys.get(0), "replaced"));
        }
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            Map<String, String> found = new HashMap<>();
            engine.forEachIndexEntry(0, (k, id) -> found.put(java.util.Arrays.toString(k), id));
            assertEquals(30, found.size());
            assertEquals("replaced", idOf(engine, 0, keys.get(0)));
            for (int i = 1; i < keys.size(); i++) {
                assertEquals(i % 10 == 0 ? longId + i : null, idOf(engine, 0, keys.get(i)), "key " + i);
            }
        }
    }
}
