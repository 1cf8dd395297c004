package dev.tokenvault.engine.mapdb;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.mapdb.DataInput2;
import org.mapdb.volume.Volume;

/**
 * A main-file volume in memory that remembers, page by page, every version a write made, and which of them a
 * {@link #sync()} has made durable. {@link #crashImage} gives what a disk may hold after a crash: for each page, the
 * version the last finished sync saw or any later one (the kernel writes dirty pages back whenever it likes). Tests
 * of the redo log replay it onto such an image.
 *
 * <p>{@link #onSync} runs inside each sync, after its snapshot and before it counts as done: a test blocks there to
 * hold a checkpoint open, or throws to fail it. {@link #afterRead} runs after {@link #getData} has copied its bytes,
 * outside the disk's monitor: a test holds a reader there, between what it read and what it does next.
 */
final class SimulatedDisk extends Volume {
    static final int PAGE = 256;

    /** What a sync calls between its snapshot and its end, or a read after its copy. */
    interface Hook {
        void run() throws Exception;
    }

    private final byte[] bytes;
    /** Per page: every version it had, oldest first. */
    private final List<List<byte[]>> versions = new ArrayList<>();
    /** Per page: the index of the oldest version the disk may hold. */
    private int[] durable;
    private final List<String> syncThreads = new ArrayList<>();
    volatile Hook onSync = () -> { };
    volatile Hook afterRead = () -> { };

    SimulatedDisk(int size) {
        this(new byte[size]);
    }

    /** A disk that holds {@code image}, durably. */
    SimulatedDisk(byte[] image) {
        bytes = image.clone();
        durable = new int[image.length / PAGE];
        for (int p = 0; p < image.length / PAGE; p++) {
            versions.add(new ArrayList<>(List.of(Arrays.copyOfRange(image, p * PAGE, (p + 1) * PAGE))));
        }
    }

    /** The bytes as the running process sees them. */
    synchronized byte[] current() {
        return bytes.clone();
    }

    /** A disk after a crash now: each page at the last finished sync's version or a later one. */
    synchronized byte[] crashImage(Random random) {
        byte[] out = new byte[bytes.length];
        for (int p = 0; p < versions.size(); p++) {
            List<byte[]> v = versions.get(p);
            int pick = durable[p] + random.nextInt(v.size() - durable[p]);
            System.arraycopy(v.get(pick), 0, out, p * PAGE, PAGE);
        }
        return out;
    }

    /** The names of the threads that called {@link #sync()}, in order. */
    synchronized List<String> syncThreads() {
        return List.copyOf(syncThreads);
    }

    @Override
    public synchronized void putData(long offset, byte[] src, int srcPos, int srcSize) {
        System.arraycopy(src, srcPos, bytes, (int) offset, srcSize);
        for (int p = (int) offset / PAGE; p <= (int) (offset + srcSize - 1) / PAGE; p++) {
            versions.get(p).add(Arrays.copyOfRange(bytes, p * PAGE, (p + 1) * PAGE));
        }
    }

    @Override
    public void sync() {
        int[] snapshot;
        synchronized (this) {
            syncThreads.add(Thread.currentThread().getName());
            snapshot = new int[versions.size()];
            for (int p = 0; p < snapshot.length; p++) {
                snapshot[p] = versions.get(p).size() - 1;
            }
        }
        run(onSync);
        synchronized (this) {
            durable = snapshot;
        }
    }

    private static void run(Hook hook) {
        try {
            hook.run();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void getData(long offset, byte[] dst, int dstPos, int size) {
        synchronized (this) {
            System.arraycopy(bytes, (int) offset, dst, dstPos, size);
        }
        run(afterRead);
    }

    @Override
    public void putData(long offset, ByteBuffer buf) {
        byte[] b = new byte[buf.remaining()];
        buf.get(b);
        putData(offset, b, 0, b.length);
    }

    @Override
    public void putLong(long offset, long value) {
        putData(offset, ByteBuffer.allocate(8).putLong(value).array(), 0, 8);
    }

    @Override
    public void putInt(long offset, int value) {
        putData(offset, ByteBuffer.allocate(4).putInt(value).array(), 0, 4);
    }

    @Override
    public void putByte(long offset, byte value) {
        putData(offset, new byte[] {value}, 0, 1);
    }

    @Override
    public void clear(long startOffset, long endOffset) {
        putData(startOffset, new byte[(int) (endOffset - startOffset)], 0, (int) (endOffset - startOffset));
    }

    @Override
    public synchronized long getLong(long offset) {
        return ByteBuffer.wrap(bytes, (int) offset, 8).getLong();
    }

    @Override
    public synchronized int getInt(long offset) {
        return ByteBuffer.wrap(bytes, (int) offset, 4).getInt();
    }

    @Override
    public synchronized byte getByte(long offset) {
        return bytes[(int) offset];
    }

    @Override
    public synchronized DataInput2 getDataInput(long offset, int size) {
        return new DataInput2.ByteArray(Arrays.copyOfRange(bytes, (int) offset, (int) offset + size));
    }

    @Override
    public void ensureAvailable(long offset) {
        if (offset > bytes.length) {
            throw new IllegalArgumentException("the simulated disk holds " + bytes.length + " bytes");
        }
    }

    @Override
    public void truncate(long size) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
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
        return bytes.length;
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
