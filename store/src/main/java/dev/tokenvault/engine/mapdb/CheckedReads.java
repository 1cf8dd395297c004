package dev.tokenvault.engine.mapdb;

import java.io.File;
import java.nio.ByteBuffer;
import org.mapdb.DBException;
import org.mapdb.DataInput2;
import org.mapdb.volume.Volume;

/**
 * The read side of {@link RedoVolume}: every read of the main file checked against its length, and served from the
 * main file, or, where the subclass holds writes that are not in it yet ({@link #overlaid}), from the main file's
 * bytes with those writes laid over them ({@link #read}).
 */
abstract class CheckedReads extends Volume {
    /** The longest packed long MapDB writes: a read of one may touch this many bytes. */
    private static final int PACKED_LONG_MAX = 10;

    final Volume main;
    /** {@code main.length()}, kept here: a mapped file's length() asks the file system, and every read checks it. */
    volatile long length;

    CheckedReads(Volume main) {
        this.main = main;
        this.length = main.length();
    }

    /** Whether a read of {@code [offset, offset + size)} must lay writes over the main file's bytes. */
    abstract boolean overlaid(long offset, long size);

    /** The {@code size} bytes at {@code offset}: the main file's, with the writes not in it yet laid over them. */
    abstract byte[] read(long offset, int size);

    // Reads. MapDB follows offsets and sizes it reads from the file itself; in a damaged file they can point anywhere
    // or claim anything. Each read is checked against the file's length before any byte is read or any buffer is
    // made for it, so damage surfaces as DataCorruption (CORRUPT to the caller) rather than as whatever the mapped
    // buffer throws, and never as an allocation sized by a damaged length.

    @Override
    public long getLong(long offset) {
        checkRange(offset, 8);
        return overlaid(offset, 8) ? ByteBuffer.wrap(read(offset, 8)).getLong() : main.getLong(offset);
    }

    @Override
    public int getInt(long offset) {
        checkRange(offset, 4);
        return overlaid(offset, 4) ? ByteBuffer.wrap(read(offset, 4)).getInt() : main.getInt(offset);
    }

    @Override
    public byte getByte(long offset) {
        checkRange(offset, 1);
        return overlaid(offset, 1) ? read(offset, 1)[0] : main.getByte(offset);
    }

    @Override
    public int getUnsignedByte(long offset) {
        checkRange(offset, 1);
        return overlaid(offset, 1) ? read(offset, 1)[0] & 0xff : main.getUnsignedByte(offset);
    }

    @Override
    public int getUnsignedShort(long offset) {
        checkRange(offset, 2);
        return overlaid(offset, 2) ? super.getUnsignedShort(offset) : main.getUnsignedShort(offset);
    }

    @Override
    public long getSixLong(long pos) {
        checkRange(pos, 6);
        return overlaid(pos, 6) ? super.getSixLong(pos) : main.getSixLong(pos);
    }

    @Override
    public long getPackedLong(long position) {
        checkRange(position, 1); // the packed long's further bytes are read one by one, each checked when overlaid
        return overlaid(position, PACKED_LONG_MAX) ? super.getPackedLong(position) : main.getPackedLong(position);
    }

    /** One record's bytes: reads past {@code size}, and counts that do not fit in it, are damage. */
    @Override
    public DataInput2 getDataInput(long offset, int size) {
        checkRange(offset, size);
        return new RecordInput(overlaid(offset, size) ? new DataInput2.ByteArray(read(offset, size))
                : main.getDataInput(offset, size), size);
    }

    @Override
    public DataInput2 getDataInputOverlap(long offset, int size) {
        checkRange(offset, size);
        return new RecordInput(overlaid(offset, size) ? new DataInput2.ByteArray(read(offset, size))
                : main.getDataInputOverlap(offset, size), size);
    }

    /**
     * Also refuses to fill {@code bytes} past the file's length: MapDB assembles a record stored in linked chunks into
     * one array, chunk by chunk at {@code bytesPos}, growing the array as it goes. No record is longer than the file,
     * so a chain that gets there is a damaged link (a cycle would otherwise grow the array until the heap runs out).
     */
    @Override
    public void getData(long offset, byte[] bytes, int bytesPos, int size) {
        checkRange(offset, size);
        if (bytesPos < 0 || bytesPos > length - size) {
            throw damaged("a record assembled from linked chunks grows past " + length + " bytes, the file's length");
        }
        if (overlaid(offset, size)) {
            System.arraycopy(read(offset, size), 0, bytes, bytesPos, size);
        } else {
            main.getData(offset, bytes, bytesPos, size);
        }
    }

    /** Throws unless {@code [offset, offset + size)} lies within the file. */
    private void checkRange(long offset, long size) {
        long length = this.length;
        if (offset < 0 || size < 0 || offset > length - size) {
            throw damaged("a read of " + size + " bytes at offset " + offset + " falls outside the file's " + length
                    + " bytes (a damaged pointer or length)");
        }
    }

    private static DBException.DataCorruption damaged(String what) {
        return new DBException.DataCorruption(what);
    }

    @Override
    public long length() {
        return length;
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
    public File getFile() {
        return main.getFile();
    }

    @Override
    public boolean getFileLocked() {
        return main.getFileLocked();
    }
}
