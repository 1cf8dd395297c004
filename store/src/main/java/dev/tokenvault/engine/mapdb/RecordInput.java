package dev.tokenvault.engine.mapdb;

import java.io.IOException;
import org.mapdb.DBException;
import org.mapdb.DataInput2;

/**
 * One MapDB record's bytes, read through MapDB's own input but never past the record's end.
 *
 * <p>Why: MapDB's serializers read a count or a length and allocate for it before reading what it counts (a leaf's
 * entries, a string's characters, a byte array), and its inputs read on past the record into whatever follows. In a
 * damaged file that count can be anything: a flipped bit made MapDB allocate gigabytes. Here every count is checked
 * against the bytes the record still holds before it is returned, which bounds every such allocation by the record's
 * size. The rule holds for every count in a tokenvault store (leaf entries, string lengths, byte array lengths and
 * MapDB's catalog), since each counted item takes at least one byte. A read past the end, or a count that does not
 * fit, is {@link DBException.DataCorruption}, which the engine reports as {@code CORRUPT}.
 */
final class RecordInput extends DataInput2 {
    private final DataInput2 in;
    private final int end;

    /** @param in positioned at the record's first byte; @param size the record's length in bytes */
    RecordInput(DataInput2 in, int size) {
        this.in = in;
        this.end = in.getPos() + size;
    }

    private int remaining() {
        return end - in.getPos();
    }

    private void need(int bytes) {
        if (bytes < 0 || bytes > remaining()) {
            throw pastEnd();
        }
    }

    /** For reads of variable length: checked once they are done, before their result is used. */
    private void checkWithin() {
        if (remaining() < 0) {
            throw pastEnd();
        }
    }

    private DBException.DataCorruption pastEnd() {
        return new DBException.DataCorruption("a record is shorter than its contents claim (damaged length or count)");
    }

    /**
     * Every caller of this method in a tokenvault store reads a count or a length with it (a string's characters go
     * through {@link #readUTF()}, which reads them unchecked).
     */
    @Override
    public int unpackInt() throws IOException {
        int count = in.unpackInt();
        checkWithin();
        if (count < 0 || count > remaining()) {
            throw new DBException.DataCorruption("a record claims " + Integer.toUnsignedString(count)
                    + " items in its last " + remaining() + " bytes (damaged length or count)");
        }
        return count;
    }

    /** MapDB's string format: a packed length, then one packed int per character. */
    @Override
    public String readUTF() throws IOException {
        char[] chars = new char[unpackInt()];
        for (int i = 0; i < chars.length; i++) {
            chars[i] = (char) in.unpackInt();
        }
        checkWithin();
        return new String(chars);
    }

    @Override
    public String readLine() throws IOException {
        return readUTF();
    }

    @Override
    public long unpackLong() throws IOException {
        long v = in.unpackLong();
        checkWithin();
        return v;
    }

    @Override
    public void readFully(byte[] b, int off, int len) throws IOException {
        need(len);
        in.readFully(b, off, len);
    }

    @Override
    public int skipBytes(int n) throws IOException {
        need(n);
        return in.skipBytes(n);
    }

    @Override
    public boolean readBoolean() throws IOException {
        need(1);
        return in.readBoolean();
    }

    @Override
    public byte readByte() throws IOException {
        need(1);
        return in.readByte();
    }

    @Override
    public int readUnsignedByte() throws IOException {
        need(1);
        return in.readUnsignedByte();
    }

    @Override
    public short readShort() throws IOException {
        need(2);
        return in.readShort();
    }

    @Override
    public char readChar() throws IOException {
        need(2);
        return in.readChar();
    }

    @Override
    public int readInt() throws IOException {
        need(4);
        return in.readInt();
    }

    @Override
    public long readLong() throws IOException {
        need(8);
        return in.readLong();
    }

    @Override
    public int getPos() {
        return in.getPos();
    }

    @Override
    public void setPos(int pos) {
        in.setPos(pos);
    }

    /** Not exposed: a caller reading the array directly would bypass the bounds. */
    @Override
    public byte[] internalByteArray() {
        return null;
    }

    @Override
    public java.nio.ByteBuffer internalByteBuffer() {
        return null;
    }

    @Override
    public void close() {
        in.close();
    }

    @Override
    public long[] unpackLongArrayDeltaCompression(int size) throws IOException {
        need(size); // each packed long takes at least one byte: checked before the array is allocated
        long[] out = in.unpackLongArrayDeltaCompression(size);
        checkWithin();
        return out;
    }

    @Override
    public void unpackLongArray(long[] ret, int i, int len) throws IOException {
        need(len - i);
        in.unpackLongArray(ret, i, len);
        checkWithin();
    }

    @Override
    public void unpackIntArray(int[] ret, int i, int len) throws IOException {
        need(len - i);
        in.unpackIntArray(ret, i, len);
        checkWithin();
    }

    @Override
    public void unpackLongSkip(int count) throws IOException {
        need(count);
        in.unpackLongSkip(count);
        checkWithin();
    }
}
