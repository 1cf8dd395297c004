package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The redo log replays exactly the complete records of its current generation, in order, and nothing else. */
class RedoLogTest {
    @TempDir
    Path dir;

    private final Random random = new Random(42);

    private List<RedoLog.Write> randomWrites(int n, int fileSize) {
        List<RedoLog.Write> writes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[1 + random.nextInt(64)];
            random.nextBytes(b);
            writes.add(new RedoLog.Write(random.nextInt(fileSize - b.length), b));
        }
        return writes;
    }

    private static byte[] apply(byte[] base, List<List<RedoLog.Write>> records, int count) {
        byte[] out = base.clone();
        for (int r = 0; r < count; r++) {
            for (RedoLog.Write w : records.get(r)) {
                System.arraycopy(w.bytes(), 0, out, (int) w.offset(), w.bytes().length);
            }
        }
        return out;
    }

    @Test
    void everyTruncationReplaysExactlyTheCompleteRecords() throws IOException {
        int size = 4096;
        byte[] base = new byte[size];
        random.nextBytes(base);
        Path logPath = dir.resolve("full.redo");
        List<List<RedoLog.Write>> records = new ArrayList<>();
        List<Long> ends = new ArrayList<>();
        try (RedoLog log = RedoLog.open(logPath, 0)) {
            for (int r = 0; r < 4; r++) {
                List<RedoLog.Write> writes = randomWrites(1 + random.nextInt(5), size);
                records.add(writes);
                log.append(writes, size);
                ends.add(log.size());
            }
        }
        byte[] fullLog = Files.readAllBytes(logPath);
        for (int cut = 0; cut <= fullLog.length; cut++) {
            Path main = dir.resolve("main-" + cut);
            Path redo = dir.resolve("main-" + cut + ".redo");
            Files.write(main, base);
            Files.write(redo, Arrays.copyOf(fullLog, cut));
            int complete = 0;
            while (complete < ends.size() && ends.get(complete) <= cut) {
                complete++;
            }
            byte[] logBefore = Files.readAllBytes(redo);
            assertEquals(complete, RedoLog.countReplayable(redo), "records a read-only open counts at cut " + cut);
            assertArrayEquals(logBefore, Files.readAllBytes(redo), "counting changes nothing, at cut " + cut);
            assertEquals(complete, RedoLog.replayInto(redo, main).records(), "records replayed at cut " + cut);
            assertArrayEquals(apply(base, records, complete), Files.readAllBytes(main), "main file at cut " + cut);
            assertArrayEquals(logBefore, Files.readAllBytes(redo), "the replay keeps the log, at cut " + cut);
            assertEquals(complete, RedoLog.replayInto(redo, main).records(), "a second replay, at cut " + cut);
            assertArrayEquals(apply(base, records, complete), Files.readAllBytes(main),
                    "a second replay leaves the main file as it was, at cut " + cut);
            Files.delete(main);
            Files.delete(redo);
        }
    }

    @Test
    void aCorruptRecordEndsReplay() throws IOException {
        int size = 1024;
        byte[] base = new byte[size];
        Path logPath = dir.resolve("c.redo");
        List<List<RedoLog.Write>> records = new ArrayList<>();
        long firstEnd;
        long secondEnd;
        try (RedoLog log = RedoLog.open(logPath, 0)) {
            records.add(randomWrites(3, size));
            log.append(records.get(0), size);
            firstEnd = log.size();
            records.add(randomWrites(3, size));
            log.append(records.get(1), size);
            secondEnd = log.size();
            records.add(randomWrites(3, size));
            log.append(records.get(2), size);
        }
        byte[] bytes = Files.readAllBytes(logPath);
        for (int i = (int) firstEnd; i < bytes.length; i += 7) {
            Path main = dir.resolve("m" + i);
            Path redo = dir.resolve("m" + i + ".redo");
            Files.write(main, base);
            byte[] damaged = bytes.clone();
            damaged[i] ^= 0x10;
            Files.write(redo, damaged);
            int replayed = RedoLog.replayInto(redo, main).records();
            assertEquals(i < secondEnd ? 1 : 2, replayed, "records replayed with byte " + i + " flipped");
            assertArrayEquals(apply(base, records, replayed), Files.readAllBytes(main));
        }
    }

    @Test
    void staleRecordsOfAnEarlierGenerationNeverReplay() throws IOException {
        int size = 1024;
        byte[] base = new byte[size];
        Path logPath = dir.resolve("g.redo");
        byte[] oldGeneration;
        List<RedoLog.Write> fresh = randomWrites(1, size);
        try (RedoLog log = RedoLog.open(logPath, 0)) {
            for (int i = 0; i < 5; i++) {
                log.append(randomWrites(2, size), size);
            }
            oldGeneration = Files.readAllBytes(logPath);
            log.reset(); // a checkpoint
            log.append(fresh, size);
        }
        // Simulate a truncation that never reached the disk: old bytes remain past the new record.
        byte[] newRecord = Files.readAllBytes(logPath);
        byte[] mixed = oldGeneration.clone();
        System.arraycopy(newRecord, 0, mixed, 0, newRecord.length);
        Path main = dir.resolve("g");
        Files.write(main, base);
        Files.write(logPath, mixed);
        assertEquals(1, RedoLog.replayInto(logPath, main).records());
        assertArrayEquals(apply(base, List.of(fresh), 1), Files.readAllBytes(main));
    }

    @Test
    void replayExtendsAShortMainFile() throws IOException {
        Path logPath = dir.resolve("e.redo");
        List<RedoLog.Write> writes = List.of(new RedoLog.Write(10_000, new byte[] {1, 2, 3}));
        try (RedoLog log = RedoLog.open(logPath, 0)) {
            log.append(writes, 20_000);
        }
        Path main = dir.resolve("e");
        Files.write(main, new byte[100]);
        assertEquals(1, RedoLog.replayInto(logPath, main).records());
        assertEquals(20_000, Files.size(main));
        try (RandomAccessFile f = new RandomAccessFile(main.toFile(), "r")) {
            f.seek(10_000);
            assertEquals(1, f.read());
            assertEquals(2, f.read());
            assertEquals(3, f.read());
        }
    }

    @Test
    void aPreallocatedLogReplaysOnlyItsCurrentGeneration() throws IOException {
        int size = 2048;
        byte[] base = new byte[size];
        Path logPath = dir.resolve("p.redo");
        List<RedoLog.Write> fresh = randomWrites(2, size);
        try (RedoLog log = RedoLog.open(logPath, 64 * 1024)) {
            assertEquals(64 * 1024, Files.size(logPath), "preallocated");
            for (int i = 0; i < 6; i++) {
                log.append(randomWrites(3, size), size);
            }
            log.reset(); // a checkpoint: the old records stay in the file
            log.append(fresh, size);
            assertEquals(64 * 1024, Files.size(logPath), "appends within the preallocation keep the size");
        }
        Path main = dir.resolve("p");
        Files.write(main, base);
        assertEquals(1, RedoLog.replayInto(logPath, main).records());
        assertArrayEquals(apply(base, List.of(fresh), 1), Files.readAllBytes(main));
    }

    /**
     * A log opened after a replay goes on after the replayed records (same generation, next sequence numbers), so a
     * main file that lost the replay's writes (they were never synced) gets them back, with the later records, from
     * one replay; after a checkpoint only the new generation replays.
     */
    @Test
    void aLogOpenedAfterAReplayKeepsTheReplayedRecords() throws IOException {
        int size = 4096;
        byte[] base = new byte[size];
        random.nextBytes(base);
        Path main = dir.resolve("k");
        Path logPath = dir.resolve("k.redo");
        List<List<RedoLog.Write>> records = new ArrayList<>();
        try (RedoLog log = RedoLog.open(logPath, 64 * 1024)) {
            for (int r = 0; r < 3; r++) {
                records.add(randomWrites(4, size));
                log.append(records.get(r), size);
            }
        } // a kill: no checkpoint
        Files.write(main, base);
        RedoLog.Replay replayed = RedoLog.replayInto(logPath, main);
        assertEquals(3, replayed.records());
        try (RedoLog log = RedoLog.open(logPath, 64 * 1024, replayed)) {
            assertEquals(replayed.end(), log.size(), "appends go on after the replayed records");
            for (int r = 3; r < 5; r++) {
                records.add(randomWrites(4, size));
                log.append(records.get(r), size);
            }
        } // killed again, and the replay's writes to the main file never reached the disk
        Files.write(main, base);
        assertEquals(5, RedoLog.replayInto(logPath, main).records());
        assertArrayEquals(apply(base, records, 5), Files.readAllBytes(main));

        List<RedoLog.Write> afterCheckpoint = randomWrites(2, size);
        try (RedoLog log = RedoLog.open(logPath, 64 * 1024, RedoLog.replayInto(logPath, main))) {
            log.reset(); // a checkpoint synced the main file
            log.append(afterCheckpoint, size);
        }
        byte[] checkpointed = Files.readAllBytes(main);
        assertEquals(1, RedoLog.replayInto(logPath, main).records(), "only the new generation replays");
        assertArrayEquals(apply(checkpointed, List.of(afterCheckpoint), 1), Files.readAllBytes(main));
    }
}
