package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An index table's header says how many buckets its directory has. A damaged (or hostile) header claiming the most
 * (2^28, level 26) with a directory list of matching length, about 2 MiB, must be {@code CORRUPT} without allocating
 * for 2^28 buckets: 2 GiB from a file of 3 MiB, an {@code OutOfMemoryError} on a smaller heap.
 */
class HostileTableHeaderTest {
    @TempDir
    Path dir;

    @Test
    void aHeaderClaimingAHugeDirectoryIsCorruptWithoutAllocatingForIt() throws Exception {
        Path file = dir.resolve("store.db");
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            engine.commit(new Batch().putRecord("a", new byte[10]).putIndex(0, new byte[16], "a"));
        }
        OpenDb db = MapDbFiles.open(file, 1, CommitProbe.NONE);
        org.mapdb.Store store = db.db().getStore();
        long header = IndexGenerations.registry(db.db()).get(IndexGenerations.tableName(0, 0));
        int level = 26;
        long[] list = new long[(int) (((4L << level) + IndexPages.CHUNK - 1) / IndexPages.CHUNK)];
        Arrays.fill(list, 1L);
        long listRecid = store.put(list, IndexPages.LIST);
        store.update(header, new IndexPages.Header(level, 0, 1, 40, listRecid), IndexPages.HEADER);
        db.db().commit();
        db.db().close();
        assertTrue(Files.size(file) < 8 << 20, "the hostile store is small: " + Files.size(file));

        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        EngineException e = assertThrows(EngineException.class, () -> MapDbEngine.open(file, 1).close());
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertEquals(EngineException.Kind.CORRUPT, e.kind(), e.getMessage());
        assertTrue(allocated < 256L << 20, "the open allocated " + (allocated >> 20) + " MiB for a damaged header");
    }
}
