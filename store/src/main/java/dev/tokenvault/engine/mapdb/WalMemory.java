package dev.tokenvault.engine.mapdb;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import org.mapdb.DataIO;
import org.mapdb.DataInput2;
import org.mapdb.volume.Volume;

/**
 * The memory that MapDB's own write-ahead log lives in, one per open {@code DB}. That log is never replayed
 * ({@link RedoLog} is), so it only has to hold a transaction's records until its commit copies them to the main file.
 *
 * <p>Why not MapDB's {@code ByteArrayVol}: MapDB opens a new log volume at every commit and closes it after, and a
 * {@code ByteArrayVol} allocates its memory in 1 MiB slices, so each save allocated and zeroed 1 MiB (a humongous
 * object for the G1 collector, on fresh pages): a third of a save's CPU in a profile. Here a closed volume goes back
 * to a pool and is handed out again, and its buffer grows only as far as a transaction's log needs.
 *
 * <p>MapDB also hashes the whole log at each commit for a checksum that only its replay would check; {@link
 * Buffer#hash} skips that work.
 */
final class WalMemory {
    /** A volume's first size: a save's log (MapDB's 32 KiB header and a few records) fits. */
    private static final int INITIAL_BYTES = 64 * 1024;
    /** Buffers above this size are not kept once their transaction ends, so a large commit does not pin its memory. */
    private static final int RETAINED_BYTES = 1 << 20;

    private final ArrayDeque<Buffer> idle = new ArrayDeque<>();

    /** A volume for the next log file MapDB opens: a pooled one when there is one. */
    synchronized Volume open() {
        Buffer b = idle.poll();
        if (b == null) {
            return new Buffer(this);
        }
        b.reopen();
        return b;
    }

    private synchronized void giveBack(Buffer b) {
        idle.push(b);
    }

    /** One log file's bytes: a heap array that grows by doubling; reads and writes at an offset past it fail. */
    static final class Buffer extends Volume {
        private final WalMemory pool;
        private byte[] data = new byte[INITIAL_BYTES];
        /** The largest offset made available since the buffer was handed out: the bytes to zero when it closes. */
        private int available;

        private Buffer(WalMemory pool) {
            this.pool = pool;
        }

        private void reopen() {
            closed.set(false);
        }

        @Override
        public void ensureAvailable(long offset) {
            if (offset > data.length) {
                long grown = Math.max(offset, 2L * data.length);
                data = Arrays.copyOf(data, Math.toIntExact(Math.min(grown, Integer.MAX_VALUE - 8)));
            }
            available = (int) Math.max(available, offset);
        }

        @Override
        public void truncate(long size) {
            // the log is emptied by close(); nothing to give back earlier
        }

        @Override
        public void putLong(long offset, long value) {
            DataIO.putLong(data, (int) offset, value);
        }

        @Override
        public void putInt(long offset, int value) {
            DataIO.putInt(data, (int) offset, value);
        }

        @Override
        public void putByte(long offset, byte value) {
            data[(int) offset] = value;
        }

        @Override
        public void putData(long offset, byte[] src, int srcPos, int srcSize) {
            System.arraycopy(src, srcPos, data, (int) offset, srcSize);
        }

        @Override
        public void putData(long offset, ByteBuffer buf) {
            buf.get(data, (int) offset, buf.remaining());
        }

        @Override
        public void clear(long startOffset, long endOffset) {
            Arrays.fill(data, (int) startOffset, (int) endOffset, (byte) 0);
        }

        @Override
        public long getLong(long offset) {
            return DataIO.getLong(data, (int) offset);
        }

        @Override
        public int getInt(long offset) {
            return DataIO.getInt(data, (int) offset);
        }

        @Override
        public byte getByte(long offset) {
            return data[(int) offset];
        }

        @Override
        public DataInput2 getDataInput(long offset, int size) {
            return new DataInput2.ByteArray(data, (int) offset);
        }

        @Override
        public void getData(long offset, byte[] bytes, int bytesPos, int size) {
            System.arraycopy(data, (int) offset, bytes, bytesPos, size);
        }

        /** The checksum MapDB computes over its log at each commit; only a replay of that log would check it. */
        @Override
        public long hash(long off, long len, long seed) {
            return 0;
        }

        /** Zeroes what the transaction used (a new log starts as zeros) and returns the buffer to the pool. */
        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            if (data.length > RETAINED_BYTES) {
                data = new byte[INITIAL_BYTES];
            } else {
                Arrays.fill(data, 0, Math.min(available, data.length), (byte) 0);
            }
            available = 0;
            pool.giveBack(this);
        }

        @Override
        public void sync() {
            // memory only
        }

        @Override
        public int sliceSize() {
            return -1;
        }

        @Override
        public boolean isSliced() {
            return false;
        }

        @Override
        public long length() {
            return available;
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public File getFile() {
            return null;
        }

        @Override
        public boolean getFileLocked() {
            return false;
        }
    }
}
