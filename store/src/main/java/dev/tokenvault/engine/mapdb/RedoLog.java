package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A physical redo log for the MapDB main file: every byte range a commit writes, appended and fsynced before the
 * main file is touched, and replayed onto the main file at open.
 *
 * <p>Why: MapDB 3.1.0's {@code StoreWAL} overwrites its main file in place at commit and never replays its own log at
 * open; its log does not even hold the index values and free-list pages a commit writes, so it cannot be replayed.
 * A kill during that overwrite leaves a torn file. This log makes the overwrite repeatable.
 *
 * <p>Record: {@code magic(4) | generation(8) | seq(8) | fileLength(8) | count(4) | count x (offset(8) | length(4) |
 * bytes) | crc32c(4)}. The file has two halves, the first at offset 0 and the second at {@link #HALF}. Records are
 * appended to one half at a time, from its start, under a random generation of that half's own, with sequence
 * numbers that run on from one half to the next. A half's chain is its records from the start of the half with its
 * first record's generation and consecutive numbers; it ends at the first record that is torn, fails its CRC, has
 * another generation or skips a number, so stale bytes past the end of a chain never replay.
 *
 * <p>Why two halves: when a half is full, appends move to the other half at once and the main file is synced in the
 * background ({@link Checkpoints}); the half left behind is retired (its first magic zeroed) once that sync is done.
 * A commit never waits for the sync of a gigabyte of main file, only a switch that finds the other half still
 * waiting for its sync does. At open both chains replay, the older first, when they follow each other (the newer
 * starts at the number after the older's last); a chain they do not follow was synced before the other began, and
 * is left out. Replaying an already applied record is harmless: it writes the same bytes in the same order, and the
 * records after it write theirs again. The file is preallocated with zeros so that an append does not change its
 * size (see {@link #open(Path, long)}).
 *
 * <p>A replay at open does not sync the main file: the replayed bytes stay in the page cache, and the log keeps its
 * records and goes on after them ({@link #open(Path, long, RedoReplay.Replay)}: same half, same generation, next
 * sequence number) until the writer's next checkpoint has synced the main file. Whatever a crash loses of the main
 * file before then, the log still holds, so the next open replays it again. {@link RedoReplay} reads the log.
 */
final class RedoLog implements AutoCloseable {
    static final int MAGIC = 0x54565244; // "TVRD"
    static final int HEADER = 4 + 8 + 8 + 8 + 4;
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * Bytes in a half after which a commit moves appends to the other half, and the main file is synced (a
     * checkpoint). Kept here, with the log's own sizes, so that the log does not depend on its writer.
     */
    static final long CHECKPOINT_BYTES = 8L << 20;

    /**
     * Where the second half starts: a checkpoint's worth, plus room for the commit that crosses it. A record that
     * would run past it from the first half goes to the second half, which may grow the file.
     */
    static final long HALF = CHECKPOINT_BYTES + (1L << 20);

    /**
     * Bytes of zeros the log file is given at open: the first half, so appends do not change its size. The second
     * half gets as many at the first switch into it, so a store that never fills a half never holds them.
     */
    static final long PREALLOCATE_BYTES = HALF;

    /** One byte range to write to the main file. */
    record Write(long offset, byte[] bytes) { }

    private final Path path;
    private final FileChannel channel;
    private final boolean created;
    /** The zeros the first half was given at open; the second half gets as many at the first switch into it. */
    private final long preallocated;
    private CommitProbe probe = CommitProbe.NONE;
    /** The half appends go to. */
    private int half;
    private long generation;
    /** The next record's sequence number: it runs on from one half to the next. */
    private long seq;
    /** Where the next record goes, from the start of the file. */
    private long end;
    /**
     * Per half: whether it holds records the main file may lack on disk. Set by an append, cleared by
     * {@link #retire} (which a checkpoint thread may call), read by the writer after it waited for that thread.
     */
    private final boolean[] needed = new boolean[2];
    /** Where the record {@link #write} wrote and {@link #sync} has not synced yet starts; -1 when there is none. */
    private long unsynced = -1;
    /** Whether a record whose commit failed could not be erased: it may replay at the next open. */
    private boolean unerased;

    private RedoLog(Path path, FileChannel channel, boolean created, long preallocated) {
        this.path = path;
        this.channel = channel;
        this.created = created;
        this.preallocated = preallocated;
        this.generation = RANDOM.nextLong();
    }

    /**
     * Opens the log at {@code logPath} after {@link RedoReplay#replayInto} applied {@code replayed} from it: the
     * records the replay applied stay in the log, and appends go on after them.
     */
    static RedoLog open(Path logPath, RedoReplay.Replay replayed) throws IOException {
        return open(logPath, PREALLOCATE_BYTES, replayed);
    }

    /**
     * Opens the log and makes it at least {@code preallocate} bytes long. An fdatasync after an append within the
     * file's size flushes data blocks only; one that grows the file must also commit file-system metadata, which
     * costs a journal commit per save on ext4 and waits on every other writer of that file system.
     */
    static RedoLog open(Path logPath, long preallocate) throws IOException {
        return open(logPath, preallocate, RedoReplay.Replay.NONE);
    }

    /** {@link #open(Path, long)}, going on after the records a replay applied. */
    static RedoLog open(Path logPath, long preallocate, RedoReplay.Replay replayed) throws IOException {
        PrivateFiles.Opened opened = PrivateFiles.openOrCreate(logPath, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileChannel ch = opened.channel();
        try {
            preallocate(ch, preallocate);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        RedoLog log = new RedoLog(logPath, ch, opened.created(), preallocate);
        if (replayed.records() > 0) {
            log.half = replayed.half();
            log.generation = replayed.generation();
            log.seq = replayed.nextSeq();
            log.end = replayed.end();
            log.needed[replayed.half()] = true;
            log.needed[1 - replayed.half()] = replayed.otherNeeded();
        }
        return log;
    }

    /**
     * Makes the file at least {@code length} bytes of real zeros, best effort: a nearly full disk must not keep a store
     * from opening or writing; appends then grow the file. Throws only when the file cannot be put back as it was.
     */
    private static void preallocate(FileChannel ch, long length) throws IOException {
        long before = ch.size();
        if (before >= length) {
            return;
        }
        try {
            extend(ch, length);
            ch.force(true);
        } catch (IOException e) {
            try {
                ch.truncate(before);
            } catch (IOException again) {
                e.addSuppressed(again);
                throw e;
            }
        }
    }

    /** Whether {@link #open} created the file (rather than opening one that was there). */
    boolean created() {
        return created;
    }

    /** Test seam: the steps of {@link #append}. */
    void probe(CommitProbe probe) {
        this.probe = probe;
    }

    /** Where {@code half} starts in the file. */
    static long startOf(int half) {
        return half == 0 ? 0 : HALF;
    }

    /** Writes all of {@code bytes} to {@code file} at {@code position} (a positional write may write less). */
    static void writeAt(FileChannel file, ByteBuffer bytes, long position) throws IOException {
        for (long at = position; bytes.hasRemaining(); ) {
            at += file.write(bytes, at);
        }
    }

    /** Appends real zeros to {@code file} up to {@code length}. */
    static void extend(FileChannel main, long length) throws IOException {
        long pos = main.size();
        if (pos >= length) {
            return;
        }
        // The last byte first, in a write of its own: the length changes once, from the old to the new, and a kill
        // during the fill below leaves the whole length with zeros still to come (a hole reads as zeros), never a
        // length in between, which the open refuses as a torn store (StoreFile: whole pages) before any replay could
        // finish the growth.
        writeAt(main, ByteBuffer.allocate(1), length - 1);
        // Then real zero writes, not a sparse file: the blocks exist before MapDB maps them.
        ByteBuffer zeros = ByteBuffer.allocate(64 * 1024);
        while (pos < length - 1) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - 1 - pos));
            pos += main.write(zeros, pos);
        }
    }

    /** The bytes {@link #append} writes for {@code writes}. */
    static long recordBytes(List<Write> writes) {
        long size = HEADER + 4;
        for (Write w : writes) {
            size += 12 + w.bytes().length;
        }
        return size;
    }

    /**
     * Whether a record of {@code bytes} fits in the current half: the first half ends where the second begins; the
     * second may grow the file.
     */
    boolean fits(long bytes) {
        return half == 1 || end + bytes <= HALF;
    }

    /** Appends one commit's writes and fsyncs the log; returns once they are durable. */
    void append(List<Write> writes, long fileLength) throws IOException {
        write(writes, fileLength);
        sync();
    }

    /**
     * Writes one commit's record after the last one, not synced: {@link #sync} makes it durable. The caller is the
     * one writer, and syncs each record before it writes the next.
     */
    void write(List<Write> writes, long fileLength) throws IOException {
        if (unsynced >= 0) {
            throw new IllegalStateException("the last redo record was written and not synced");
        }
        long size = recordBytes(writes);
        if (size > Integer.MAX_VALUE) {
            throw new IOException("commit too large for one redo record");
        }
        ByteBuffer rec = ByteBuffer.allocate((int) size);
        rec.putInt(MAGIC).putLong(generation).putLong(seq).putLong(fileLength).putInt(writes.size());
        for (Write w : writes) {
            rec.putLong(w.offset()).putInt(w.bytes().length).put(w.bytes());
        }
        CRC32C crc = new CRC32C();
        crc.update(rec.array(), 0, rec.position());
        rec.putInt((int) crc.getValue());
        rec.flip();
        long start = end;
        needed[half] = true;
        try {
            writeAt(channel, rec, start);
            end = start + size;
            probe.reached("redo.written");
        } catch (Throwable t) {
            forget(start, t);
            throw t;
        }
        unsynced = start;
    }

    /** Makes the record {@link #write} wrote durable: the commit point. Does nothing when there is none. */
    void sync() throws IOException {
        if (unsynced < 0) {
            return;
        }
        long start = unsynced;
        unsynced = -1;
        try {
            probe.reached("redo.syncing");
            channel.force(false);
        } catch (Throwable t) {
            forget(start, t);
            throw t;
        }
        seq++;
    }

    /** Forgets the record {@link #write} wrote and nobody synced (its commit failed after it): it never replays. */
    void discardUnsynced() throws IOException {
        if (unsynced < 0) {
            return;
        }
        long start = unsynced;
        unsynced = -1;
        erase(start);
    }

    /**
     * The caller is told the commit of the record at {@code start} failed, so it must never replay, even when it was
     * written whole: zero its magic (a record that does not start with it ends replay), then forget it.
     */
    private void forget(long start, Throwable failure) {
        try {
            erase(start);
        } catch (IOException | RuntimeException | Error again) {
            failure.addSuppressed(again);
        }
    }

    /** Erases the record at {@code start}, the end of the log from now on; remembers when that failed. */
    private void erase(long start) throws IOException {
        end = start;
        try {
            probe.reached("redo.erasing");
            zeroMagicAt(start);
        } catch (IOException | RuntimeException | Error e) {
            unerased = true;
            throw e;
        }
    }

    /**
     * Whether the record of a failed commit could not be erased ({@link #sync}, {@link #write} or
     * {@link #discardUnsynced} failed, and so did zeroing its magic): it may replay when the log is next opened, so
     * its writer must not open the files again behind its caller, who was told the commit failed.
     */
    boolean holdsUnerasedRecord() {
        return unerased;
    }

    /**
     * Zeroes, and syncs, the magic of the record at {@code start}: replay ends there. When the log's channel is closed
     * (an interrupt that landed in the write or the sync closes it), through a channel of its own, opened and used
     * with the thread's interrupt flag set aside.
     */
    private void zeroMagicAt(long start) throws IOException {
        if (channel.isOpen()) {
            try {
                writeAt(channel, ByteBuffer.allocate(4), start);
                channel.force(false);
                return;
            } catch (ClosedChannelException closedMeanwhile) {
                // below, through a channel of its own
            }
        }
        Uninterruptibly.io(() -> {
            try (FileChannel own = FileChannel.open(path, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                writeAt(own, ByteBuffer.allocate(4), start);
                own.force(false);
            }
        });
    }

    /** Bytes in the current half. */
    long size() {
        return end - startOf(half);
    }

    /** The half appends go to, 0 or 1. */
    int half() {
        return half;
    }

    /** Whether {@code h} holds records that the main file may lack on disk. */
    boolean needed(int h) {
        return needed[h];
    }

    /**
     * Whether the chain of the first half runs into the second (a log written before the halves, replayed at open):
     * the second half may then be written only once the main file has been synced.
     */
    boolean reachesOtherHalf() {
        return half == 0 && end > HALF;
    }

    /**
     * Moves appends to the start of the other half, under a new generation; the half left keeps its records, needed
     * until a checkpoint has synced the main file and {@link #retire}d it.
     *
     * @throws IllegalStateException when the other half is still needed, or the current one runs into it
     * @throws IOException when the second half's preallocation failed and the file could not be put back as it was
     */
    void switchHalves() throws IOException {
        int other = 1 - half;
        if (needed[other] || reachesOtherHalf()) {
            throw new IllegalStateException("the other half of the redo log is still needed");
        }
        if (other == 1 && preallocated > 0) {
            preallocate(channel, HALF + preallocated);
        }
        half = other;
        end = startOf(other);
        generation = RANDOM.nextLong();
    }

    /**
     * Marks half {@code h} as no longer needed, after a main-file sync that began once its last record was applied:
     * its first magic is zeroed (and synced), so a replay no longer reads it. A crash before that replays it once
     * more, which writes bytes the synced main file already holds. Safe to call from a thread other than the
     * writer's while the writer appends to the other half.
     */
    void retire(int h) throws IOException {
        if (h == half && end > startOf(h)) {
            // the current half: appends start again at its front under a new generation (a checkpoint at close, or
            // of an old single chain before the second half is written)
            end = startOf(h);
            generation = RANDOM.nextLong();
        }
        zeroMagicAt(startOf(h));
        needed[h] = false;
    }

    /** After a final checkpoint: gives the preallocated space back, so a closed store's log is empty. */
    void release() throws IOException {
        channel.truncate(0);
        channel.force(true);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
