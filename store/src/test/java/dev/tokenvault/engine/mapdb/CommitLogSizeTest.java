package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small commit writes a small redo record: MapDB rewrites its whole 32 KiB header at every commit, and only the
 * bytes that changed reach the log (10 saves used to log 348 KB). That the log replays to the same store after a
 * kill is CrashTest's part.
 */
class CommitLogSizeTest {
    private static final int COMMITS = 20;

    @TempDir
    Path dir;

    @Test
    void aSmallCommitLogsAFewHundredBytesNotTheWholeHeader() throws IOException {
        Path file = dir.resolve("store.db");
        MapDbEngine.open(file, 2).close(); // created, so that the commits below are the log's only records
        MapDbEngine engine = MapDbEngine.open(file, 2);
        byte[] sealed = new byte[400];
        for (int i = 0; i < COMMITS; i++) {
            Arrays.fill(sealed, (byte) i);
            engine.commit(new Batch().putRecord("id" + (i % 3), sealed.clone())
                    .putIndex(0, ("key" + i).getBytes(), "id" + (i % 3)).putMeta("seals.1", new byte[] {(byte) i}));
        }
        long logged = usedBytes(MapDbFiles.redoOf(file));
        engine.close();

        assertTrue(logged < COMMITS * 2048L, COMMITS + " commits logged " + logged + " bytes");
        try (MapDbEngine reopened = MapDbEngine.open(file, 2)) {
            assertArrayEquals(sealed, reopened.get("id" + ((COMMITS - 1) % 3)));
            assertArrayEquals(new byte[] {COMMITS - 1}, reopened.getMeta("seals.1"));
        }
    }

    /** Up to the last non-zero byte: the log is preallocated with zeros. */
    private static long usedBytes(Path log) throws IOException {
        byte[] bytes = Files.readAllBytes(log);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == 0) {
            end--;
        }
        return end;
    }
}
