package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/**
 * The redo log replays exactly the complete records of its current chains, in order, and nothing else: within a half,
 * the records of one generation numbered one after the other; across the halves, the older chain only when the newer
 * one follows it.
 */
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
            assertEquals(complete, RedoReplay.countReplayable(redo), "records a read-only open counts at cut " + cut);
            assertArrayEquals(logBefore, Files.readAllBytes(redo), "counting changes nothing, at cut " + cut);
            assertEquals(complete, RedoReplay.replayInto(redo, main).records(), "records replayed at cut " + cut);
            assertArrayEquals(apply(base, records, complete), Files.readAllBytes(main), "main file at cut " + cut);
            assertArrayEquals(logBefore, Files.readAllBytes(redo), "the replay keeps the log, at cut " + cut);
            assertEquals(complete, RedoReplay.replayInto(redo, main).records(), "a second replay, at cut " + cut);
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
            int replayed = RedoReplay.replayInto(redo, main).records();
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
            log.retire(log.half()); // a checkpoint synced the main file
            log.append(fresh, size);
        }
        // Simulate a truncation that never reached the disk: old bytes remain past the new record.
        byte[] newRecord = Files.readAllBytes(logPath);
        byte[] mixed = oldGeneration.clone();
        System.arraycopy(newRecord, 0, mixed, 0, newRecord.length);
        Path main = dir.resolve("g");
        Files.write(main, base);
        Files.write(logPath, mixed);
        assertEquals(1, RedoReplay.replayInto(logPath, main).records());
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
        assertEquals(1, RedoReplay.replayInto(logPath, main).records());
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
            log.retire(log.half()); // a checkpoint: the old records stay in the file
            log.append(fresh, size);
            assertEquals(64 * 1024, Files.size(logPath), "appends within the preallocation keep the size");
        }
        Path main = dir.resolve("p");
        Files.write(main, base);
        assertEquals(1, RedoReplay.replayInto(logPath, main).records());
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
        RedoReplay.Replay replayed = RedoReplay.replayInto(logPath, main);
        assertEquals(3, replayed.records());
        try (RedoLog log = RedoLog.open(logPath, 64 * 1024, replayed)) {
            assertEquals(replayed.end(), log.size(), "appends go on after the replayed records");
            for (int r = 3; r < 5; r++) {
                records.add(randomWrites(4, size));
                log.append(records.get(r), size);
            }
        } // killed again, and the replay's writes to the main file never reached the disk
        Files.write(main, base);
        assertEquals(5, RedoReplay.replayInto(logPath, main).records());
        assertArrayEquals(apply(base, records, 5), Files.readAllBytes(main));

        List<RedoLog.Write> afterCheckpoint = randomWrites(2, size);
        try (RedoLog log = RedoLog.open(logPath, 64 * 1024, RedoReplay.replayInto(logPath, main))) {
            log.retire(log.half()); // a checkpoint synced the main file
            log.append(afterCheckpoint, size);
        }
        byte[] checkpointed = Files.readAllBytes(main);
        assertEquals(1, RedoReplay.replayInto(logPath, main).records(), "only the new generation replays");
        assertArrayEquals(apply(checkpointed, List.of(afterCheckpoint), 1), Files.readAllBytes(main));
    }

    /** Appends {@code n} records of random writes, adding them to {@code records}. */
    private void appendRandom(RedoLog log, int n, int size, List<List<RedoLog.Write>> records) throws IOException {
        for (int r = 0; r < n; r++) {
            List<RedoLog.Write> writes = randomWrites(1 + random.nextInt(4), size);
            records.add(writes);
            log.append(writes, size);
        }
    }

    @Test
    void afterASwitchBothHalvesReplayOldestFirstUntilTheOlderIsRetired() throws IOException {
        int size = 4096;
        byte[] base = new byte[size];
        random.nextBytes(base);
        Path main = dir.resolve("h");
        Path logPath = dir.resolve("h.redo");
        List<List<RedoLog.Write>> records = new ArrayList<>();
        byte[] bothHalves;
        try (RedoLog log = RedoLog.open(logPath, RedoLog.PREALLOCATE_BYTES)) {
            assertEquals(RedoLog.HALF, Files.size(logPath), "the first half preallocated");
            appendRandom(log, 3, size, records);
            log.switchHalves();
            assertEquals(2 * RedoLog.HALF, Files.size(logPath), "the second half preallocated at the first switch");
            assertEquals(1, log.half());
            assertTrue(log.needed(0), "the half left is needed until a checkpoint retires it");
            assertThrows(IllegalStateException.class, log::switchHalves, "back into a half still needed");
            appendRandom(log, 2, size, records);
            bothHalves = Files.readAllBytes(logPath);
            log.retire(0); // the main file was synced after the first three records
            assertFalse(log.needed(0));
        }
        Files.write(main, base);
        Path crashed = dir.resolve("h2.redo");
        Files.write(crashed, bothHalves);
        RedoReplay.Replay replay = RedoReplay.replayInto(crashed, main);
        assertEquals(5, replay.records(), "a crash before the retire replays both halves");
        assertEquals(1, replay.half(), "the writer goes on in the newer half");
        assertEquals(5, replay.nextSeq());
        assertTrue(replay.otherNeeded() && replay.end() > RedoLog.HALF, replay::toString);
        assertArrayEquals(apply(base, records, 5), Files.readAllBytes(main));
        assertEquals(5, RedoReplay.countReplayable(crashed));

        byte[] synced = apply(base, records, 3);
        Files.write(main, synced);
        assertEquals(2, RedoReplay.replayInto(logPath, main).records(), "after the retire only the newer half replays");
        assertArrayEquals(apply(base, records, 5), Files.readAllBytes(main));

        // A writer opened after the crash goes on in the second half and keeps the first until a checkpoint.
        try (RedoLog log = RedoLog.open(crashed, RedoReplay.replayInto(crashed, main))) {
            assertEquals(1, log.half());
            assertTrue(log.needed(0) && log.needed(1));
            appendRandom(log, 1, size, records);
        }
        Files.write(main, base);
        assertEquals(6, RedoReplay.replayInto(crashed, main).records());
        assertArrayEquals(apply(base, records, 6), Files.readAllBytes(main));
    }

    @Test
    void theFirstHalfFollowsTheSecondAfterTwoSwitches() throws IOException {
        int size = 4096;
        byte[] base = new byte[size];
        Path main = dir.resolve("t");
        Path logPath = dir.resolve("t.redo");
        List<List<RedoLog.Write>> records = new ArrayList<>();
        try (RedoLog log = RedoLog.open(logPath, RedoLog.PREALLOCATE_BYTES)) {
            appendRandom(log, 2, size, records);
            log.switchHalves();
            appendRandom(log, 3, size, records);
            log.retire(0);
            log.switchHalves(); // back to the first half, whose stale records of an older generation stay behind
            appendRandom(log, 1, size, records);
        }
        Files.write(main, apply(base, records, 2)); // the checkpoint that retired the first half synced these
        assertEquals(4, RedoReplay.replayInto(logPath, main).records(),
                "the second half's three, then the first's one");
        assertArrayEquals(apply(base, records, 6), Files.readAllBytes(main));
    }

    @Test
    void anOlderChainTheNewerDoesNotFollowIsLeftOut() throws IOException {
        int size = 4096;
        byte[] base = new byte[size];
        Path main = dir.resolve("n");
        Path logPath = dir.resolve("n.redo");
        List<List<RedoLog.Write>> records = new ArrayList<>();
        long secondRecord;
        try (RedoLog log = RedoLog.open(logPath, RedoLog.PREALLOCATE_BYTES)) {
            log.switchHalves(); // the first half holds nothing, so nothing waits for it
            appendRandom(log, 1, size, records);
            secondRecord = RedoLog.HALF + log.size();
            appendRandom(log, 1, size, records);
            log.switchHalves();
            appendRandom(log, 1, size, records); // numbered 2, in the first half
        }
        Files.write(main, base);
        assertEquals(3, RedoReplay.replayInto(logPath, main).records(), "the first half follows the second");
        byte[] bytes = Files.readAllBytes(logPath);
        bytes[(int) secondRecord + 40] ^= 1; // the second half's chain now ends after record 0
        Files.write(logPath, bytes);
        Files.write(main, base);
        assertEquals(1, RedoReplay.replayInto(logPath, main).records(), "record 2 does not follow record 0");
        assertArrayEquals(apply(base, records.subList(2, 3), 1), Files.readAllBytes(main));
        assertEquals(1, RedoReplay.countReplayable(logPath));
    }

    @Test
    void aRecordLargerThanTheRoomLeftInTheFirstHalfDoesNotFitThere() throws IOException {
        try (RedoLog log = RedoLog.open(dir.resolve("f.redo"), 0)) {
            assertTrue(log.fits(RedoLog.HALF));
            assertFalse(log.fits(RedoLog.HALF + 1));
            log.append(randomWrites(1, 1024), 1024);
            assertFalse(log.fits(RedoLog.HALF));
            log.switchHalves();
            assertTrue(log.fits(4 * RedoLog.HALF), "the second half may grow the file");
        }
    }

    /**
     * A log written before the halves is one chain from the start of the file, which a large commit could carry past
     * {@link RedoLog#HALF}: it replays whole, a record of it that happens to start there is not a second chain, and a
     * writer that goes on after it must sync the main file before it writes the second half over it.
     */
    @Test
    void aSingleChainThatRunsPastTheHalfReplaysWhole() throws IOException {
        int size = 4096;
        byte[] base = new byte[size];
        Path main = dir.resolve("s");
        Path logPath = dir.resolve("s.redo");
        int fill = (int) RedoLog.HALF - (int) RedoLog.recordBytes(List.of(new RedoLog.Write(0, new byte[0])));
        List<RedoLog.Write> big = List.of(new RedoLog.Write(0, new byte[fill]));
        List<List<RedoLog.Write>> records = new ArrayList<>();
        records.add(big);
        try (RedoLog log = RedoLog.open(logPath, 0)) {
            log.append(big, Math.max(size, fill)); // ends exactly where the second half starts
            assertEquals(RedoLog.HALF, log.size());
            appendRandom(log, 2, size, records); // what an older version appended after it
        }
        Files.write(main, base);
        RedoReplay.Replay replay = RedoReplay.replayInto(logPath, main);
        assertEquals(3, replay.records());
        assertEquals(0, replay.half());
        assertFalse(replay.otherNeeded());
        byte[] expected = new byte[fill];
        System.arraycopy(apply(base, records.subList(1, 3), 2), 0, expected, 0, size);
        assertArrayEquals(expected, Files.readAllBytes(main));
        try (RedoLog log = RedoLog.open(logPath, replay)) {
            assertTrue(log.reachesOtherHalf());
            assertThrows(IllegalStateException.class, log::switchHalves);
            log.retire(0); // the main file was synced
            assertFalse(log.reachesOtherHalf());
            log.switchHalves();
        }
    }
}
