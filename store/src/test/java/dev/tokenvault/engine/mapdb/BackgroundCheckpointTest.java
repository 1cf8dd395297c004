package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.CommitProbe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint that follows a full half of the redo log runs on a thread of its own: commits go on meanwhile, and a
 * crash at any moment, whatever part of the main file reached the disk, loses no commit that returned. The main file
 * is a {@link SimulatedDisk}, which knows what a sync made durable.
 */
class BackgroundCheckpointTest {
    private static final int SIZE = 64 * 1024;
    /** Small halves, so that a few hundred commits switch many times. */
    private static final long CHECKPOINT_BYTES = 4096;

    @TempDir
    Path dir;

    /** One commit of a few random writes through the volume; returns once it is durable. */
    private static void commit(RedoVolume volume, Random random) {
        for (int i = 1 + random.nextInt(4); i > 0; i--) {
            byte[] b = new byte[1 + random.nextInt(200)];
            random.nextBytes(b);
            volume.putData(random.nextInt(SIZE - b.length), b, 0, b.length);
        }
        volume.sync();
    }

    /** What an open after a crash now finds: the crash image with the log, as it is on disk, replayed onto it. */
    private byte[] recovered(SimulatedDisk disk, Path logPath, Random random) throws IOException {
        byte[] log = Files.readAllBytes(logPath); // before the image: a retire seen here had its sync finished
        byte[] image = disk.crashImage(random);
        Path main = Files.write(dir.resolve("recovered"), image);
        Path redo = Files.write(dir.resolve("recovered.redo"), log);
        RedoReplay.replayInto(redo, main);
        return Files.readAllBytes(main);
    }

    @Test
    void commitsGoOnWhileTheCheckpointSyncsAndTheCloseWaitsForIt() throws Exception {
        SimulatedDisk disk = new SimulatedDisk(SIZE);
        CountDownLatch syncing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        disk.onSync = () -> {
            syncing.countDown();
            assertTrue(release.await(30, TimeUnit.SECONDS));
        };
        Path logPath = dir.resolve("store.redo");
        RedoLog log = RedoLog.open(logPath, 0);
        RedoVolume volume = new RedoVolume(disk, log, CommitProbe.NONE, CHECKPOINT_BYTES);
        Random random = new Random(1);
        while (log.half() == 0) {
            commit(volume, random);
        }
        assertTrue(syncing.await(30, TimeUnit.SECONDS), "the checkpoint started");
        assertEquals(List.of("tokenvault-checkpoint"), disk.syncThreads());
        for (int i = 0; i < 5; i++) {
            commit(volume, random); // the sync is held open, and the commits still return
        }
        assertEquals(1, log.half());
        assertTrue(log.needed(0), "the half left stays until its checkpoint is done");
        assertArrayEquals(disk.current(), recovered(disk, logPath, random), "a crash now loses nothing");

        release.countDown();
        volume.close(); // waits for the checkpoint thread, then syncs once more and empties the log
        assertEquals(List.of("tokenvault-checkpoint", Thread.currentThread().getName()), disk.syncThreads());
        assertEquals(0, Files.size(logPath));
    }

    @Test
    void aFailedCheckpointIsRunAgainByTheNextSwitch() throws Exception {
        SimulatedDisk disk = new SimulatedDisk(SIZE);
        disk.onSync = () -> {
            if (Thread.currentThread().getName().equals("tokenvault-checkpoint")) {
                disk.onSync = () -> { };
                throw new IllegalStateException("injected: the sync failed");
            }
        };
        Path logPath = dir.resolve("failed.redo");
        RedoLog log = RedoLog.open(logPath, 0);
        RedoVolume volume = new RedoVolume(disk, log, CommitProbe.NONE, CHECKPOINT_BYTES);
        Random random = new Random(2);
        while (log.half() == 0) {
            commit(volume, random);
        }
        while (log.half() == 1) {
            commit(volume, random);
        }
        List<String> syncs = disk.syncThreads();
        assertEquals("tokenvault-checkpoint", syncs.get(0));
        assertEquals(Thread.currentThread().getName(), syncs.get(1), "the switch back synced the main file itself");
        assertArrayEquals(disk.current(), recovered(disk, logPath, random));
        volume.close();
    }

    /**
     * Random commits with crashes at random moments, some while a checkpoint's sync is held open: the recovered main
     * file always equals the one the process saw.
     */
    @Test
    void aCrashAtAnyMomentLosesNoCommit() throws Exception {
        for (int seed = 0; seed < 40; seed++) {
            Random random = new Random(seed);
            SimulatedDisk disk = new SimulatedDisk(SIZE);
            CountDownLatch release = new CountDownLatch(1);
            boolean holdSyncs = random.nextBoolean();
            disk.onSync = () -> {
                if (holdSyncs && Thread.currentThread().getName().equals("tokenvault-checkpoint")) {
                    release.await(30, TimeUnit.SECONDS);
                }
            };
            Path logPath = dir.resolve("crash-" + seed + ".redo");
            RedoLog log = RedoLog.open(logPath, 0);
            RedoVolume volume = new RedoVolume(disk, log, CommitProbe.NONE, CHECKPOINT_BYTES);
            int switches = 0;
            int commits = 50 + random.nextInt(400);
            for (int c = 0; c < commits; c++) {
                int half = log.half();
                if (holdSyncs && log.size() + 2048 >= CHECKPOINT_BYTES && switches > 0) {
                    break; // the next switch would wait for the held sync
                }
                commit(volume, random);
                switches += log.half() != half ? 1 : 0;
                if (random.nextInt(20) == 0) {
                    assertArrayEquals(disk.current(), recovered(disk, logPath, random),
                            "seed " + seed + ", commit " + c);
                }
            }
            assertArrayEquals(disk.current(), recovered(disk, logPath, random), "seed " + seed + " at its end");
            if (holdSyncs && switches > 0) {
                assertTrue(log.needed(1 - log.half()), "the held checkpoint has not retired its half");
            }
            release.countDown();
            volume.close();
        }
    }

    @Test
    void aLogWithBothHalvesNeededAfterACrashIsCheckpointedBeforeItsFirstSwitch() throws Exception {
        SimulatedDisk disk = new SimulatedDisk(SIZE);
        CountDownLatch release = new CountDownLatch(1);
        disk.onSync = () -> release.await(30, TimeUnit.SECONDS);
        Path logPath = dir.resolve("again.redo");
        RedoLog log = RedoLog.open(logPath, 0);
        RedoVolume volume = new RedoVolume(disk, log, CommitProbe.NONE, CHECKPOINT_BYTES);
        Random random = new Random(3);
        while (log.half() == 0) {
            commit(volume, random);
        }
        commit(volume, random); // killed now, with the first half's checkpoint held open
        byte[] seen = disk.current();
        byte[] image = disk.crashImage(random);
        Path main = Files.write(dir.resolve("again"), image);
        Path copy = Files.write(dir.resolve("again.db.redo"), Files.readAllBytes(logPath));
        release.countDown();
        volume.close();

        RedoReplay.Replay replay = RedoReplay.replayInto(copy, main);
        assertTrue(replay.otherNeeded(), "both halves replayed");
        assertArrayEquals(seen, Files.readAllBytes(main));
        // The replay's writes are not synced: the reopened disk holds the crash image durably, the replay on top.
        SimulatedDisk reopened = new SimulatedDisk(image);
        reopened.putData(0, Files.readAllBytes(main), 0, SIZE);
        RedoLog again = RedoLog.open(copy, replay);
        RedoVolume second = new RedoVolume(reopened, again, CommitProbe.NONE, CHECKPOINT_BYTES);
        assertTrue(again.needed(0) && again.needed(1));
        assertArrayEquals(reopened.current(), recovered(reopened, copy, random));
        while (again.half() == 1) {
            commit(second, random);
            assertArrayEquals(reopened.current(), recovered(reopened, copy, random));
        }
        assertEquals(Thread.currentThread().getName(), reopened.syncThreads().get(0),
                "the first switch synced the main file itself: no checkpoint had run for the first half");
        second.close();
        assertEquals(List.of(Thread.currentThread().getName(), "tokenvault-checkpoint",
                Thread.currentThread().getName()), reopened.syncThreads(), "then the second half's in the background");
    }
}
