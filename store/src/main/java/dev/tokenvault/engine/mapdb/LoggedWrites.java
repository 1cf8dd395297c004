package dev.tokenvault.engine.mapdb;

import java.util.List;

/**
 * One commit's writes, in its redo record and not yet all in the main file: from when the record is written until
 * the last write is applied, readers take these bytes over the main file's (see {@link RedoVolume}). Immutable, so a
 * reader that took it may go on using it after the writer moved on.
 */
final class LoggedWrites {
    private final List<RedoLog.Write> writes;
    /** The span the writes cover, so that most reads are told "no overlap" at once. */
    private final long first;
    private final long last;

    LoggedWrites(List<RedoLog.Write> writes) {
        this.writes = List.copyOf(writes);
        long lo = Long.MAX_VALUE;
        long hi = Long.MIN_VALUE;
        for (RedoLog.Write w : this.writes) {
            lo = Math.min(lo, w.offset());
            hi = Math.max(hi, w.offset() + w.bytes().length);
        }
        this.first = lo;
        this.last = hi;
    }

    List<RedoLog.Write> writes() {
        return writes;
    }

    /** Whether any write changes a byte of {@code [offset, offset + size)}. */
    boolean overlaps(long offset, long size) {
        if (offset >= last || offset + size <= first) {
            return false;
        }
        for (RedoLog.Write w : writes) {
            if (offset < w.offset() + w.bytes().length && w.offset() < offset + size) {
                return true;
            }
        }
        return false;
    }

    /** Lays {@code writes}, in order, over {@code out}, which holds the bytes from {@code offset} on. */
    static void layOver(List<RedoLog.Write> writes, byte[] out, long offset) {
        for (RedoLog.Write w : writes) {
            long start = Math.max(offset, w.offset());
            long stop = Math.min(offset + out.length, w.offset() + w.bytes().length);
            if (start < stop) {
                System.arraycopy(w.bytes(), (int) (start - w.offset()), out, (int) (start - offset),
                        (int) (stop - start));
            }
        }
    }
}
