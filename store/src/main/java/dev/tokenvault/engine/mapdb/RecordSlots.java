package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.RecordEngine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * sealed bytes, and the map {@code recordSlots} names each id's slot by its MapDB recid.
 *
 * <p>Why: an index entry holds the recid of its record's slot besides the id ({@link IndexEntry}), so a lookup by an
 * indexed value is one walk of the index map and one direct read of the slot, instead of a second map walk by id.
 * The slot's own id makes that read safe: an entry whose recid no longer holds its record's slot (a damaged or stale
 * entry, a recid MapDB reused) is detected, and the record is then found by its id, as before the slot layout.
 */
final class RecordSlots {
    /** The map id → recid of the record's slot. */
    static final String MAP = "recordSlots";

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

    /** Segments, directory node size and levels of the maps this engine creates: 2^28 hash buckets. */
    private static final int SEGMENTS = 8;
    private static final int NODE_SLOTS = 32;
    private static final int LEVELS = 5;

    private final Store store;
    private final HTreeMap<String, Long> recids;

    private RecordSlots(Store store, HTreeMap<String, Long> recids) {
        this.store = store;
        this.recids = recids;
    }

    /** The records of {@code db}; creates the (empty) map when absent. */
    static RecordSlots of(DB db) {
        return new RecordSlots(db.getStore(), map(db, MAP, Serializer.STRING, Serializer.LONG));
    }

    /**
     * A map of the slot layout (the slot map, and each index map): values inline in the map's leaves, so that reading
     * an entry reads no record besides the leaf.
     *
     * <p>Directory nodes of {@value #NODE_SLOTS} slots over {@value #LEVELS} levels, not MapDB's default of 128 over
     * 4: MapDB's write-ahead store deserialises a whole node at each level of a walk, and the narrower nodes made a
     * lookup 20 to 35 % faster at 1,000 to 1,000,000 entries ({@code IndexStructureBenchmark}, bench/README.md). A
     * map keeps the layout it was created with (MapDB records it in its catalog), so the maps of older stores keep
     * theirs until {@code compact()} or an index-key rotation creates them anew.
     */
    static <K, V> HTreeMap<K, V> map(DB db, String name, Serializer<K> keys, Serializer<V> values) {
        return db.hashMap(name, keys, values).valueInline().layout(SEGMENTS, NODE_SLOTS, LEVELS).createOrOpen();
    }

    /** The sealed record of {@code id}, or {@code null}. */
    byte[] get(String id) {
        Long recid = recids.get(id);
        return recid == null ? null : slot(recid, id).sealed();
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
        Long recid = recids.get(id);
        return recid == null ? 0 : recid;
    }

    /** The slot at {@code recid}, which {@code recordSlots} names for {@code id}. */
    private RecordEngine.Entry slot(long recid, String id) {
        RecordEngine.Entry slot = store.get(recid, SLOT);
        if (slot == null || !slot.id().equals(id)) {
            throw new DBException.DataCorruption("the slot the records map names for a record holds another record");
        }
        return slot;
    }

    /** Inserts or replaces the record of {@code id}; a replaced record keeps its slot, so index entries stay right. */
    void put(String id, byte[] sealed) {
        RecordEngine.Entry slot = new RecordEngine.Entry(id, sealed);
        Long recid = recids.get(id);
        if (recid == null) {
            recids.put(id, store.put(slot, SLOT));
        } else {
            store.update(recid, slot, SLOT);
        }
    }

    void remove(String id) {
        Long recid = recids.remove(id);
        if (recid != null) {
            store.delete(recid, SLOT);
        }
    }

    void clear() {
        for (Long recid : recids.values()) {
            store.delete(recid, SLOT);
        }
        recids.clear();
    }

    /** Calls {@code action} with every id and its sealed record. */
    void forEach(BiConsumer<String, byte[]> action) {
        for (Map.Entry<String, Long> e : recids.getEntries()) {
            action.accept(e.getKey(), slot(e.getValue(), e.getKey()).sealed());
        }
    }

    long size() {
        return recids.sizeLong();
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
