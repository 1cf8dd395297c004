package dev.tokenvault.engine.mapdb;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.mapdb.DBException;

/**
 * The value of an index entry ({@link IndexTable}; in layout 2 an {@code HTreeMap}'s): the recid of the record's
 * slot ({@link RecordSlots}; 0 when the record had none when the entry was written), then the record's id in UTF-8.
 * The id is what the entry means; the recid only saves the lookup in the slot table, and is checked against the
 * slot's own id on every read.
 */
final class IndexEntry {
    private static final int RECID_BYTES = Long.BYTES;

    private IndexEntry() {
    }

    static byte[] of(long recid, String id) {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(RECID_BYTES + idBytes.length).putLong(recid).put(idBytes).array();
    }

    static long recid(byte[] value) {
        return ByteBuffer.wrap(checked(value)).getLong();
    }

    static String id(byte[] value) {
        return new String(checked(value), RECID_BYTES, value.length - RECID_BYTES, StandardCharsets.UTF_8);
    }

    /** The same entry pointing at the slot {@code slots} holds for its id (compaction gives every slot a new recid). */
    static byte[] retarget(byte[] value, RecordSlots slots) {
        String id = id(value);
        return of(slots.recidOf(id), id);
    }

    private static byte[] checked(byte[] value) {
        if (value.length < RECID_BYTES) {
            throw new DBException.DataCorruption("an index entry is shorter than a record pointer");
        }
        return value;
    }
}
