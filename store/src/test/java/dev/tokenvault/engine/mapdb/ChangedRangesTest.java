package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.mapdb.volume.ByteArrayVol;
import org.mapdb.volume.Volume;

/**
 * What a commit logs: only the bytes its writes change, and applying those (in any order) leaves the main file as
 * applying every write in order would.
 */
class ChangedRangesTest {
    private static final int SIZE = 4096;

    /** A main volume of {@code SIZE} random bytes in slices of {@code 1 << sliceShift} bytes. */
    private static Volume main(Random random, int sliceShift, byte[] content) {
        random.nextBytes(content);
        Volume v = new ByteArrayVol(sliceShift, 0L);
        v.ensureAvailable(SIZE);
        for (int p = 0; p < SIZE; p += 1 << sliceShift) {
            v.putData(p, content, p, Math.min(1 << sliceShift, SIZE - p));
        }
        return v;
    }

    private static void applyTo(byte[] file, List<RedoLog.Write> writes) {
        for (RedoLog.Write w : writes) {
            System.arraycopy(w.bytes(), 0, file, (int) w.offset(), w.bytes().length);
        }
    }

    @Test
    void aRewriteOfUnchangedBytesLogsNothing() {
        byte[] content = new byte[SIZE];
        Volume main = main(new Random(1), 20, content);
        List<RedoLog.Write> writes = List.of(new RedoLog.Write(0, content.clone()),
                new RedoLog.Write(100, new byte[] {content[100], content[101]}));

        assertEquals(List.of(), new ChangedRanges(main).of(writes, SIZE));
    }

    @Test
    void aHeaderRewriteThatChangesAFewBytesLogsOnlyThem() {
        byte[] content = new byte[SIZE];
        Volume main = main(new Random(2), 20, content);
        byte[] header = content.clone();
        header[20]++;
        header[23]++;
        header[3000]++;

        List<RedoLog.Write> changed = new ChangedRanges(main).of(List.of(new RedoLog.Write(0, header)), SIZE);

        assertEquals(2, changed.size(), "nearby changes share a range, distant ones do not");
        assertEquals(20, changed.get(0).offset());
        assertEquals(4, changed.get(0).bytes().length);
        assertEquals(3000, changed.get(1).offset());
        assertEquals(1, changed.get(1).bytes().length);
    }

    @Test
    void overlappingWritesCountInTheirOrder() {
        byte[] content = new byte[SIZE];
        Volume main = main(new Random(3), 20, content);
        byte[] first = {1, 2, 3, 4, 5, 6, 7, 8};
        // the second write puts back what the file held under the first: the net change is first's last 4 bytes
        byte[] second = {content[10], content[11], content[12], content[13]};
        List<RedoLog.Write> writes = List.of(new RedoLog.Write(10, first), new RedoLog.Write(10, second));

        List<RedoLog.Write> changed = new ChangedRanges(main).of(writes, SIZE);

        byte[] expected = content.clone();
        applyTo(expected, writes);
        byte[] actual = content.clone();
        applyTo(actual, changed);
        assertArrayEquals(expected, actual);
        int logged = changed.stream().mapToInt(w -> w.bytes().length).sum();
        assertTrue(logged <= 4, "logged " + logged + " bytes for a net change of at most 4");
    }

    /** Random writes, overlapping or not, over small slices: the result always equals the writes in order. */
    @Test
    void randomWritesOverSmallSlicesApplyAsTheWritesInOrder() {
        Random random = new Random(4);
        for (int round = 0; round < 500; round++) {
            byte[] content = new byte[SIZE];
            Volume main = main(random, 6, content); // 64-byte slices: many ranges cross one
            List<RedoLog.Write> writes = new ArrayList<>();
            for (int i = 0, n = 1 + random.nextInt(12); i < n; i++) {
                int len = 1 + random.nextInt(200);
                int offset = random.nextInt(SIZE - len);
                byte[] b = new byte[len];
                System.arraycopy(content, offset, b, 0, len);
                for (int k = 0; k < 1 + random.nextInt(4); k++) {
                    b[random.nextInt(len)] = (byte) random.nextInt();
                }
                writes.add(new RedoLog.Write(offset, b));
            }

            List<RedoLog.Write> changed = new ChangedRanges(main).of(writes, SIZE);

            byte[] expected = content.clone();
            applyTo(expected, writes);
            List<RedoLog.Write> reversed = new ArrayList<>(changed);
            java.util.Collections.reverse(reversed);
            byte[] actual = content.clone();
            applyTo(actual, reversed); // ranges do not overlap, so their order does not matter
            assertArrayEquals(expected, actual, "round " + round);
            for (RedoLog.Write w : changed) {
                assertEquals(w.offset() / 64, (w.offset() + w.bytes().length - 1) / 64,
                        "a range crosses a slice at " + w.offset());
            }
        }
    }

    @Test
    void aWritePastTheFilesLengthIsKeptWhole() {
        byte[] content = new byte[SIZE];
        Volume main = main(new Random(5), 20, content);
        byte[] tail = new byte[32];

        List<RedoLog.Write> changed = new ChangedRanges(main).of(List.of(new RedoLog.Write(SIZE - 16, tail)), SIZE);

        assertEquals(1, changed.size());
        assertEquals(SIZE - 16, changed.get(0).offset());
        assertEquals(32, changed.get(0).bytes().length);
    }
}
