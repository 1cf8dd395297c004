package dev.tokenvault.engine.mapdb;

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
import java.util.List;
import org.mapdb.DBException;
import java.util.zip.CRC32C;

/**
 * The reading side of the {@link RedoLog}: which records a crash may have left out of the main file, and their replay
 * onto it at open. A half's chain is its records from the start of the half, with its first record's generation and
 * consecutive sequence numbers; the newer half's chain replays, and the older one before it when the newer starts at
 * the number after the older's last. Nothing here writes the log.
 */
final class RedoReplay {
    private RedoReplay() {
    }

    /**
     * What {@link #replayInto} found: how many records it applied, and the newest chain it applied (its half,
     * generation, next sequence number and end), after which a log opened with it goes on; {@code otherNeeded} when
     * the other half's chain was replayed too, so that it stays until a checkpoint has synced the main file.
     */
    record Replay(int records, int half, long generation, long nextSeq, long end, boolean otherNeeded) {
        static final Replay NONE = new Replay(0, 0, 0, 0, 0, false);
    }

    /**
     * A half's chain: {@code count} records from {@code start} to {@code end}, numbered from {@code firstSeq};
     * {@code fileLength} is the longest main file its records name.
     */
    private record Chain(int half, long start, long end, int count, long generation, long firstSeq, long fileLength) {
        long nextSeq() {
            return firstSeq + count;
        }
    }

    /**
     * Applies every record of the log at {@code logPath} that a crash may have left out of {@code mainPath}, and says
     * what it applied; the log is left as it is. Open the log with the result ({@link RedoLog#open(Path, Replay)}),
     * so that the writer goes on after these records and keeps them until its next checkpoint.
     *
     * <p>Each range is compared with the main file through a read-only mapping and written only when it differs
     * ({@link MappedChunks}; after a kill that is nearly never). The main file is not synced: a sync here would write
     * back every page a killed writer left dirty since its last checkpoint, seconds on a busy disk, and the log makes
     * it unnecessary, since it holds every replayed record until a checkpoint has synced the main file.
     */
    static Replay replayInto(Path logPath, Path mainPath) throws IOException {
        if (!PrivateFiles.existsAsOwn(logPath)) {
            return Replay.NONE;
        }
        ByteBuffer buf;
        try (FileChannel log = PrivateFiles.openExisting(logPath, StandardOpenOption.READ)) {
            buf = readWhole(log, logPath);
        }
        List<Chain> chains = replayable(buf);
        if (chains.isEmpty()) {
            return Replay.NONE;
        }
        long fileLength = 0;
        int records = 0;
        for (Chain c : chains) {
            fileLength = Math.max(fileLength, c.fileLength());
            records += c.count();
        }
        try (FileChannel main = FileChannel.open(mainPath, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (main.size() < fileLength) {
                RedoLog.extend(main, fileLength);
            }
            MappedChunks mapped = new MappedChunks(main);
            for (Chain c : chains) {
                forEachRecord(buf, c.start(), (start, end) -> apply(buf, start, mapped));
            }
        }
        Chain newest = chains.get(chains.size() - 1);
        return new Replay(records, newest.half(), newest.generation(), newest.nextSeq(), newest.end(),
                chains.size() == 2);
    }

    /**
     * The chains a replay applies, oldest first: the newer half's chain, and before it the other half's when the
     * newer one starts at the number after its last. A chain the newer one does not follow (an older one, whose
     * records a checkpoint had synced before the newer half began) is left out; so is a record at the second half's
     * start that continues the first half's chain (a log written before the halves, one long chain).
     */
    private static List<Chain> replayable(ByteBuffer buf) throws IOException {
        Chain first = chainAt(buf, 0);
        Chain second = chainAt(buf, 1);
        if (second != null && first != null && second.generation() == first.generation()) {
            second = null;
        }
        if (first == null || second == null) {
            return first != null ? List.of(first) : second != null ? List.of(second) : List.of();
        }
        Chain older = first.firstSeq() < second.firstSeq() ? first : second;
        Chain newer = older == first ? second : first;
        return newer.firstSeq() == older.nextSeq() ? List.of(older, newer) : List.of(newer);
    }

    /** The chain at the start of {@code half}, or null when none starts there. */
    private static Chain chainAt(ByteBuffer buf, int half) throws IOException {
        long start = RedoLog.startOf(half);
        long[] end = {-1};
        long[] fileLength = {0};
        int count = forEachRecord(buf, start, (s, e) -> {
            end[0] = e;
            fileLength[0] = Math.max(fileLength[0], buf.getLong(s + 20));
        });
        if (count == 0) {
            return null;
        }
        return new Chain(half, start, end[0], count, buf.getLong((int) start + 4), buf.getLong((int) start + 12),
                fileLength[0]);
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
        int records = 0;
        for (Chain c : replayable(buf)) {
            records += c.count();
        }
        return records;
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
     * Runs {@code action} on each record of the chain that starts at {@code from}, in order: the chain ends at the
     * first record that is torn, fails its CRC, has another generation than the first or does not number the one
     * before it plus one. Returns how many there were.
     */
    private static int forEachRecord(ByteBuffer buf, long from, RecordAction action) throws IOException {
        int replayed = 0;
        long firstGeneration = 0;
        long firstSeq = 0;
        int start = (int) from;
        while (true) {
            if (start < 0 || buf.limit() - start < RedoLog.HEADER + 4 || buf.getInt(start) != RedoLog.MAGIC) {
                return replayed;
            }
            long gen = buf.getLong(start + 4);
            long recSeq = buf.getLong(start + 12);
            if (replayed == 0) {
                firstGeneration = gen;
                firstSeq = recSeq;
            }
            if (gen != firstGeneration || recSeq != firstSeq + replayed) {
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
            start = end;
            replayed++;
        }
    }

    /** Writes the record at {@code start} of {@code buf} to {@code main}, already long enough. */
    private static void apply(ByteBuffer buf, int start, MappedChunks main) throws IOException {
        int count = buf.getInt(start + 28);
        int p = start + RedoLog.HEADER;
        for (int i = 0; i < count; i++) {
            long offset = buf.getLong(p);
            int len = buf.getInt(p + 8);
            main.put(offset, buf.array(), p + 12, len);
            p += 12 + len;
        }
    }

    /**
     * The main file mapped read-only in chunks of at most {@value #CHUNK} bytes, each mapped when first needed, never
     * past the file's length, to compare a range with; a range that differs is written through the channel. Why both:
     * after a kill nearly every range is already in the page cache, and a comparison through the mapping costs no
     * system call, where a log of a few megabytes holds tens of thousands of ranges; writes go through the channel,
     * like every other write to the main file ({@link RedoVolume}), so that the checkpoint's {@link FileChannel#force}
     * syncs them. The mappings go with the garbage collector.
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
                // The file was grown to every record's own length first, so this record contradicts itself: damage
                // (its CRC32C is no seal), CORRUPT to the caller, not a failure of the disk
                throw new DBException.DataCorruption("a redo record writes " + len + " bytes at " + offset
                        + ", past the main file's " + size + " bytes");
            }
            for (int done = 0; done < len; ) {
                long at = offset + done;
                int index = (int) (at / CHUNK);
                int n = (int) Math.min(len - done, (index + 1) * CHUNK - at);
                int within = (int) (at - index * CHUNK);
                ByteBuffer wanted = ByteBuffer.wrap(src, from + done, n);
                if (chunk(index).slice(within, n).mismatch(wanted) >= 0) {
                    RedoLog.writeAt(file, wanted, at);
                }
                done += n;
            }
        }

        private MappedByteBuffer chunk(int index) throws IOException {
            if (chunks[index] == null) {
                long start = index * CHUNK;
                chunks[index] = file.map(FileChannel.MapMode.READ_ONLY, start, Math.min(CHUNK, size - start));
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
        long p = start + RedoLog.HEADER;
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
}
