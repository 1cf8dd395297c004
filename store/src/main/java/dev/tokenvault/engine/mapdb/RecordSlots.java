package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.RecordEngine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.mapdb.DB;
import org.mapdb.DBException;
import org.mapdb.DataInput2;
import org.mapdb.DataOutput2;
import org.mapdb.HTreeMap;
import org.mapdb.Serializer;
import org.mapdb.Store;

/**
 * The records of a store: each sealed record is a MapDB record of its own, a <i>slot</i> holding the record's id and
 * sealed bytes, and an {@link IndexTable} ({@code records} in the map {@code indexTables}) names each id's slot by its
 * MapDB recid.
 *
 * <p>Why: an index entry holds the recid of its record's slot besides the id ({@link IndexEntry}), so a lookup by an
 * indexed value is one index page and one direct read of the slot, and a lookup by id is one page of this table and
 * the slot. The slot's own id makes a read by recid safe: an entry whose recid no longer holds its record's slot (a
 * damaged or stale entry, a recid MapDB reused) is detected, and the record is then found by its id. Layout 2 kept
 * the same slots, named by the {@code HTreeMap} {@code recordSlots} ({@link #adoptSlotMap}).
 */
final class RecordSlots {
    /** Layout 2's map id → recid of the record's slot; emptied by the upgrade, its name kept. */
    static final String MAP = "recordSlots";
    /** The name of the slot table in {@code indexTables}. */
    static final String TABLE = "records";

    /** A slot: the id, then the sealed record, each with its length. */
    static final Serializer<RecordEngine.Entry> SLOT = new Serializer<>() {
        @Override
        public void serialize(DataOutput2 out, RecordEngine.Entry slot) throws IOException {
            byte[] id = slot.id().getBytes(StandardCharsets.UTF_8);
            out.packInt(id.length);
            out.write(id);
            out.packInt(slot.sealed().length);
            out.write(slot.sealed());
        }

        @Override
        public RecordEngine.Entry deserialize(DataInput2 in, int available) throws IOException {
            byte[] id = new byte[in.unpackInt()]; // RecordInput bounds every length by the slot's size
            in.readFully(id);
            byte[] sealed = new byte[in.unpackInt()];
            in.readFully(sealed);
            return new RecordEngine.Entry(new String(id, StandardCharsets.UTF_8), sealed);
        }
    };

    private final DB db;
    private final Store store;
    private IndexTable recids;

    private RecordSlots(DB db) {
        this.db = db;
        this.store = db.getStore();
        reload();
    }

    /** The records of {@code db}; creates the (empty) slot table, uncommitted, when absent. */
    static RecordSlots of(DB db) {
        return new RecordSlots(db);
    }

    /** Reads the slot table from the store again: after a rollback, or after another instance changed it. */
    void reload() {
        recids = IndexGenerations.table(db, IndexGenerations.registry(db), TABLE);
    }

    /**
     * The key of {@code id} in the slot table: its UTF-8 bytes, or for an id longer than a table key (a record id has
     * at most 128 characters, up to 384 bytes) a zero byte and its SHA-256. An id never starts with a zero byte
     * (control characters are refused), so the two forms never meet; the slot's own id is checked on every read.
     */
    static byte[] key(String id) {
        byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
        if (utf8.length <= IndexPages.MAX_KEY_BYTES) {
            return utf8;
        }
        try {
            byte[] out = new byte[1 + 32];
            System.arraycopy(MessageDigest.getInstance("SHA-256").digest(utf8), 0, out, 1, 32);
            return out;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** The sealed record of {@code id}, or {@code null}. */
    byte[] get(String id) {
        long recid = recidOf(id);
        return recid == 0 ? null : slot(recid, id).sealed();
    }

    /**
     * The sealed record of {@code id}, which an index entry says is in the slot at {@code recid} (0: unknown), or
     * {@code null}. Reads the slot directly when it holds that id, else looks the id up.
     */
    byte[] get(long recid, String id) {
        if (recid != 0) {
            try {
                RecordEngine.Entry slot = store.get(recid, SLOT);
                if (slot != null && slot.id().equals(id)) {
                    return slot.sealed();
                }
            } catch (DBException notASlot) {
                // a recid that holds no slot (deleted, never allocated, or another structure's record): by id below
            }
        }
        return get(id);
    }

    /** The recid of the slot of {@code id}; 0 when it has none. */
    long recidOf(String id) {
        byte[] value = recids.get(key(id));
        return value == null ? 0 : recid(value);
    }

    private static long recid(byte[] value) {
        if (value.length != Long.BYTES) {
            throw new DBException.DataCorruption("a slot table entry is not a record pointer");
        }
        return ByteBuffer.wrap(value).getLong();
    }

    private static byte[] value(long recid) {
        return ByteBuffer.allocate(Long.BYTES).putLong(recid).array();
    }

    /** The slot at {@code recid}, which the slot table names for {@code id}. */
    private RecordEngine.Entry slot(long recid, String id) {
        RecordEngine.Entry slot = store.get(recid, SLOT);
        if (slot == null || !slot.id().equals(id)) {
            throw holdsAnother();
        }
        return slot;
    }

    private static DBException.DataCorruption holdsAnother() {
        return new DBException.DataCorruption("the slot the records table names for a record holds another record");
    }

    /** Inserts or replaces the record of {@code id}; a replaced record keeps its slot, so index entries stay right. */
    void put(String id, byte[] sealed) {
        RecordEngine.Entry slot = new RecordEngine.Entry(id, sealed);
        byte[] key = key(id);
        byte[] recid = recids.get(key);
        if (recid == null) {
            recids.put(key, value(store.put(slot, SLOT)));
        } else {
            store.update(recid(recid), slot, SLOT);
        }
    }

    void remove(String id) {
        byte[] removed = recids.remove(key(id));
        if (removed != null) {
            store.delete(recid(removed), SLOT);
        }
    }

    void clear() {
        List<Long> slots = new ArrayList<>();
        recids.forEach((key, value) -> slots.add(recid(value)));
        for (long recid : slots) {
            store.delete(recid, SLOT);
        }
        recids.clear();
    }

    /** Calls {@code action} with every id and its sealed record. */
    void forEach(BiConsumer<String, byte[]> action) {
        recids.forEach((key, value) -> {
            RecordEngine.Entry slot = store.get(recid(value), SLOT);
            if (slot == null || !Arrays.equals(key(slot.id()), key)) {
                throw holdsAnother();
            }
            action.accept(slot.id(), slot.sealed());
        });
    }

    long size() {
        return recids.size();
    }

    /**
     * Names every slot of layout 2's {@code recordSlots} map in the slot table, and empties the map (part of the
     * upgrade, {@link StoreLayout}).
     */
    void adoptSlotMap() {
        if (!db.exists(MAP)) {
            return;
        }
        HTreeMap<String, Long> old = db.hashMap(MAP, Serializer.STRING, Serializer.LONG).open();
        for (Map.Entry<String, Long> e : old.getEntries()) {
            recids.put(key(e.getKey()), value(e.getValue()));
        }
        old.clear();
    }

    /**
     * Copies every record of {@code from} into new slots of {@code to} (compaction): the slots get new recids there,
     * which {@link IndexEntry#retarget} then gives the copied index entries.
     */
    static RecordSlots copy(DB from, DB to, Runnable everyChunk, int chunk) {
        RecordSlots source = of(from);
        RecordSlots target = of(to);
        int[] n = {0};
        source.forEach((id, sealed) -> {
            target.put(id, sealed);
            if (++n[0] % chunk == 0) {
                everyChunk.run();
            }
        });
        return target;
    }
}
