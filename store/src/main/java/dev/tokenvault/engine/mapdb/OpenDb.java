package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import java.nio.file.Path;
import org.mapdb.DB;
import org.mapdb.HTreeMap;
import org.mapdb.Serializer;

/**
 * One open MapDB {@code DB} of a store: the volume its main file is written through, the records
 * ({@link RecordSlots}), the {@code meta} map and the index maps of every generation, in the layout
 * {@link StoreLayout#CURRENT}.
 */
record OpenDb(DB db, RedoVolume volume, RecordSlots records, HTreeMap<String, byte[]> meta,
              IndexGenerations generations) {
    private static final String META = "meta";

    /**
     * Opens (or, when {@code existed} is false, lays out) the store in {@code db}. A store of an earlier layout opens
     * with empty tables of the current layout beside its own maps, uncommitted: {@link MapDbEngine} upgrades it
     * before any read ({@link StoreLayout#upgrade}).
     *
     * @throws EngineException {@code UNSUPPORTED_FORMAT} for a MapDB file that is not a tokenvault store or has a newer
     *         layout; {@code READ_ONLY} for a store of an earlier layout opened read-only (only a writer may upgrade
     *         it)
     */
    static OpenDb of(DB db, RedoVolume volume, Path file, boolean existed, int indexCount) {
        if (existed) {
            if (!(db.exists(META) && (db.exists(IndexGenerations.TABLES) || db.exists(RecordSlots.MAP)
                    || db.exists(StoreLayout.FIRST_RECORDS)))) {
                throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "store file " + file
                        + " is a MapDB file but not a tokenvault store (it has no records or meta map)");
            }
            int layout = StoreLayout.of(db, file);
            if (layout != StoreLayout.CURRENT && volume.refusesWrites()) {
                throw new EngineException(EngineException.Kind.READ_ONLY, "the store " + file + " was written"
                        + " by an earlier tokenvault in map layout " + layout + "; open it once with write access to"
                        + " upgrade it to the current layout (" + StoreLayout.CURRENT + ")");
            }
        } else {
            StoreLayout.markNew(db);
        }
        RecordSlots records = RecordSlots.of(db);
        IndexGenerations generations = new IndexGenerations(db, indexCount);
        HTreeMap<String, byte[]> meta = db.hashMap(META, Serializer.STRING, Serializer.BYTE_ARRAY).createOrOpen();
        return new OpenDb(db, volume, records, meta, generations);
    }

    /**
     * Reads the slot table and the index tables from the store again: after MapDB rolled back uncommitted changes, or
     * after other instances changed them (the layout upgrade). Both keep their directories in memory.
     */
    void reload() {
        records.reload();
        generations.reload();
    }

    /** The index tables of the current generation. */
    IndexTable[] indexes() {
        return generations.currentMaps();
    }

    /** An index entry for the record of {@code id}: its slot's recid, 0 while it has no slot (then it is found by id). */
    private byte[] entryFor(String id) {
        return IndexEntry.of(records.recidOf(id), id);
    }

    /** Applies one change of a batch to the maps; it is durable once the {@code DB} commits. */
    void apply(Batch.Op op) {
        if (op instanceof Batch.PutRecord p) {
            records.put(p.id(), p.sealed());
        } else if (op instanceof Batch.RemoveRecord r) {
            records.remove(r.id());
        } else if (op instanceof Batch.PutIndex p) {
            indexes()[p.index()].put(p.key(), entryFor(p.id()));
        } else if (op instanceof Batch.RemoveIndex r) {
            indexes()[r.index()].remove(r.key());
        } else if (op instanceof Batch.PutMeta p) {
            meta.put(p.key(), p.value());
        } else if (op instanceof Batch.RemoveMeta r) {
            meta.remove(r.key());
        } else if (op instanceof Batch.PutIndexIn p) {
            generations.maps(p.generation(), true)[p.index()].put(p.key(), entryFor(p.id()));
        } else if (op instanceof Batch.RemoveIndexIn r) {
            generations.maps(r.generation(), true)[r.index()].remove(r.key());
        } else if (op instanceof Batch.SwitchIndexGeneration g) {
            generations.switchTo(g.generation());
        } else if (op instanceof Batch.ClearAll) {
            records.clear();
            generations.clearAll();
        }
    }
}
