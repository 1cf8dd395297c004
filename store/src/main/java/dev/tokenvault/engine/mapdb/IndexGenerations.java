package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import java.util.Arrays;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.mapdb.Atomic;
import org.mapdb.DB;
import org.mapdb.HTreeMap;
import org.mapdb.Serializer;

/**
 * The index maps of one open MapDB {@code DB}, by generation: MapDB's own record of the current generation, its maps,
 * and the maps of other generations opened so far. One instance per {@code DB} instance, so every path that reopens
 * the file starts afresh.
 *
 * <p>Generation {@code g} keeps index {@code i} in an {@link IndexTable} whose header recid the map
 * {@code indexTables} holds under the name {@code gen<g>.table<i>}; its values are {@link IndexEntry}s
 * ({@link StoreLayout#TABLES}). Stores of earlier layouts kept them in {@code HTreeMap}s named
 * {@code gen<g>.entries<i>} ({@link StoreLayout#SLOTS}) or {@code gen<g>.index<i>} (generation 0: {@code index<i>};
 * {@link StoreLayout#FIRST}); the upgrade empties those maps, and their names still count as used. MapDB cannot drop
 * a name, so emptied maps keep their names in the catalog, and emptied tables stay in {@code indexTables}: a
 * generation number is never used twice. Tables are named in a map of the engine's own rather than in MapDB's catalog
 * because MapDB keeps the objects of its catalog cached across a rollback: a table named there in a discarded batch
 * would come back with the discarded recid. Changes only under the engine's write lock.
 */
final class IndexGenerations {
    /** MapDB's own record of the current index generation; not in {@code meta}, which belongs to the caller. */
    static final String CURRENT = "indexGeneration";
    private static final String PREFIX = "gen";
    private static final String TABLE_SUFFIX = ".table";
    /** The slot layout's suffix ({@link StoreLayout#SLOTS}). */
    private static final String SLOTS_LAYOUT_SUFFIX = ".entries";
    /** The first layout's suffix ({@link StoreLayout#FIRST}). */
    private static final String FIRST_LAYOUT_SUFFIX = ".index";

    /** The map from table names to their header recids ({@link #tableName}). */
    static final String TABLES = "indexTables";

    private final DB db;
    private final int indexCount;
    private final HTreeMap<String, Long> registry;
    private final Atomic.Integer current;
    private final Map<Integer, IndexTable[]> others = new ConcurrentHashMap<>();
    /**
     * What {@link #current} holds, and its maps. Kept here because reading MapDB's atomic is a store read of its own
     * on every index lookup; it changes only through {@link #switchTo} and {@link #reload}, under the write lock.
     */
    private volatile int currentGeneration;
    private volatile IndexTable[] currentMaps;

    IndexGenerations(DB db, int indexCount) {
        this.db = db;
        this.indexCount = indexCount;
        this.current = db.atomicInteger(CURRENT).createOrOpen();
        this.registry = registry(db);
        this.currentGeneration = current.get();
        this.currentMaps = open(currentGeneration);
    }

    /** The current generation. */
    int current() {
        return currentGeneration;
    }

    /** The index maps of the current generation. */
    IndexTable[] currentMaps() {
        return currentMaps;
    }

    /**
     * The index tables of {@code generation}; {@code null} when they do not exist and {@code create} is false.
     */
    IndexTable[] maps(int generation, boolean create) {
        if (generation == currentGeneration) {
            return currentMaps;
        }
        IndexTable[] maps = others.get(generation);
        if (maps != null) {
            return maps;
        }
        if (!create && !registry.containsKey(tableName(generation, 0))) {
            return null;
        }
        maps = open(generation);
        others.put(generation, maps);
        return maps;
    }

    /** Makes {@code generation} current (part of a batch: it commits with it). Under the write lock. */
    void switchTo(int generation) {
        IndexTable[] maps = maps(generation, true);
        others.remove(generation);
        others.put(currentGeneration, currentMaps);
        current.set(generation);
        currentGeneration = generation;
        currentMaps = maps;
    }

    /**
     * Reads the generations and their tables from the store again: after MapDB rolled back uncommitted changes, and
     * after the tables were changed through other instances (the layout upgrade). An {@link IndexTable} keeps its
     * directory in memory, so no stale instance may be read after either.
     */
    void reload() {
        others.clear();
        currentGeneration = current.get();
        currentMaps = open(currentGeneration);
    }

    /** Empties every index map of every generation (part of a batch that removes every record). */
    void clearAll() {
        for (IndexTable index : currentMaps) {
            index.clear();
        }
        for (int g : named()) {
            IndexTable[] maps = maps(g, false);
            if (maps != null && maps != currentMaps) {
                for (IndexTable index : maps) {
                    index.clear();
                }
            }
        }
    }

    /** The current generation and every other one whose maps still hold entries. */
    SortedSet<Integer> nonEmpty() {
        int now = currentGeneration;
        SortedSet<Integer> out = new TreeSet<>();
        for (int g : named()) {
            IndexTable[] maps = maps(g, false);
            if (g == now || (maps != null && Arrays.stream(maps).anyMatch(m -> !m.isEmpty()))) {
                out.add(g);
            }
        }
        return out;
    }

    /** Every generation named in MapDB's catalog, the current one included. */
    SortedSet<Integer> named() {
        SortedSet<Integer> out = new TreeSet<>();
        out.add(currentGeneration);
        for (String name : registry.keySet()) {
            int g = tableGeneration(name, indexCount);
            if (g >= 0) {
                out.add(g);
            }
        }
        for (String name : db.getAllNames()) {
            if (name.equals(firstLayoutName(0, 0))) {
                out.add(0);
            } else {
                int g = generationOf(name, SLOTS_LAYOUT_SUFFIX + 0);
                if (g < 0) {
                    g = generationOf(name, FIRST_LAYOUT_SUFFIX + 0);
                }
                if (g >= 0) {
                    out.add(g);
                }
            }
        }
        return out;
    }

    /** The generation in {@code gen<g><suffix>}, or -1 when {@code name} is not such a name. */
    private static int generationOf(String name, String suffix) {
        if (!name.startsWith(PREFIX) || !name.endsWith(suffix)) {
            return -1;
        }
        try {
            return Integer.parseInt(name.substring(PREFIX.length(), name.length() - suffix.length()));
        } catch (NumberFormatException notOurs) {
            return -1; // a name this engine did not make: not a generation
        }
    }

    /**
     * At open: empties the index maps of every generation of {@code engine} but the current one (a build that a crash
     * interrupted, or the old generation of a switch whose clean-up did not finish), {@code chunk} entries per commit.
     * They are never read; a generation too damaged to clear is left as it is, since nothing will ever read it and new
     * generations take new numbers. A catalog too damaged to list them is left too: it shows at the first real read,
     * with the error that read gets.
     */
    static void discardStale(MapDbEngine engine, int chunk) {
        SortedSet<Integer> named;
        int current;
        try {
            named = engine.namedIndexGenerations();
            current = engine.indexGeneration();
        } catch (EngineException e) {
            if (e.kind() != EngineException.Kind.CORRUPT) {
                throw e;
            }
            return;
        }
        for (int g : named) {
            if (g != current) {
                try {
                    engine.clearIndexGeneration(g, chunk);
                } catch (EngineException e) {
                    if (e.kind() != EngineException.Kind.CORRUPT) {
                        throw e;
                    }
                }
            }
        }
    }

    /** Up to {@code max} removals of the entries of {@code generation}; empty when it holds none. */
    Batch removals(int generation, int max) {
        Batch batch = new Batch();
        IndexTable[] generationMaps = maps(generation, false);
        if (generationMaps == null) {
            return batch;
        }
        for (int i = 0; i < generationMaps.length && batch.ops().size() < max; i++) {
            for (byte[] key : generationMaps[i].keys(max - batch.ops().size())) {
                batch.removeIndexIn(generation, i, key);
            }
        }
        return batch;
    }

    /** The generation of {@code name} when it names an index table, else -1. */
    static int tableGeneration(String name, int indexCount) {
        for (int i = 0; i < indexCount; i++) {
            int g = generationOf(name, TABLE_SUFFIX + i);
            if (g >= 0) {
                return g;
            }
        }
        return -1;
    }

    /** Whether {@code name} is an index map of an earlier layout (emptied by the upgrade, kept for its name). */
    static boolean isEarlierLayoutMap(String name, int indexCount) {
        for (int i = 0; i < indexCount; i++) {
            if (name.equals(firstLayoutName(0, i)) || generationOf(name, SLOTS_LAYOUT_SUFFIX + i) >= 0
                    || generationOf(name, FIRST_LAYOUT_SUFFIX + i) >= 0) {
                return true;
            }
        }
        return false;
    }

    private IndexTable[] open(int generation) {
        IndexTable[] tables = new IndexTable[indexCount];
        for (int i = 0; i < indexCount; i++) {
            tables[i] = table(db, registry, tableName(generation, i));
        }
        return tables;
    }

    /** The map of {@code db} that names its index tables ({@link #TABLES}), created (uncommitted) when absent. */
    static HTreeMap<String, Long> registry(DB db) {
        return db.hashMap(TABLES, Serializer.STRING, Serializer.LONG).createOrOpen();
    }

    /** The index table {@code registry} names {@code name}, created (uncommitted) when absent. */
    static IndexTable table(DB db, HTreeMap<String, Long> registry, String name) {
        Long header = registry.get(name);
        if (header != null) {
            return IndexTable.open(db.getStore(), header);
        }
        IndexTable table = IndexTable.create(db.getStore());
        registry.put(name, table.id());
        return table;
    }

    static String tableName(int generation, int index) {
        return PREFIX + generation + TABLE_SUFFIX + index;
    }

    /** The name of index {@code index} of {@code generation} in the slot layout (an {@code HTreeMap}). */
    static String slotsLayoutName(int generation, int index) {
        return PREFIX + generation + SLOTS_LAYOUT_SUFFIX + index;
    }

    /** The name of index {@code index} of {@code generation} in the first layout (values: ids). */
    static String firstLayoutName(int generation, int index) {
        return generation == 0 ? "index" + index : PREFIX + generation + FIRST_LAYOUT_SUFFIX + index;
    }
}
