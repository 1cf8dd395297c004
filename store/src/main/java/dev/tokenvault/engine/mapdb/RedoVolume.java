package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.mapdb.DBException;
import org.mapdb.DataInput2;
import org.mapdb.volume.Volume;

/**
 * The MapDB main-file volume with redo: writes are held in memory until {@link #sync()}, which appends them to the
 * {@link RedoLog}, fsyncs it, and only then writes them to the memory-mapped file. Every few megabytes of log the
 * main file is synced and the log emptied (a checkpoint), so a commit costs one fsync of a small sequential write.
 *
 * <p>MapDB's {@code StoreWAL} writes to this volume only inside {@code commit()} (and when it creates a file), while
 * holding all of its locks, so reads meet pending writes only in that window; they still see them (overlay).
 */
final class RedoVolume extends Volume {
    private final Volume main;
    private final RedoLog log; // null for an in-memory store
    private final List<RedoLog.Write> pending = new ArrayList<>();
    private final CommitProbe probe;
    private volatile boolean dirty;
    /** Commits that reached their commit point: once the count moves, the commit is durable whatever follows. */
    private long committed;

    RedoVolume(Volume main, RedoLog log) {
        this(main, log, CommitProbe.NONE);
    }

    RedoVolume(Volume main, RedoLog log, CommitProbe probe) {
        this.main = main;
        this.log = log;
        this.probe = probe;
        if (log != null) {
            log.probe(probe);
        }
    }

    /**
     * How many of this volume's commits have passed their commit point: the redo record written and synced (for a
     * store in memory, the first write to the main volume). A commit that fails after this point is durable all the
     * same, since the next open replays it.
     */
    long committed() {
        return committed;
    }

    private void add(long offset, byte[] bytes) {
        pending.add(new RedoLog.Write(offset, bytes));
        dirty = true;
    }

    @Override
    public void ensureAvailable(long offset) {
        // Growing the file with zeros changes no committed byte, so it is not logged.
        main.ensureAvailable(offset);
    }

    @Override
    public void truncate(long size) {
        throw new UnsupportedOperationException("tokenvault never truncates the main file in place");
    }

    @Override
    public void putLong(long offset, long value) {
        add(offset, ByteBuffer.allocate(8).putLong(value).array());
    }

    @Override
    public void putInt(long offset, int value) {
        add(offset, ByteBuffer.allocate(4).putInt(value).array());
    }

    @Override
    public void putByte(long offset, byte value) {
        add(offset, new byte[] {value});
    }

    @Override
    public void putData(long offset, byte[] src, int srcPos, int srcSize) {
        byte[] copy = new byte[srcSize];
        System.arraycopy(src, srcPos, copy, 0, srcSize);
        add(offset, copy);
    }

    @Override
    public void putData(long offset, ByteBuffer buf) {
        byte[] copy = new byte[buf.remaining()];
        buf.get(copy);
        add(offset, copy);
    }

    @Override
    public void clear(long startOffset, long endOffset) {
        add(startOffset, new byte[(int) (endOffset - startOffset)]);
    }

    @Override
    public long getLong(long offset) {
        return dirty ? ByteBuffer.wrap(read(offset, 8)).getLong() : main.getLong(offset);
    }

    @Override
    public int getInt(long offset) {
        return dirty ? ByteBuffer.wrap(read(offset, 4)).getInt() : main.getInt(offset);
    }

    @Override
    public byte getByte(long offset) {
        return dirty ? read(offset, 1)[0] : main.getByte(offset);
    }

    @Override
    public int getUnsignedByte(long offset) {
        return dirty ? read(offset, 1)[0] & 0xff : main.getUnsignedByte(offset);
    }

    @Override
    public int getUnsignedShort(long offset) {
        return dirty ? super.getUnsignedShort(offset) : main.getUnsignedShort(offset);
    }

    @Override
    public long getSixLong(long pos) {
        return dirty ? super.getSixLong(pos) : main.getSixLong(pos);
    }

    @Override
    public long getPackedLong(long position) {
        return dirty ? super.getPackedLong(position) : main.getPackedLong(position);
    }

    @Override
    public DataInput2 getDataInput(long offset, int size) {
        return dirty ? new DataInput2.ByteArray(read(offset, size)) : main.getDataInput(offset, size);
    }

    @Override
    public DataInput2 getDataInputOverlap(long offset, int size) {
        return dirty ? new DataInput2.ByteArray(read(offset, size)) : main.getDataInputOverlap(offset, size);
    }

    @Override
    public void getData(long offset, byte[] bytes, int bytesPos, int size) {
        if (dirty) {
            System.arraycopy(read(offset, size), 0, bytes, bytesPos, size);
        } else {
            main.getData(offset, bytes, bytesPos, size);
        }
    }

    /** Main-file bytes with pending writes laid over them in order. */
    private byte[] read(long offset, int size) {
        byte[] out = new byte[size];
        if (offset < main.length()) {
            int fromMain = (int) Math.min(size, main.length() - offset);
            main.getData(offset, out, 0, fromMain);
        }
        for (RedoLog.Write w : pending) {
            long start = Math.max(offset, w.offset());
            long stop = Math.min(offset + size, w.offset() + w.bytes().length);
            if (start < stop) {
                System.arraycopy(w.bytes(), (int) (start - w.offset()), out, (int) (start - offset),
                        (int) (stop - start));
            }
        }
        return out;
    }

    /** Makes the pending writes durable (log first), then applies them to the main file. */
    @Override
    public void sync() {
        if (pending.isEmpty()) {
            return;
        }
        if (changesNothing()) {
            // MapDB rewrites its header at every commit; a commit that changes no byte leaves the files, and their
            // modification times, alone (so a read-only open and close writes nothing).
            pending.clear();
            dirty = false;
            return;
        }
        try {
            probe.reached("volume.beforeLog");
            if (log != null) {
                log.append(pending, main.length());
            }
            committed++;
            probe.reached("volume.logged");
            for (int i = 0; i < pending.size(); i++) {
                RedoLog.Write w = pending.get(i);
                main.putData(w.offset(), w.bytes(), 0, w.bytes().length);
                if (i == 0) {
                    probe.reached("volume.applying");
                }
            }
            pending.clear();
            dirty = false;
            probe.reached("volume.applied");
            if (log != null && log.size() >= RedoLog.CHECKPOINT_BYTES) {
                checkpoint();
            }
        } catch (IOException e) {
            throw new DBException.VolumeIOError(e);
        }
    }

    /**
     * Whether every pending write holds the bytes the main volume already has: then applying them in order changes
     * nothing, since none of them changes a byte a later one would see.
     */
    private boolean changesNothing() {
        long length = main.length();
        for (RedoLog.Write w : pending) {
            byte[] bytes = w.bytes();
            if (w.offset() + bytes.length > length) {
                return false;
            }
            byte[] current = new byte[bytes.length];
            main.getData(w.offset(), current, 0, bytes.length);
            if (!Arrays.equals(current, bytes)) {
                return false;
            }
        }
        return true;
    }

    /** Syncs the main file and empties the log. */
    void checkpoint() throws IOException {
        main.sync();
        probe.reached("volume.checkpointed");
        log.reset();
    }

    /** Drops pending writes and releases the files without a checkpoint; the log replays at the next open. */
    void abandon() {
        pending.clear();
        dirty = false;
        closeQuietly();
    }

    @Override
    public void close() {
        if (!pending.isEmpty()) {
            // StoreWAL never closes with uncommitted writes; if it did, dropping them is the atomic choice.
            pending.clear();
            dirty = false;
        }
        try {
            if (log != null) {
                checkpoint();
                log.release();
            }
        } catch (IOException e) {
            closeQuietly();
            throw new DBException.VolumeIOError(e);
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            main.close();
        } finally {
            if (log != null) {
                try {
                    log.close();
                } catch (IOException ignored) {
                    // the log is already durable or will replay; nothing to add
                }
            }
        }
    }

    @Override
    public int sliceSize() {
        return main.sliceSize();
    }

    @Override
    public boolean isSliced() {
        return main.isSliced();
    }

    @Override
    public long length() {
        return main.length();
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public File getFile() {
        return main.getFile();
    }

    @Override
    public boolean getFileLocked() {
        return main.getFileLocked();
    }
}
