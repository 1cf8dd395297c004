package dev.tokenvault.engine.mapdb;

import java.nio.ByteBuffer;
import org.mapdb.DB;
import org.mapdb.Serializer;

/**
 * The raw records of an {@link IndexTable}, read from a store opened with MapDB directly, for tests that damage them.
 * Offsets as {@link IndexPages} writes them: the header's directory list recid at byte 28, a list's or chunk's first
 * recid at byte 4 (after its count), a page's entry count at byte 4 and its next page's recid at byte 8.
 */
public final class TableRecords {
    private TableRecords() {
    }

    /** The recid of the first directory chunk of the table named {@code table} in {@code indexTables}. */
    public static long firstChunk(DB db, String table) {
        long header = db.hashMap(IndexGenerations.TABLES, Serializer.STRING, Serializer.LONG).open().get(table);
        long list = ByteBuffer.wrap(raw(db, header)).getLong(28);
        return ByteBuffer.wrap(raw(db, list)).getLong(4);
    }

    /** The bytes of the record at {@code recid}. */
    public static byte[] raw(DB db, long recid) {
        return db.getStore().get(recid, Serializer.BYTE_ARRAY_NOSIZE);
    }

    /** Overwrites the record at {@code recid} with {@code bytes} (uncommitted). */
    public static void write(DB db, long recid, byte[] bytes) {
        db.getStore().update(recid, bytes, Serializer.BYTE_ARRAY_NOSIZE);
    }
}
