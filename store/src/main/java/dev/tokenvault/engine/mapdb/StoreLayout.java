package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.EngineException;
import java.nio.file.Path;
import java.util.Map;
import org.mapdb.DB;
import org.mapdb.HTreeMap;
import org.mapdb.Serializer;

/**
 * The version of a store file's map layout, kept in MapDB's own atomic {@code layout}, and the upgrade of a store of
 * the first layout at open.
 * <ul>
 *   <li>{@link #FIRST} (no {@code layout} atomic): the map {@code records} (id → sealed record) and index maps
 *       {@code index<i>} / {@code gen<g>.index<i>} (blind value → id). A lookup walked an index map, then the
 *       records map.</li>
 *   <li>{@link #SLOTS}: each record in a slot of its own, named by {@code recordSlots} (id → recid,
 *       {@link RecordSlots}), and index maps {@code gen<g>.entries<i>} (blind value → recid and id,
 *       {@link IndexEntry}). A lookup walks one map and reads one slot.</li>
 *   <li>{@link #TABLES}: the same slots, named by the table {@code records}, and the same index entries in tables
 *       {@code gen<g>.table<i>}: hash tables of tokenvault's own ({@link IndexTable}), named in the map
 *       {@code indexTables}. A lookup reads one table page and one slot.</li>
 * </ul>
 */
final class StoreLayout {
    static final int FIRST = 1;
    static final int SLOTS = 2;
    static final int TABLES = 3;
    /** The layout this engine writes. */
    static final int CURRENT = TABLES;
    /** MapDB's own record of the layout; absent in a store of the first layout. */
    static final String NAME = "layout";
    /** The first layout's records map. */
    static final String FIRST_RECORDS = "records";

    private StoreLayout() {
    }

    /** Marks a store as of the current layout: a new one (its {@code DB} still empty), or one just upgraded. */
    static void markNew(DB db) {
        db.atomicInteger(NAME).createOrOpen().set(CURRENT);
    }

    /**
     * The layout of an existing store's {@code db}.
     *
     * @throws EngineException {@code UNSUPPORTED_FORMAT} for a layout newer than this engine's, or a number that no
     *         layout has
     */
    static int of(DB db, Path file) {
        if (!db.exists(NAME)) {
            return FIRST;
        }
        int layout = db.atomicInteger(NAME).open().get();
        if (layout > CURRENT) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "store file " + where(file)
                    + " has map layout " + layout + "; this tokenvault reads layouts up to " + CURRENT);
        }
        if (layout != SLOTS && layout != TABLES) {
            throw new EngineException(EngineException.Kind.CORRUPT, "store file " + where(file)
                    + " names map layout " + layout + ", which no tokenvault wrote");
        }
        return layout;
    }

    /**
     * Stages the rewrite of a store of an earlier layout ({@code layout}) into the current one; the caller commits it
     * as one commit through the redo log: a crash before it leaves the earlier layout, which the next open upgrades
     * again; after it, the current one. The current generation's index entries move into index tables (from the first
     * layout, every record moves into a slot too, and the entries point at the slots), and every map of an earlier
     * layout is emptied (their names stay in MapDB's catalog, which cannot drop one). Entries of other generations are
     * left behind: they are never read again.
     */
    static void upgrade(DB db, int indexCount, int layout) {
        RecordSlots slots = RecordSlots.of(db);
        HTreeMap<String, byte[]> oldRecords = layout == FIRST
                ? db.hashMap(FIRST_RECORDS, Serializer.STRING, Serializer.BYTE_ARRAY).createOrOpen() : null;
        if (oldRecords != null) {
            for (Map.Entry<String, byte[]> e : oldRecords.getEntries()) {
                slots.put(e.getKey(), e.getValue());
            }
        } else {
            slots.adoptSlotMap();
        }
        int current = db.atomicInteger(IndexGenerations.CURRENT).createOrOpen().get();
        HTreeMap<String, Long> tables = IndexGenerations.registry(db);
        for (int i = 0; i < indexCount; i++) {
            IndexTable table = IndexGenerations.table(db, tables, IndexGenerations.tableName(current, i));
            HTreeMap<byte[], String> firstIndex = firstLayoutIndex(db, current, i);
            if (firstIndex != null) {
                for (Map.Entry<byte[], String> e : firstIndex.getEntries()) {
                    table.put(e.getKey(), IndexEntry.of(slots.recidOf(e.getValue()), e.getValue()));
                }
            }
            HTreeMap<byte[], byte[]> slotsIndex = slotsLayoutIndex(db, current, i);
            if (slotsIndex != null) {
                for (Map.Entry<byte[], byte[]> e : slotsIndex.getEntries()) {
                    table.put(e.getKey(), e.getValue());
                }
            }
        }
        for (int g : new IndexGenerations(db, indexCount).named()) {
            for (int i = 0; i < indexCount; i++) {
                HTreeMap<byte[], String> firstIndex = firstLayoutIndex(db, g, i);
                if (firstIndex != null) {
                    firstIndex.clear();
                }
                HTreeMap<byte[], byte[]> slotsIndex = slotsLayoutIndex(db, g, i);
                if (slotsIndex != null) {
                    slotsIndex.clear();
                }
            }
        }
        if (oldRecords != null) {
            oldRecords.clear();
        }
        markNew(db);
    }

    /**
     * At a writable open, before any read: when {@code store} is of an earlier layout, rewrites it into the current one
     * ({@link #upgrade}) as one commit through the redo log, so that a crash leaves either layout whole. A map of an
     * earlier layout too damaged to read fails the open with {@code CORRUPT}, and the store is left as it was. Called
     * by {@link MapDbEngine} under its write lock.
     */
    static void upgradeAtOpen(RecoverableDb store) {
        OpenDb o = store.live();
        int layout = of(o.db(), store.path());
        if (layout == CURRENT) {
            return;
        }
        try {
            upgrade(o.db(), store.indexCount(), layout);
            o.reload(); // the upgrade filled the tables through instances of its own
        } catch (RuntimeException | Error e) {
            EngineException failure = new EngineException(MapDbErrors.isIo(e) ? EngineException.Kind.IO
                    : EngineException.Kind.CORRUPT, "cannot upgrade the store " + store.path() + " to the current map"
                    + " layout: " + MapDbErrors.rootMessage(e), e);
            store.discard(failure);
            if (e instanceof Error err && !(e instanceof AssertionError)) {
                throw err; // AssertionError: MapDB's always-on checks meeting a damaged map, so CORRUPT
            }
            throw failure;
        }
        store.commit();
    }

    private static HTreeMap<byte[], String> firstLayoutIndex(DB db, int generation, int index) {
        String name = IndexGenerations.firstLayoutName(generation, index);
        return db.exists(name) ? db.hashMap(name, Serializer.BYTE_ARRAY, Serializer.STRING).open() : null;
    }

    private static HTreeMap<byte[], byte[]> slotsLayoutIndex(DB db, int generation, int index) {
        String name = IndexGenerations.slotsLayoutName(generation, index);
        return db.exists(name) ? db.hashMap(name, Serializer.BYTE_ARRAY, Serializer.BYTE_ARRAY).open() : null;
    }

    private static Object where(Path file) {
        return file == null ? "in memory" : file;
    }
}
