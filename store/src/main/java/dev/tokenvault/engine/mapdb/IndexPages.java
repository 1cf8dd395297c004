package dev.tokenvault.engine.mapdb;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.mapdb.DBException;
import org.mapdb.DataInput2;
import org.mapdb.DataOutput2;
import org.mapdb.Serializer;
import org.mapdb.Store;

/**
 * The records an {@link IndexTable} is made of, and their formats: the header, the directory list and chunks (lists
 * of recids), and the pages of fixed size with their packed entries, read whole for a change or probed for one key on
 * a lookup. Every count and length read is checked against the record, so a damaged record is
 * {@link DBException.DataCorruption}, never an allocation the size of the damage.
 */
final class IndexPages {
    /** Longest key and value a table holds. */
    static final int MAX_KEY_BYTES = 255;
    static final int MAX_VALUE_BYTES = 1024;

    private static final int MAGIC = 0x54564958; // "TVIX"
    static final int PAGE_BYTES = 2048;
    private static final int PAGE_HEADER = Integer.BYTES + Integer.BYTES + Long.BYTES;
    static final int PAYLOAD = PAGE_BYTES - PAGE_HEADER;
    private static final int ENTRY_OVERHEAD = Long.BYTES + 1 + Short.BYTES;
    /** Page recids per directory chunk. */
    static final int CHUNK = 1024;

    private IndexPages() {
    }

    /** An entry's value length, checked before anything is allocated for it. */
    private static int valueLength(DataInput2 in) throws IOException {
        int length = in.readShort() & 0xFFFF;
        if (length > MAX_VALUE_BYTES) {
            throw new DBException.DataCorruption("an index table entry claims a value of " + length + " bytes");
        }
        return length;
    }

    record Header(int level, int split, long count, long bytes, long list) { }

    static final Serializer<Header> HEADER = new Serializer<>() {
        @Override
        public void serialize(DataOutput2 out, Header h) throws IOException {
            out.writeInt(MAGIC);
            out.writeInt(h.level);
            out.writeInt(h.split);
            out.writeLong(h.count);
            out.writeLong(h.bytes);
            out.writeLong(h.list);
        }

        @Override
        public Header deserialize(DataInput2 in, int available) throws IOException {
            if (in.readInt() != MAGIC) {
                throw new DBException.DataCorruption("an index table's header has no table magic");
            }
            return new Header(in.readInt(), in.readInt(), in.readLong(), in.readLong(), in.readLong());
        }
    };

    /** A list of recids: a count, then the recids (the directory list, and each directory chunk). */
    private static final class Recids implements Serializer<long[]> {
        private final int max;

        Recids(int max) {
            this.max = max;
        }

        @Override
        public void serialize(DataOutput2 out, long[] recids) throws IOException {
            out.writeInt(recids.length);
            for (long recid : recids) {
                out.writeLong(recid);
            }
        }

        @Override
        public long[] deserialize(DataInput2 in, int available) throws IOException {
            int n = in.readInt();
            if (n < 0 || n > max || n > (available - Integer.BYTES) / Long.BYTES) {
                throw new DBException.DataCorruption("an index table's directory claims " + n + " entries");
            }
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = in.readLong();
            }
            return out;
        }
    }

    static final Serializer<long[]> LIST = new Recids(Integer.MAX_VALUE);
    static final Serializer<long[]> CHUNK_RECORD = new Recids(CHUNK);

    /** One entry of a page. */
    record Item(long fingerprint, byte[] key, byte[] value) {
        int size() {
            return ENTRY_OVERHEAD + key.length + value.length;
        }
    }

    /** A page read whole, for a change. */
    static final class Page {
        long recid;
        long next;
        int used;
        final List<Item> items = new ArrayList<>();

        Page(long recid) {
            this.recid = recid;
        }

        void add(Item item) {
            items.add(item);
            used += item.size();
        }

        void write(Store store) {
            store.update(recid, this, PAGE);
        }
    }

    static final Serializer<Page> PAGE = new Serializer<>() {
        @Override
        public void serialize(DataOutput2 out, Page page) throws IOException {
            out.writeInt(page.used);
            out.writeInt(page.items.size());
            out.writeLong(page.next);
            for (Item item : page.items) {
                out.writeLong(item.fingerprint);
                out.writeByte(item.key.length);
                out.write(item.key);
                out.writeShort(item.value.length);
                out.write(item.value);
            }
            out.write(new byte[PAYLOAD - page.used]);
        }

        @Override
        public Page deserialize(DataInput2 in, int available) throws IOException {
            PageHeader h = PageHeader.read(in, available);
            Page page = new Page(0);
            page.next = h.next;
            for (int i = 0; i < h.count; i++) {
                long fingerprint = in.readLong();
                byte[] key = new byte[in.readUnsignedByte()];
                in.readFully(key);
                byte[] value = new byte[valueLength(in)];
                in.readFully(value);
                page.add(new Item(fingerprint, key, value));
            }
            if (page.used != h.used) {
                throw new DBException.DataCorruption("an index table page's entries do not fill what it claims");
            }
            in.skipBytes(PAYLOAD - page.used);
            return page;
        }
    };

    /** The fixed start of a page, checked. */
    private record PageHeader(int used, int count, long next) {
        static PageHeader read(DataInput2 in, int available) throws IOException {
            if (available != PAGE_BYTES) {
                throw new DBException.DataCorruption("an index table page has " + available + " bytes, not "
                        + PAGE_BYTES);
            }
            PageHeader h = new PageHeader(in.readInt(), in.readInt(), in.readLong());
            if (h.used < 0 || h.used > PAYLOAD || h.count < 0 || h.count > PAYLOAD / ENTRY_OVERHEAD || h.next < 0) {
                throw new DBException.DataCorruption("an index table page's header is damaged");
            }
            return h;
        }
    }

    /**
     * The read of one page on a lookup: compares each entry's fingerprint, then its key, and reads only the value of
     * the entry that matches. Keeps the page's next recid for a lookup that goes on down the chain.
     */
    static final class Probe implements Serializer<Probe> {
        private final long fingerprint;
        private final byte[] key;
        byte[] value;
        long next;

        Probe(long fingerprint, byte[] key) {
            this.fingerprint = fingerprint;
            this.key = key;
        }

        @Override
        public Probe deserialize(DataInput2 in, int available) throws IOException {
            PageHeader h = PageHeader.read(in, available);
            next = h.next;
            int read = 0;
            for (int i = 0; i < h.count && value == null; i++) {
                long f = in.readLong();
                int keyLength = in.readUnsignedByte();
                boolean match = false;
                if (f == fingerprint && keyLength == key.length) {
                    match = sameKey(in);
                } else {
                    in.skipBytes(keyLength);
                }
                int valueLength = valueLength(in);
                if (match) {
                    value = new byte[valueLength];
                    in.readFully(value);
                } else {
                    in.skipBytes(valueLength);
                }
                read += ENTRY_OVERHEAD + keyLength + valueLength;
            }
            if (read > h.used) {
                throw new DBException.DataCorruption("an index table page's entries overrun what it claims");
            }
            in.skipBytes(PAYLOAD - read); // to the record's end, where a whole read of the page stops too
            return this;
        }

        private boolean sameKey(DataInput2 in) throws IOException {
            boolean same = true;
            for (byte b : key) {
                same &= in.readByte() == b;
            }
            return same;
        }

        @Override
        public void serialize(DataOutput2 out, Probe value) {
            throw new UnsupportedOperationException("a probe only reads");
        }
    }
}
