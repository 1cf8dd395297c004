package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
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
 * bytes) | crc32c(4)}. A log holds records of one generation with seq 0, 1, 2, ...; replay applies them in order and
 * stops at the first record that is torn, has another generation or skips a number. After a checkpoint (main file
 * synced) writing starts again at the front under a new random generation, so stale bytes past a new record never
 * replay. Replaying an already applied record is harmless: it writes the same bytes in the same order. The file is
 * preallocated with zeros so that an append does not change its size (see {@link #open(Path, long)}).
 *
 * <p>A replay at open does not sync the main file: the replayed bytes stay in the page cache, and the log keeps its
 * records and goes on after them ({@link #open(Path, long, Replay)}: same generation, next sequence number) until the
 * writer's next checkpoint syncs the main file. Whatever a crash loses of the main file before then, the log still
 * holds, so the next open replays it again.
 */
final class RedoLog implements AutoCloseable {
    private static final int MAGIC = 0x54565244; // "TVRD"
    private static final int HEADER = 4 + 8 + 8 + 8 + 4;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One byte range to write to the main file. */
    record Write(long offset, byte[] bytes) { }

    /**
     * What {@link #replayInto} found: how many records it applied, their generation and where the last one ends. A
     * log opened with it goes on after them, so that they stay replayable until the next checkpoint.
     */
    record Replay(int records, long generation, long end) {
        static final Replay NONE = new Replay(0, 0, 0);
    }

    private final FileChannel channel;
    private final boolean created;
    private CommitProbe probe = CommitProbe.NONE;
    private long generation;
    private long seq;
    private long end;

    private RedoLog(FileChannel channel, boolean created) {
        this.channel = channel;
        this.created = created;
        this.generation = RANDOM.nextLong();
    }

    /**
     * Log size after which a commit also checkpoints (the volume that writes it syncs the main file and empties
     * the log). Kept here, with the log's own sizes, so that the log does not depend on its writer.
     */
    static final long CHECKPOINT_BYTES = 8L << 20;

    /** Bytes of zeros the log file is given at open: a checkpoint's worth, so appends do not change its size. */
    static final long PREALLOCATE_BYTES = CHECKPOINT_BYTES + (1L << 20);

    /**
     * Opens the log at {@code logPath} after {@link #replayInto} applied {@code replayed} from it: the records the
     * replay applied stay in the log, and appends go on after them.
     */
    static RedoLog open(Path logPath, Replay replayed) throws IOException {
        return open(logPath, PREALLOCATE_BYTES, replayed);
    }

    /**
     * Opens the log and makes it at least {@code preallocate} bytes long. An fdatasync after an append within the
     * file's size flushes data blocks only; one that grows the file must also commit file-system metadata, which
     * costs a journal commit per save on ext4 and waits on every other writer of that file system.
     */
    static RedoLog open(Path logPath, long preallocate) throws IOException {
        return open(logPath, preallocate, Replay.NONE);
    }

    /** {@link #open(Path, long)}, going on after the records a replay applied. */
    static RedoLog open(Path logPath, long preallocate, Replay replayed) throws IOException {
        PrivateFiles.Opened opened = PrivateFiles.openOrCreate(logPath, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileChannel ch = opened.channel();
        long before = ch.size();
        if (before < preallocate) {
            try {
                extend(ch, preallocate);
                ch.force(true);
            } catch (IOException e) {
                // Best effort: a nearly full disk must not keep a store from opening; appends then grow the file.
                try {
                    ch.truncate(before);
                } catch (IOException again) {
                    e.addSuppressed(again);
                    ch.close();
                    throw e;
                }
            }
        }
        RedoLog log = new RedoLog(ch, opened.created());
        if (replayed.records() > 0) {
            log.generation = replayed.generation();
            log.seq = replayed.records();
            log.end = replayed.end();
        }
        return log;
    }

    /** Whether {@link #open} created the file (rather than opening one that was there). */
    boolean created() {
        return created;
    }

    /** Test seam: the steps of {@link #append}. */
    void probe(CommitProbe probe) {
        this.probe = probe;
    }

    /**
     * Applies every complete record of the log at {@code logPath} to {@code mainPath} and says what it applied; the
     * log is left as it is. Open the log with the result ({@link #open(Path, Replay)}), so that the writer goes on
     * after these records and keeps them until its next checkpoint.
     *
     * <p>The records are applied through a memory mapping of the main file (one copy per range, no system call each:
     * a log of a few megabytes holds tens of thousands of ranges). The main file is not synced: a sync here would
     * write back every page a killed writer left dirty since its last checkpoint, seconds on a busy disk, and the log
     * makes it unnecessary, since it holds every replayed record until a checkpoint has synced the main file. A range
     * the main file already holds is only compared, not written (after a kill, that is nearly every range).
     */
    static Replay replayInto(Path logPath, Path mainPath) throws IOException {
        if (!PrivateFiles.existsAsOwn(logPath)) {
            return Replay.NONE;
        }
        ByteBuffer buf;
        try (FileChannel log = PrivateFiles.openExisting(logPath, StandardOpenOption.READ)) {
            buf = readWhole(log, logPath);
        }
        if (buf.remaining() == 0) {
            return Replay.NONE;
        }
        long[] fileLength = {0};
        int replayed = forEachRecord(buf, (start, end) -> fileLength[0] = Math.max(fileLength[0],
                buf.getLong(start + 20)));
        if (replayed == 0) {
            return Replay.NONE;
        }
        long logEnd = buf.position();
        long generation = buf.getLong(4);
        try (FileChannel main = FileChannel.open(mainPath, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (main.size() < fileLength[0]) {
                extend(main, fileLength[0]);
            }
            MappedChunks mapped = new MappedChunks(main);
            forEachRecord(buf.rewind(), (start, end) -> apply(buf, start, mapped));
        }
        return new Replay(replayed, generation, logEnd);
    }

    /**
     * How many records a replay of the log at {@code logPath} would apply, found by reading only (nothing is
     * written, created or locked): for a read-only open, which must not read a main file that the log would change.
     * The log may belong to another user (a reader of someone else's store); it is never read through a link.
     */
    static int countReplayable(Path logPath) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(logPath, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException absent) {
            return 0;
        }
        if (!a.isRegularFile()) {
            throw new FileSystemException(logPath.toString(), null, "is not a regular file (a symbolic link?);"
                    + " tokenvault never follows a link for a store's own files");
        }
        if (a.size() == 0) {
            return 0; // a closed store's log: nothing to read, so it need not even be readable
        }
        ByteBuffer buf;
        try (FileChannel log = FileChannel.open(logPath, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            buf = readWhole(log, logPath);
        }
        return forEachRecord(buf, (start, end) -> { });
    }

    private static ByteBuffer readWhole(FileChannel log, Path logPath) throws IOException {
        long size = log.size();
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException(logPath + " is " + size + " bytes, more than a redo log can hold");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) size);
        while (buf.hasRemaining() && log.read(buf, buf.position()) >= 0) {
            // read() advances the buffer
        }
        return buf.flip();
    }

    /** What a replay does with one complete record, found at {@code start} (exclusive {@code end}) of the buffer. */
    private interface RecordAction {
        void accept(int start, int end) throws IOException;
    }

    /**
     * Runs {@code action} on each record a replay applies, in order: it stops at the first record that is torn, fails
     * its CRC, has another generation or skips a number. Returns how many there were.
     */
    private static int forEachRecord(ByteBuffer buf, RecordAction action) throws IOException {
        int replayed = 0;
        long firstGeneration = 0;
        while (true) {
            int start = buf.position();
            if (buf.remaining() < HEADER + 4 || buf.getInt(start) != MAGIC) {
                return replayed;
            }
            long gen = buf.getLong(start + 4);
            long recSeq = buf.getLong(start + 12);
            if (replayed == 0) {
                firstGeneration = gen;
            }
            if (gen != firstGeneration || recSeq != replayed) {
                return replayed;
            }
            int end = recordEnd(buf, start);
            if (end < 0) {
                return replayed;
            }
            CRC32C crc = new CRC32C();
            crc.update(buf.array(), start, end - start - 4);
            if ((int) crc.getValue() != buf.getInt(end - 4)) {
                return replayed;
            }
            action.accept(start, end);
            buf.position(end);
            replayed++;
        }
    }

    /** Writes the record at {@code start} of {@code buf} to {@code main}, already long enough. */
    private static void apply(ByteBuffer buf, int start, MappedChunks main) throws IOException {
        int count = buf.getInt(start + 28);
        int p = start + HEADER;
        for (int i = 0; i < count; i++) {
            long offset = buf.getLong(p);
            int len = buf.getInt(p + 8);
            main.put(offset, buf.array(), p + 12, len);
            p += 12 + len;
        }
    }

    /**
     * The main file mapped in chunks of at most {@value #CHUNK} bytes, each mapped when first written, never past the
     * file's length (a mapping past it would grow the file). The mappings go with the garbage collector; the file is
     * mapped again by the open that follows, which sees the same pages, and its checkpoint syncs them.
     */
    private static final class MappedChunks {
        private static final long CHUNK = 1L << 30;
        private final FileChannel file;
        private final long size;
        private final MappedByteBuffer[] chunks;

        MappedChunks(FileChannel file) throws IOException {
            this.file = file;
            this.size = file.size();
            this.chunks = new MappedByteBuffer[(int) ((size + CHUNK - 1) / CHUNK)];
        }

        void put(long offset, byte[] src, int from, int len) throws IOException {
            if (offset < 0 || len < 0 || offset > size - len) {
                throw new IOException("a redo record writes " + len + " bytes at " + offset + ", past the main file's "
                        + size + " bytes");
            }
            for (int done = 0; done < len; ) {
                long at = offset + done;
                int index = (int) (at / CHUNK);
                int n = (int) Math.min(len - done, (index + 1) * CHUNK - at);
                MappedByteBuffer chunk = chunk(index);
                int within = (int) (at - index * CHUNK);
                // After a kill the page cache already holds what the killed writer applied: a page that is only
                // read is not dirtied, so it costs no write fault now and no write-back at the next checkpoint.
                if (chunk.slice(within, n).mismatch(ByteBuffer.wrap(src, from + done, n)) >= 0) {
                    chunk.put(within, src, from + done, n);
                }
                done += n;
            }
        }

        private MappedByteBuffer chunk(int index) throws IOException {
            if (chunks[index] == null) {
                long start = index * CHUNK;
                chunks[index] = file.map(FileChannel.MapMode.READ_WRITE, start, Math.min(CHUNK, size - start));
            }
            return chunks[index];
        }
    }

    /** The end of the record starting at {@code start}, or -1 when it runs past the buffer. */
    private static int recordEnd(ByteBuffer buf, int start) {
        int count = buf.getInt(start + 28);
        if (count < 0) {
            return -1;
        }
        long p = start + HEADER;
        for (int i = 0; i < count; i++) {
            if (p + 12 > buf.limit()) {
                return -1;
            }
            int len = buf.getInt((int) p + 8);
            if (len < 0) {
                return -1;
            }
            p += 12L + len;
        }
        p += 4;
        return p > buf.limit() ? -1 : (int) p;
    }

    private static void extend(FileChannel main, long length) throws IOException {
        // Real zero writes, not a sparse setLength: the blocks exist before MapDB maps them.
        ByteBuffer zeros = ByteBuffer.allocate(64 * 1024);
        long pos = main.size();
        while (pos < length) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - pos));
            pos += main.write(zeros, pos);
        }
    }

    /** Appends one commit's writes and fsyncs the log; returns once they are durable. */
    void append(List<Write> writes, long fileLength) throws IOException {
        long size = HEADER + 4;
        for (Write w : writes) {
            size += 12 + w.bytes().length;
        }
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
        try {
            while (rec.hasRemaining()) {
                end += channel.write(rec, end);
            }
            probe.reached("redo.written");
            channel.force(false);
        } catch (Throwable t) {
            // The caller is told this commit failed, so its record must never replay, even when it was written
            // whole: zero its magic (a record that does not start with it ends replay), then forget it.
            end = start;
            try {
                channel.write(ByteBuffer.allocate(4), start);
                channel.force(false);
            } catch (Throwable again) {
                t.addSuppressed(again);
            }
            throw t;
        }
        seq++;
    }

    /** Bytes in the log since the last checkpoint. */
    long size() {
        return end;
    }

    /**
     * Empties the log after a checkpoint: the next record is written at the start under a new generation, so the
     * records left behind it never replay after it. Until then they may replay once more, which rewrites bytes the
     * checkpointed main file already holds. The file keeps its size.
     */
    void reset() {
        end = 0;
        seq = 0;
        generation = RANDOM.nextLong();
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
