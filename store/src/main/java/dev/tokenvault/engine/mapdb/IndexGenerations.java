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
 * <p>Generation {@code g} keeps index {@code i} in the map {@code gen<g>.entries<i>}, whose values are
 * {@link IndexEntry}s (the slot layout, {@link StoreLayout}). Stores of the first layout named them
 * {@code gen<g>.index<i>} (generation 0: {@code index<i>}) and held ids only; the upgrade empties those maps, and
 * their names still count as used. MapDB cannot drop a named map, so emptied maps keep their names in the catalog and
 * a generation number is never used twice. Creating maps writes MapDB's catalog: only under the engine's write lock.
 */
final class IndexGenerations {
    /** MapDB's own record of the current index generation; not in {@code meta}, which belongs to the caller. */
    static final String CURRENT = "indexGeneration";
    private static final String PREFIX = "gen";
    private static final String MAP_SUFFIX = ".entries";
    /** The first layout's suffix ({@link StoreLayout#FIRST}). */
    private static final String FIRST_LAYOUT_SUFFIX = ".index";

    private final DB db;
    private final int indexCount;
    private final Atomic.Integer current;
    private final Map<Integer, HTreeMap<byte[], byte[]>[]> others = new ConcurrentHashMap<>();
    /**
     * What {@link #current} holds, and its maps. Kept here because reading MapDB's atomic is a store read of its own
     * on every index lookup; it changes only through {@link #switchTo} and {@link #afterRollback}, under the write lock.
     */
    private volatile int currentGeneration;
    private volatile HTreeMap<byte[], byte[]>[] currentMaps;

    IndexGenerations(DB db, int indexCount) {
        this.db = db;
        this.indexCount = indexCount;
        this.current = db.atomicInteger(CURRENT).createOrOpen();
        this.currentGeneration = current.get();
        this.currentMaps = open(currentGeneration);
    }

    /** The current generation. */
    int current() {
        return currentGeneration;
    }

    /** The index maps of the current generation. */
    HTreeMap<byte[], byte[]>[] currentMaps() {
        return currentMaps;
    }

    /**
     * The index maps of {@code generation}; {@code null} when they do not exist and {@code create} is false.
     */
    HTreeMap<byte[], byte[]>[] maps(int generation, boolean create) {
        if (generation == currentGeneration) {
            return currentMaps;
        }
        HTreeMap<byte[], byte[]>[] maps = others.get(generation);
        if (maps != null) {
            return maps;
        }
        if (!create && !db.exists(mapName(generation, 0))) {
            return null;
        }
        maps = open(generation);
        others.put(generation, maps);
        return maps;
    }

    /** Makes {@code generation} current (part of a batch: it commits with it). Under the write lock. */
    void switchTo(int generation) {
        HTreeMap<byte[], byte[]>[] maps = maps(generation, true);
        others.remove(generation);
        others.put(currentGeneration, currentMaps);
        current.set(generation);
        currentGeneration = generation;
        currentMaps = maps;
    }

    /** After MapDB rolled back uncommitted changes: forgets maps opened since and follows the rolled-back record. */
    void afterRollback() {
        others.clear();
        currentGeneration = current.get();
        currentMaps = open(currentGeneration);
    }

    /** Empties every index map of every generation (part of a batch that removes every record). */
    void clearAll() {
        for (HTreeMap<byte[], byte[]> index : currentMaps) {
            index.clear();
        }
        for (int g : named()) {
            HTreeMap<byte[], byte[]>[] maps = maps(g, false);
            if (maps != null && maps != currentMaps) {
                for (HTreeMap<byte[], byte[]> index : maps) {
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
            HTreeMap<byte[], byte[]>[] maps = maps(g, false);
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
        for (String name : db.getAllNames()) {
            if (name.equals(firstLayoutName(0, 0))) {
                out.add(0);
            } else {
                int g = generationOf(name, MAP_SUFFIX + 0);
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

    /** Up to {@code max} removals of the entries of {@code generation}; {@code null} when it holds none. */
    Batch removals(int generation, int max) {
        HTreeMap<byte[], byte[]>[] generationMaps = maps(generation, false);
        if (generationMaps == null) {
            return null;
        }
        Batch batch = new Batch();
        for (int i = 0; i < generationMaps.length && batch.ops().size() < max; i++) {
            for (byte[] key : generationMaps[i].keySet()) {
                batch.removeIndexIn(generation, i, key);
                if (batch.ops().size() >= max) {
                    break;
                }
            }
        }
        return batch.isEmpty() ? null : batch;
    }

    /**
     * Whether {@code name} is an index map of a generation other than {@code current}: left over from a switch or an
     * unfinished build, never read again.
     */
    static boolean isOtherGeneration(String name, int current, int indexCount) {
        for (int i = 0; i < indexCount; i++) {
            String suffix = MAP_SUFFIX + i;
            if (name.startsWith(PREFIX) && name.endsWith(suffix)) {
                String number = name.substring(PREFIX.length(), name.length() - suffix.length());
                return !number.equals(Integer.toString(current));
            }
        }
        return false;
    }

    /**
     * Whether {@code name} is an index map of the current generation, whose entries point at slots: a copy of the
     * store must point them at the copy's slots ({@link IndexEntry#retarget}).
     */
    static boolean isCurrentGeneration(String name, int current, int indexCount) {
        for (int i = 0; i < indexCount; i++) {
            if (name.equals(mapName(current, i))) {
                return true;
            }
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private HTreeMap<byte[], byte[]>[] open(int generation) {
        HTreeMap<byte[], byte[]>[] maps = new HTreeMap[indexCount];
        for (int i = 0; i < indexCount; i++) {
            maps[i] = RecordSlots.map(db, mapName(generation, i), Serializer.BYTE_ARRAY, Serializer.BYTE_ARRAY);
        }
        return maps;
    }

    static String mapName(int generation, int index) {
        return PREFIX + generation + MAP_SUFFIX + index;
    }

    /** The name of index {@code index} of {@code generation} in the first layout (values: ids). */
    static String firstLayoutName(int generation, int index) {
        return generation == 0 ? "index" + index : PREFIX + generation + FIRST_LAYOUT_SUFFIX + index;
    }
}
