package dev.tokenvault.engine.mapdb;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.mapdb.volume.Volume;

/**
 * Reduces one commit's writes to the byte ranges they change in the main file: what {@link RedoVolume} logs and
 * applies. MapDB rewrites its whole 32 KiB header at every commit, of which a save changes a few dozen bytes;
 * logging only those keeps a save's redo record, its CRC and its fdatasync small.
 *
 * <p>Why replay stays exact: the main file holds the state after the previous commit (a commit is applied to it
 * before the next begins), so a range whose bytes equal the file's leaves the state after this commit the same
 * whether it is written or not. Overlapping writes are first laid over one another in their order, so the ranges
 * returned do not overlap, and the order they are applied in does not matter.
 */
final class ChangedRanges {
    /** Unchanged bytes between two changes up to which one range covers both: a range costs 12 bytes of framing. */
    private static final int MERGE_GAP = 16;

    private final Volume main;
    /** What the main file holds under the range being compared; reused across ranges and commits (one writer). */
    private byte[] before = new byte[0];
    // per call of of(): the main file's length, and the ranges found so far
    private long mainLength;
    private List<RedoLog.Write> out;

    ChangedRanges(Volume main) {
        this.main = main;
    }

    /**
     * The ranges of {@code writes} (applied in order) whose bytes differ from the main file's; empty when the writes
     * change nothing. A write that reaches past {@code mainLength}, the main file's length, is kept whole.
     */
    List<RedoLog.Write> of(List<RedoLog.Write> writes, long mainLength) {
        this.mainLength = mainLength;
        out = new ArrayList<>();
        collect(writes);
        return out;
    }

    private void collect(List<RedoLog.Write> writes) {
        Integer[] byOffset = new Integer[writes.size()];
        for (int i = 0; i < byOffset.length; i++) {
            byOffset[i] = i;
        }
        Arrays.sort(byOffset, Comparator.comparingLong(i -> writes.get(i).offset()));
        int first = 0;
        while (first < byOffset.length) {
            // a cluster: writes that overlap or touch, in offset order
            long start = writes.get(byOffset[first]).offset();
            long end = endOf(writes.get(byOffset[first]));
            int last = first + 1;
            while (last < byOffset.length && writes.get(byOffset[last]).offset() <= end) {
                end = Math.max(end, endOf(writes.get(byOffset[last])));
                last++;
            }
            if (last - first == 1) {
                compare(writes.get(byOffset[first]));
            } else {
                compare(layered(writes, Arrays.copyOfRange(byOffset, first, last), start, end));
            }
            first = last;
        }
    }

    private static long endOf(RedoLog.Write w) {
        return w.offset() + w.bytes().length;
    }

    /** The bytes of {@code [start, end)} after the cluster's writes, in their original order, over the main file. */
    private RedoLog.Write layered(List<RedoLog.Write> writes, Integer[] cluster, long start, long end) {
        byte[] bytes = new byte[Math.toIntExact(end - start)];
        if (start < mainLength) {
            readMain(start, bytes, (int) Math.min(bytes.length, mainLength - start));
        }
        Arrays.sort(cluster);
        for (int i : cluster) {
            RedoLog.Write w = writes.get(i);
            System.arraycopy(w.bytes(), 0, bytes, (int) (w.offset() - start), w.bytes().length);
        }
        return new RedoLog.Write(start, bytes);
    }

    /** Adds the ranges of {@code w} that differ from the main file. */
    private void compare(RedoLog.Write w) {
        byte[] after = w.bytes();
        int len = after.length;
        if (w.offset() + len > mainLength) {
            addSplit(w, 0, len);
            return;
        }
        if (before.length < len) {
            before = new byte[len];
        }
        readMain(w.offset(), before, len);
        int from = nextDifference(after, 0, len);
        while (from >= 0) {
            int to = nextSame(after, from, len);
            int again = nextDifference(after, to, len);
            while (again >= 0 && again - to <= MERGE_GAP) {
                to = nextSame(after, again, len);
                again = nextDifference(after, to, len);
            }
            addSplit(w, from, to);
            from = again;
        }
    }

    /**
     * Adds bytes {@code [from, to)} of {@code w}, cut where the main volume's slices end: a sliced volume reads and
     * writes within one slice only. MapDB's own writes never cross one; a range laid together from several may.
     */
    private void addSplit(RedoLog.Write w, int from, int to) {
        if (from == 0 && to == w.bytes().length && sliceOf(w.offset()) == sliceOf(w.offset() + to - 1)) {
            out.add(w);
            return;
        }
        for (int p = from; p < to; ) {
            int end = (int) Math.min(to, sliceEnd(w.offset() + p) - w.offset());
            out.add(new RedoLog.Write(w.offset() + p, Arrays.copyOfRange(w.bytes(), p, end)));
            p = end;
        }
    }

    /** Reads {@code len} bytes of the main volume at {@code offset} into {@code into}, slice by slice. */
    private void readMain(long offset, byte[] into, int len) {
        for (int p = 0; p < len; ) {
            int n = (int) Math.min(len - p, sliceEnd(offset + p) - (offset + p));
            main.getData(offset + p, into, p, n);
            p += n;
        }
    }

    private long sliceOf(long offset) {
        return main.isSliced() ? offset / main.sliceSize() : 0;
    }

    /** The offset where the slice holding {@code offset} ends (exclusive). */
    private long sliceEnd(long offset) {
        return main.isSliced() ? (sliceOf(offset) + 1) * main.sliceSize() : Long.MAX_VALUE;
    }

    /** The first index at or after {@code from} where {@code after} differs from the main file, or -1. */
    private int nextDifference(byte[] after, int from, int len) {
        if (from >= len) {
            return -1;
        }
        int m = Arrays.mismatch(after, from, len, before, from, len);
        return m < 0 ? -1 : from + m;
    }

    /** The first index at or after {@code from} where {@code after} equals the main file, or {@code len}. */
    private int nextSame(byte[] after, int from, int len) {
        int i = from;
        while (i < len && after[i] != before[i]) {
            i++;
        }
        return i;
    }
}
