package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open replays the redo log into the main file without syncing it, and the writer keeps appending to the same log.
 * So until its first checkpoint, the log alone must bring back every commit since the last synced state: here the main
 * file is put back to that state, as a power loss could leave it, after two writers in a row were killed.
 */
class UnsyncedReplayTest {
    @TempDir
    Path dir;

    @Test
    void aMainFileThatLostEveryWriteSinceItsLastSyncIsRebuiltFromTheLog() throws IOException {
        Path file = dir.resolve("store.db");
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            engine.commit(new Batch().putRecord("a", bytes(1)).putIndex(0, key("a1"), "a"));
        } // closed: checkpointed, the main file synced
        byte[] lastSynced = Files.readAllBytes(file);

        killedAfter(file, new Batch().putRecord("b", bytes(2)).putIndex(0, key("b2"), "b"));
        // The second writer's open replays the first one's commit, unsynced; then it commits and is killed too.
        killedAfter(file, new Batch().putRecord("a", bytes(3)).removeIndex(0, key("a1")).putIndex(0, key("a3"), "a")
                .putRecord("c", new byte[5000]));

        Files.write(file, lastSynced); // neither the replay's writes nor the writers' own reached the disk
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            assertArrayEquals(bytes(3), engine.get("a"));
            assertArrayEquals(bytes(2), engine.get("b"));
            assertArrayEquals(new byte[5000], engine.get("c"));
            assertNull(engine.getIndex(engine.indexGeneration(), 0, key("a1")));
            assertArrayEquals(bytes(3), engine.getByIndex(engine.indexGeneration(), 0, key("a3")).sealed());
        }
    }

    /** Opens the store as a writer does, commits {@code batch}, and lets go of the files as a SIGKILL would. */
    private static void killedAfter(Path file, Batch batch) {
        OpenDb db = MapDbFiles.open(file, 1, CommitProbe.NONE);
        for (Batch.Op op : batch.ops()) {
            db.apply(op);
        }
        db.db().commit();
        db.volume().abandon();
    }

    private static byte[] bytes(int fill) {
        byte[] b = new byte[300];
        java.util.Arrays.fill(b, (byte) fill);
        return b;
    }

    private static byte[] key(String k) {
        return k.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
