package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.CommitProbe;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers run while a commit's writes are applied to the main file, and take those writes over the main file's bytes
 * until the last one is applied ({@link RedoVolume}). A read must decide whether to lay them over <i>before</i> it
 * reads the main file: a read that looked only after its copy could find the commit applied by then, lay nothing over,
 * and return the bytes from before the commit, or, across MapDB's two reads of a record (its index slot, then its
 * data), the new slot and the old data.
 */
class OverlayReadTest {
    private static final int SIZE = 64 * 1024;
    private static final int AT = 1000;

    @TempDir
    Path dir;

    private final ExecutorService reader = Executors.newSingleThreadExecutor();

    @AfterEach
    void stopReader() {
        reader.shutdownNow();
    }

    private static byte[] filled(int value) {
        byte[] b = new byte[64];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void aReadThatCopiedTheMainFileBeforeTheApplyStillReturnsTheCommit() throws Exception {
        SimulatedDisk disk = new SimulatedDisk(SIZE);
        RedoVolume volume = new RedoVolume(disk, RedoLog.open(dir.resolve("store.redo"), 0), CommitProbe.NONE,
                RedoLog.CHECKPOINT_BYTES);
        byte[] before = filled(1);
        byte[] after = filled(2);
        volume.putData(AT, before, 0, before.length);
        volume.sync();

        volume.deferCompletion(true);
        volume.putData(AT, after, 0, after.length);
        volume.sync(); // the redo record is written; the fsync and the apply are left to completeCommit

        CountDownLatch copied = new CountDownLatch(1);
        CountDownLatch applied = new CountDownLatch(1);
        AtomicBoolean once = new AtomicBoolean();
        disk.afterRead = () -> {
            if (!once.getAndSet(true)) {
                copied.countDown(); // the reader holds the main file's bytes from before the commit
                assertTrue(applied.await(30, TimeUnit.SECONDS));
            }
        };
        Future<byte[]> read = reader.submit(() -> {
            byte[] out = new byte[after.length];
            volume.getData(AT, out, 0, out.length);
            return out;
        });
        assertTrue(copied.await(30, TimeUnit.SECONDS), "the read never reached the main file");
        volume.completeCommit(); // the commit is synced and applied, and no longer laid over reads
        applied.countDown();

        assertArrayEquals(after, read.get(30, TimeUnit.SECONDS), "the read returned the bytes from before the commit");
        byte[] now = new byte[after.length];
        volume.getData(AT, now, 0, now.length);
        assertArrayEquals(after, now);
        volume.close();
    }
}
