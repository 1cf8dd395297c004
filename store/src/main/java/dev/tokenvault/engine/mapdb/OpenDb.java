package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import java.nio.file.Path;
import org.mapdb.DB;
import org.mapdb.HTreeMap;
import org.mapdb.Serializer;

/**
 * One open MapDB {@code DB} of a store: the volume its main file is written through, the {@code records} and
 * {@code meta} maps and the index maps of every generation.
 */
record OpenDb(DB db, RedoVolume volume, HTreeMap<String, byte[]> records, HTreeMap<String, byte[]> meta,
              IndexGenerations generations) {
    private static final String RECORDS = "records";
    private static final String META = "meta";

    /**
     * Opens (or, when {@code existed} is false, lays out) the store in {@code db}.
     *
     * @throws EngineException {@code UNSUPPORTED_FORMAT} for a MapDB file that is not a tokenvault store
     */
    static OpenDb of(DB db, RedoVolume volume, Path file, boolean existed, int indexCount) {
        if (existed && !(db.exists(RECORDS) && db.exists(META))) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "store file " + file
                    + " is a MapDB file but not a tokenvault store (it has no records or meta map)");
        }
        HTreeMap<String, byte[]> records = db.hashMap(RECORDS, Serializer.STRING, Serializer.BYTE_ARRAY).createOrOpen();
        IndexGenerations generations = new IndexGenerations(db, indexCount);
        HTreeMap<String, byte[]> meta = db.hashMap(META, Serializer.STRING, Serializer.BYTE_ARRAY).createOrOpen();
        return new OpenDb(db, volume, records, meta, generations);
    }

    /** The index maps of the current generation. */
    HTreeMap<byte[], String>[] indexes() {
        return generations.currentMaps();
    }

    /** Applies one change of a batch to the maps; it is durable once the {@code DB} commits. */
    void apply(Batch.Op op) {
        if (op instanceof Batch.PutRecord p) {
            records.put(p.id(), p.sealed());
        } else if (op instanceof Batch.RemoveRecord r) {
            records.remove(r.id());
        } else if (op instanceof Batch.PutIndex p) {
            indexes()[p.index()].put(p.key(), p.id());
        } else if (op instanceof Batch.RemoveIndex r) {
            indexes()[r.index()].remove(r.key());
        } else if (op instanceof Batch.PutMeta p) {
            meta.put(p.key(), p.value());
        } else if (op instanceof Batch.RemoveMeta r) {
            meta.remove(r.key());
        } else if (op instanceof Batch.PutIndexIn p) {
            generations.maps(p.generation(), true)[p.index()].put(p.key(), p.id());
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
