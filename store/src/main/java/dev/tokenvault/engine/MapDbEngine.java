package dev.tokenvault.engine;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import org.mapdb.Atomic;
import org.mapdb.CC;
import org.mapdb.DB;
import org.mapdb.DBException;
import org.mapdb.HTreeMap;
import org.mapdb.Serializer;
import org.mapdb.StoreWAL;
import org.mapdb.volume.ByteArrayVol;
import org.mapdb.volume.MappedFileVol;
import org.mapdb.volume.Volume;
import org.mapdb.volume.VolumeFactory;

/**
 * The embedded {@link RecordEngine}: one MapDB file with a {@code records} map, one {@code HTreeMap} per blind index
 * and a {@code meta} map, all keyed and valued by bytes or ids.
 *
 * <p>Durability comes from {@link RedoLog}, not from MapDB's own write-ahead log (which MapDB 3.1.0 never replays):
 * MapDB's log is kept in memory, and every commit's writes to the main file pass through {@link RedoVolume}. At open a
 * complete redo record is replayed onto the main file before MapDB reads it. A new store is built under a temporary
 * name and renamed into place, so a crash during creation leaves no half-made store.
 *
 * <p>Companion files beside {@code path}: {@code path.redo} (the redo log) and {@code path.lock} (held with an OS lock
 * while open; a second opener fails at once with {@link EngineException.Kind#LOCKED}); during {@link #compact()} also
 * {@code path.compacting} and its log {@code path.compacting.redo}, which an open deletes when a crash left them.
 * Every file the engine creates gets mode 0600; it never opens a companion file through a symbolic link, nor one
 * that another user owns ({@link PrivateFiles}). Before anything is created or written, the file at {@code path} is
 * read and checked to be a store ({@link StoreFile}).
 *
 * <p>Concurrency: reads share a read lock; staging a batch and committing take the write lock, so no read sees part
 * of a batch. Batches staged while a commit runs are committed together by the next committer (group commit).
 */
public final class MapDbEngine implements RecordEngine {
    private static final String RECORDS = "records";
    private static final String META = "meta";
    /** MapDB's own record of the current index generation; not in {@code meta}, which belongs to the caller. */
    private static final String INDEX_GENERATION = "indexGeneration";
    private static final String GENERATION_PREFIX = "gen";
    /** Entries removed per commit when the engine discards a stale index generation at open. */
    private static final int DISCARD_CHUNK = 4000;

    private final Path path; // null in memory
    private final int indexCount;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final CommitProbe probe;
    private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
    private final Object flushMonitor = new Object();

    // guarded by rw's write lock (readers use them under the read lock)
    private Opened db;
    private boolean closed;
    /** Set when a failed change could not be undone in memory: the engine stopped, and every call says why. */
    private EngineException stopped;

    // guarded by flushMonitor
    private long staged;
    private long durable;
    private long failedThrough;
    private RuntimeException lastFailure;
    private boolean flushing;

    private record Opened(DB db, RedoVolume volume, HTreeMap<String, byte[]> records,
                          HTreeMap<byte[], String>[] indexes, HTreeMap<String, byte[]> meta) { }

    private MapDbEngine(Path path, int indexCount, FileChannel lockChannel, FileLock lock, CommitProbe probe) {
        this.path = path;
        this.indexCount = indexCount;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.probe = probe;
    }

    /** Whether a store file exists at {@code path}. */
    public static boolean exists(Path path) {
        return Files.exists(path);
    }

    /** Opens the store at {@code path}, creating it when absent, with {@code indexCount} index maps. */
    public static MapDbEngine open(Path path, int indexCount) {
        return open(path, indexCount, true, CommitProbe.NONE);
    }

    /**
     * Opens the store at {@code path} with {@code indexCount} index maps. When nothing is at {@code path}, creates a
     * store there if {@code createIfMissing}, else fails with {@code NOT_FOUND} and creates nothing.
     *
     * <p>The file at {@code path} is read and checked before anything is written, created or locked, so a file that is
     * not a store keeps every byte and its modification time, and nothing appears beside it. When an open fails
     * because the path holds no usable store, the companion files this open created are removed again (never one
     * that was there before).
     *
     * @param probe test seam for the commit path; {@link CommitProbe#NONE} in production
     * @throws EngineException {@code NOT_FOUND} (absent, and {@code createIfMissing} false), {@code UNSUPPORTED_FORMAT}
     *         (not a store, or a newer format), {@code CORRUPT} (a damaged or cut-short store), {@code LOCKED}
     *         (another opener holds it), {@code IO} (not a regular file, a companion file that is a link or not ours,
     *         or the file system failed)
     */
    public static MapDbEngine open(Path path, int indexCount, boolean createIfMissing, CommitProbe probe) {
        Path abs = path.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new EngineException(EngineException.Kind.IO, "directory " + parent + " does not exist");
        }
        // Read only, before the lock file is created: what is not a store is refused without a trace.
        if (!StoreFile.inspect(abs) && !createIfMissing) {
            throw absent(abs);
        }
        Path lockPath = sibling(abs, ".lock");
        PrivateFiles.Opened lockFile;
        FileLock lock;
        try {
            lockFile = PrivateFiles.openOrCreate(lockPath, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot lock " + abs + ": " + StoreFile.reason(e), e);
        }
        try {
            lock = lockFile.channel().tryLock();
        } catch (OverlappingFileLockException e) {
            closeQuietly(lockFile.channel());
            throw locked(abs, e);
        } catch (IOException e) {
            closeQuietly(lockFile.channel());
            throw new EngineException(EngineException.Kind.IO, "cannot lock " + abs + ": " + lockPath + ": "
                    + StoreFile.reason(e), e);
        }
        if (lock == null) {
            closeQuietly(lockFile.channel());
            throw locked(abs, null);
        }
        MapDbEngine engine = new MapDbEngine(abs, indexCount, lockFile.channel(), lock, probe);
        try {
            // Under the lock, what is at the path now decides: another opener may have created the store meanwhile.
            boolean present = StoreFile.inspect(abs);
            if (!present && !createIfMissing) {
                throw absent(abs);
            }
            try {
                deleteStaleCompaction(abs); // a compaction killed before its rename; the store itself is intact
            } catch (IOException e) {
                throw new EngineException(EngineException.Kind.IO,
                        "cannot remove the unfinished compaction beside " + abs + ": " + StoreFile.reason(e), e);
            }
            if (!present) {
                createAtomically(abs, indexCount);
            }
            engine.db = engine.openFile();
            engine.discardStaleGenerations();
            return engine;
        } catch (RuntimeException | Error e) {
            if (lockFile.created() && noStoreThere(e)) {
                // Removed while still locked; no other opener can use this path either, as it holds no store.
                try {
                    Files.deleteIfExists(lockPath);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            engine.releaseLock();
            throw e;
        }
    }

    private static EngineException absent(Path path) {
        return new EngineException(EngineException.Kind.NOT_FOUND,
                "no store at " + path + " (and the open was asked not to create one)");
    }

    /** Whether an open failed because the path holds no usable store (not because the file system failed). */
    private static boolean noStoreThere(Throwable e) {
        return e instanceof EngineException ee && (ee.kind() == EngineException.Kind.NOT_FOUND
                || ee.kind() == EngineException.Kind.UNSUPPORTED_FORMAT || ee.kind() == EngineException.Kind.CORRUPT);
    }

    /** A store in memory, through the same code as a file store, gone when closed. */
    public static MapDbEngine inMemory(int indexCount) {
        return inMemory(indexCount, CommitProbe.NONE);
    }

    /** {@link #inMemory(int)} with a test seam for the commit path. */
    public static MapDbEngine inMemory(int indexCount, CommitProbe probe) {
        MapDbEngine engine = new MapDbEngine(null, indexCount, null, null, probe);
        RedoVolume volume = new RedoVolume(new ByteArrayVol(CC.PAGE_SHIFT, 0L), null, probe);
        engine.db = build(null, volume, false, indexCount);
        return engine;
    }

    private static EngineException locked(Path path, Throwable cause) {
        return new EngineException(EngineException.Kind.LOCKED,
                "store " + path + " is open elsewhere (another process or another open store in this one)", cause);
    }

    private static Path sibling(Path path, String suffix) {
        return path.resolveSibling(path.getFileName() + suffix);
    }

    /** Builds a new store under a temporary name, syncs it and renames it into place. */
    private static void createAtomically(Path path, int indexCount) {
        Path tmp = sibling(path, ".creating");
        Path tmpRedo = sibling(tmp, ".redo");
        try {
            PrivateFiles.deleteOwnIfExists(tmp);
            PrivateFiles.deleteOwnIfExists(tmpRedo);
            PrivateFiles.deleteOwnIfExists(sibling(path, ".redo")); // a log without its store: never replayed
            PrivateFiles.createEmpty(tmp); // mode 0600 before MapDB opens it by name
            RedoVolume vol = new RedoVolume(mappedVolume(tmp), RedoLog.open(tmpRedo, 0));
            Opened o = build(tmp, vol, false, indexCount);
            o.db().commit();
            o.db().close(); // checkpoints: main synced
            Files.deleteIfExists(tmpRedo);
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(path.getParent());
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot create store " + path + ": "
                    + StoreFile.reason(e), e);
        } catch (DBException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot create store " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Replays the redo log, checks the file is whole, and opens it. On failure nothing stays open, and a log this
     * call created is removed (one that was there is left empty, as the replay leaves it).
     */
    private Opened openFile() {
        Path redo = sibling(path, ".redo");
        RedoLog log = null;
        Volume mapped = null;
        try {
            RedoLog.replayInto(redo, path);
            StoreFile.checkComplete(path);
            log = RedoLog.open(redo);
            mapped = mappedVolume(path);
            return build(path, new RedoVolume(mapped, log, probe), true, indexCount);
        } catch (Throwable e) {
            discardOpening(mapped, log, redo, e);
            if (e instanceof Error err && !(e instanceof AssertionError)) {
                throw err; // AssertionError: MapDB's always-on checks meeting damage (see read()), so CORRUPT below
            }
            if (e instanceof EngineException ee) {
                throw ee;
            }
            if (e instanceof IOException || hasIoCause(e)) {
                throw new EngineException(EngineException.Kind.IO, "cannot open store " + path + ": "
                        + (e instanceof IOException io ? StoreFile.reason(io) : rootMessage(e)), e);
            }
            throw new EngineException(EngineException.Kind.CORRUPT,
                    "store file " + path + " is damaged: " + damage(e), e);
        }
    }

    /** MapDB's words for damage, without its advice about its own API. */
    private static String damage(Throwable e) {
        String root = rootMessage(e);
        return root.startsWith("Header checksum broken") ? "its header fails its checksum" : root;
    }

    /** Closes what a failed {@link #openFile} opened, writing nothing to the store file. */
    private static void discardOpening(Volume mapped, RedoLog log, Path redo, Throwable failure) {
        try {
            if (mapped != null) {
                mapped.close();
            }
            if (log != null) {
                log.release();
                log.close();
                if (log.created()) {
                    Files.deleteIfExists(redo);
                }
            }
        } catch (Throwable suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    private static Volume mappedVolume(Path file) {
        // Memory-mapped: about 1 us per MapDB get against 7 us for FileChannel and 26 us for RandomAccessFile here.
        // cleanerHack unmaps promptly instead of leaking a mapping per growth.
        return new MappedFileVol.MappedFileFactory(true, false)
                .makeVolume(file.toString(), false, -1L, CC.PAGE_SHIFT, 0L, false);
    }

    @SuppressWarnings("unchecked")
    private static Opened build(Path file, RedoVolume main, boolean existed, int indexCount) {
        DB db = newDb(file, main, existed);
        if (existed && !(db.exists(RECORDS) && db.exists(META))) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "store file " + file
                    + " is a MapDB file but not a tokenvault store (it has no records or meta map)");
        }
        HTreeMap<String, byte[]> records = db.hashMap(RECORDS, Serializer.STRING, Serializer.BYTE_ARRAY).createOrOpen();
        int generation = db.atomicInteger(INDEX_GENERATION).createOrOpen().get();
        HTreeMap<byte[], String>[] indexes = new HTreeMap[indexCount];
        for (int i = 0; i < indexCount; i++) {
            indexes[i] = db.hashMap(indexMapName(generation, i), Serializer.BYTE_ARRAY, Serializer.STRING).createOrOpen();
        }
        HTreeMap<String, byte[]> meta = db.hashMap(META, Serializer.STRING, Serializer.BYTE_ARRAY).createOrOpen();
        return new Opened(db, main, records, indexes, meta);
    }

    /** A MapDB {@code DB} (StoreWAL) whose main file is {@code main}, with MapDB's own log in memory. */
    private static DB newDb(Path file, RedoVolume main, boolean existed) {
        String name = file == null ? null : file.toString();
        VolumeFactory factory = new VolumeFactory() {
            @Override
            public Volume makeVolume(String f, boolean readOnly, long lockWait, int sliceShift, long initSize,
                                     boolean fixedSize) {
                // The main file is ours; MapDB's own log lives in memory: it is never replayed, RedoLog is.
                return f != null && f.equals(name) ? main : new ByteArrayVol(sliceShift, 0L);
            }

            @Override
            public boolean exists(String f) {
                return f != null && f.equals(name) && existed;
            }

            @Override
            public boolean handlesReadonly() {
                return false;
            }
        };
        StoreWAL store = StoreWAL.make(name, factory, -1L, true, CC.STORE_DIRECT_CONC_SHIFT, CC.PAGE_SIZE, 0L,
                false, false, false, true, false);
        return new DB(store, existed, true, MapDbEngine.class.getClassLoader(), 0);
    }

    private Opened live() {
        if (closed) {
            throw stopped != null ? new EngineException(EngineException.Kind.IO, stopped.getMessage(), stopped)
                    : new EngineException(EngineException.Kind.CLOSED, "store is closed");
        }
        return db;
    }

    @Override
    public byte[] get(String id) {
        return read(() -> live().records().get(id));
    }

    @Override
    public Entry getByIndex(int index, byte[] key) {
        return read(() -> {
            Opened o = live();
            String id = o.indexes()[index].get(key);
            return id == null ? null : new Entry(id, o.records().get(id));
        });
    }

    @Override
    public String getIndex(int index, byte[] key) {
        return read(() -> live().indexes()[index].get(key));
    }

    // ---------------------------------------------------------------- index generations

    /**
     * Per open {@link DB}: the current-generation variable and the index maps of other generations opened so far. Kept
     * apart from {@link Opened} and keyed by the {@code DB} instance, so that every path that reopens the file starts
     * afresh.
     */
    private static final class Generations {
        final DB db;
        final org.mapdb.Atomic.Integer current;
        final Map<Integer, HTreeMap<byte[], String>[]> maps = new java.util.concurrent.ConcurrentHashMap<>();

        Generations(DB db) {
            this.db = db;
            this.current = db.atomicInteger(INDEX_GENERATION).createOrOpen();
        }
    }

    private volatile Generations generations; // replaced whenever the DB instance changes

    private Generations generationsOf(Opened o) {
        Generations g = generations;
        if (g == null || g.db != o.db()) {
            synchronized (this) {
                g = generations;
                if (g == null || g.db != o.db()) {
                    g = new Generations(o.db());
                    generations = g;
                }
            }
        }
        return g;
    }

    private static String indexMapName(int generation, int index) {
        return generation == 0 ? "index" + index : GENERATION_PREFIX + generation + ".index" + index;
    }

    /**
     * The index maps of {@code generation}; {@code null} when they do not exist and {@code create} is false. Creating
     * maps writes MapDB's catalog: only under the write lock.
     */
    @SuppressWarnings("unchecked")
    private HTreeMap<byte[], String>[] generationMaps(Opened o, int generation, boolean create) {
        Generations g = generationsOf(o);
        if (generation == g.current.get()) {
            return o.indexes();
        }
        HTreeMap<byte[], String>[] maps = g.maps.get(generation);
        if (maps != null) {
            return maps;
        }
        if (!create && !o.db().exists(indexMapName(generation, 0))) {
            return null;
        }
        maps = new HTreeMap[indexCount];
        for (int i = 0; i < indexCount; i++) {
            maps[i] = o.db().hashMap(indexMapName(generation, i), Serializer.BYTE_ARRAY, Serializer.STRING)
                    .createOrOpen();
        }
        g.maps.put(generation, maps);
        return maps;
    }

    /**
     * The current generation and every other generation whose index maps still hold entries (left over from a switch
     * or an unfinished build). Emptied maps keep their names in MapDB's catalog (MapDB cannot drop a named map), so a
     * generation number is never used twice.
     */
    public java.util.SortedSet<Integer> indexGenerations() {
        return read(() -> {
            Opened o = live();
            int current = generationsOf(o).current.get();
            java.util.SortedSet<Integer> out = new java.util.TreeSet<>();
            for (int g : namedGenerations(o)) {
                HTreeMap<byte[], String>[] maps = generationMaps(o, g, false);
                if (g == current || (maps != null && java.util.Arrays.stream(maps).anyMatch(m -> !m.isEmpty()))) {
                    out.add(g);
                }
            }
            return out;
        });
    }

    /** Every generation named in MapDB's catalog (or staged), the current one included. */
    private java.util.SortedSet<Integer> namedGenerations(Opened o) {
        java.util.SortedSet<Integer> out = new java.util.TreeSet<>();
        out.add(generationsOf(o).current.get());
        for (String name : o.db().getAllNames()) {
            if (name.equals("index0")) {
                out.add(0);
            } else if (name.startsWith(GENERATION_PREFIX) && name.endsWith(".index0")) {
                try {
                    out.add(Integer.parseInt(name.substring(GENERATION_PREFIX.length(),
                            name.length() - ".index0".length())));
                } catch (NumberFormatException ignored) {
                    // not a name this engine made
                }
            }
        }
        return out;
    }

    @Override
    public int indexGeneration() {
        return read(() -> generationsOf(live()).current.get());
    }

    @Override
    public int nextIndexGeneration() {
        return read(() -> namedGenerations(live()).last() + 1);
    }

    @Override
    public Entry getByIndex(int generation, int index, byte[] key) {
        return read(() -> {
            Opened o = live();
            if (generationsOf(o).current.get() != generation) {
                return GENERATION_CHANGED;
            }
            String id = o.indexes()[index].get(key);
            return id == null ? null : new Entry(id, o.records().get(id));
        });
    }

    @Override
    public String getIndex(int generation, int index, byte[] key) {
        return read(() -> {
            HTreeMap<byte[], String>[] maps = generationMaps(live(), generation, false);
            return maps == null ? null : maps[index].get(key);
        });
    }

    @Override
    public long clearIndexGeneration(int generation, int maxPerCommit) {
        if (maxPerCommit < 1) {
            throw new IllegalArgumentException("maxPerCommit must be positive");
        }
        long removed = 0;
        while (true) {
            Batch batch = new Batch();
            int n = 0;
            rw.readLock().lock();
            try {
                Opened o = live();
                if (generationsOf(o).current.get() == generation) {
                    throw new IllegalArgumentException("index generation " + generation + " is current");
                }
                HTreeMap<byte[], String>[] maps = generationMaps(o, generation, false);
                if (maps == null) {
                    return removed;
                }
                for (int i = 0; i < maps.length && n < maxPerCommit; i++) {
                    for (byte[] key : maps[i].keySet()) {
                        batch.removeIndexIn(generation, i, key);
                        if (++n >= maxPerCommit) {
                            break;
                        }
                    }
                }
            } catch (EngineException | IllegalArgumentException e) {
                throw e;
            } catch (RuntimeException | AssertionError e) {
                throw damaged(e);
            } finally {
                rw.readLock().unlock();
            }
            if (n == 0) {
                return removed;
            }
            commit(batch);
            removed += n;
        }
    }

    /**
     * At open: empties the index maps of every generation but the current one (a build that a crash interrupted, or
     * the old generation of a switch whose clean-up did not finish). They are never read; a generation too damaged to
     * clear is left as it is, since nothing will ever read it and new generations take new numbers.
     */
    private void discardStaleGenerations() {
        int current = indexGeneration();
        java.util.SortedSet<Integer> named;
        rw.readLock().lock();
        try {
            named = namedGenerations(live());
        } catch (RuntimeException | AssertionError e) {
            return; // a damaged catalog shows at the first real read
        } finally {
            rw.readLock().unlock();
        }
        for (int g : named) {
            if (g != current) {
                try {
                    clearIndexGeneration(g, DISCARD_CHUNK);
                } catch (EngineException e) {
                    if (e.kind() != EngineException.Kind.CORRUPT) {
                        throw e;
                    }
                }
            }
        }
    }

    @Override
    public byte[] getMeta(String key) {
        return read(() -> live().meta().get(key));
    }

    @Override
    public void forEachRecord(BiConsumer<String, byte[]> action) {
        read(() -> {
            for (Map.Entry<String, byte[]> e : live().records().getEntries()) {
                callBack(action, e.getKey(), e.getValue());
            }
            return null;
        });
    }

    @Override
    public void forEachIndexEntry(int index, BiConsumer<byte[], String> action) {
        read(() -> {
            for (Map.Entry<byte[], String> e : live().indexes()[index].getEntries()) {
                callBack(action, e.getKey(), e.getValue());
            }
            return null;
        });
    }

    @Override
    public long size() {
        return read(() -> live().records().sizeLong());
    }

    @Override
    public long stage(Batch batch) {
        rw.writeLock().lock();
        try {
            live();
            try {
                for (Batch.Op op : batch.ops()) {
                    apply(db, op);
                    probe.reached("engine.applied");
                }
            } catch (Throwable t) {
                // A batch that failed half-way (whatever the Throwable, an OutOfMemoryError too) must neither reach
                // disk nor be seen by a reader: drop every uncommitted change before the write lock is released.
                EngineException failure = t instanceof EngineException ee ? ee : new EngineException(
                        EngineException.Kind.IO, "storage failed while applying a change: " + rootMessage(t), t);
                discardLocked(failure);
                throw failure;
            }
            synchronized (flushMonitor) {
                return ++staged;
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    @Override
    public void discardStaged(String reason) {
        rw.writeLock().lock();
        try {
            if (!closed) {
                discardLocked(new EngineException(EngineException.Kind.IO, reason));
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    private void apply(Opened o, Batch.Op op) {
        if (op instanceof Batch.PutRecord p) {
            o.records().put(p.id(), p.sealed());
        } else if (op instanceof Batch.RemoveRecord r) {
            o.records().remove(r.id());
        } else if (op instanceof Batch.PutIndex p) {
            o.indexes()[p.index()].put(p.key(), p.id());
        } else if (op instanceof Batch.RemoveIndex r) {
            o.indexes()[r.index()].remove(r.key());
        } else if (op instanceof Batch.PutMeta p) {
            o.meta().put(p.key(), p.value());
        } else if (op instanceof Batch.RemoveMeta r) {
            o.meta().remove(r.key());
        } else if (op instanceof Batch.PutIndexIn p) {
            generationMaps(o, p.generation(), true)[p.index()].put(p.key(), p.id());
        } else if (op instanceof Batch.RemoveIndexIn r) {
            generationMaps(o, r.generation(), true)[r.index()].remove(r.key());
        } else if (op instanceof Batch.SwitchIndexGeneration g) {
            HTreeMap<byte[], String>[] maps = generationMaps(o, g.generation(), true);
            generationsOf(o).current.set(g.generation());
            db = new Opened(o.db(), o.volume(), o.records(), maps, o.meta());
        } else if (op instanceof Batch.ClearAll) {
            o.records().clear();
            for (HTreeMap<byte[], String> index : o.indexes()) {
                index.clear();
            }
            for (HTreeMap<byte[], String>[] maps : generationsOf(o).maps.values()) {
                for (HTreeMap<byte[], String> index : maps) {
                    index.clear();
                }
            }
        }
    }

    @Override
    public void awaitDurable(long ticket) {
        while (true) {
            synchronized (flushMonitor) {
                while (true) {
                    if (durable >= ticket) {
                        return;
                    }
                    if (failedThrough >= ticket) {
                        throw new EngineException(EngineException.Kind.IO,
                                "the change was not saved: " + lastFailure.getMessage(), lastFailure);
                    }
                    if (!flushing) {
                        flushing = true;
                        break;
                    }
                    try {
                        flushMonitor.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new EngineException(EngineException.Kind.IO, "interrupted while saving", e);
                    }
                }
            }
            flushAsLeader();
        }
    }

    /** Commits every staged batch; on failure discards them all and reloads the last durable state. */
    private void flushAsLeader() {
        long target;
        EngineException failure;
        rw.writeLock().lock();
        try {
            synchronized (flushMonitor) {
                target = staged;
            }
            failure = commitLocked();
        } finally {
            rw.writeLock().unlock();
            synchronized (flushMonitor) {
                flushing = false;
                flushMonitor.notifyAll();
            }
        }
        settle(target, failure);
    }

    /**
     * Under the write lock: commits everything staged. Returns {@code null} once it is durable, else the failure,
     * after the engine went back to its last durable state (or stopped). Never throws, whatever the Throwable.
     *
     * <p>The commit point is the redo record, written whole and synced ({@link RedoVolume#committed()}): a failure
     * before it leaves the store as before; a failure after it leaves the commit durable (the next open replays it),
     * so it counts as done, and the in-memory state is reloaded from the files all the same.
     */
    private EngineException commitLocked() {
        Opened o;
        try {
            o = live();
        } catch (EngineException e) {
            return e;
        }
        long before = o.volume().committed();
        try {
            probe.reached("engine.commit");
            o.db().commit();
            probe.reached("engine.committed");
            return null;
        } catch (Throwable t) {
            boolean durable = o.volume().committed() != before;
            reloadAfterFailure(t);
            return durable ? null
                    : new EngineException(EngineException.Kind.IO, "commit failed: " + rootMessage(t), t);
        }
    }

    /** Marks the batches staged through {@code target} durable, or failed with {@code failure}. */
    private void settle(long target, EngineException failure) {
        synchronized (flushMonitor) {
            if (failure == null) {
                durable = Math.max(durable, target);
            } else {
                failedThrough = Math.max(failedThrough, target);
                lastFailure = failure;
            }
            flushMonitor.notifyAll();
        }
    }

    /** Under the write lock: fails every staged batch with {@code failure} and goes back to the durable state. */
    private void discardLocked(EngineException failure) {
        synchronized (flushMonitor) {
            failedThrough = staged;
            lastFailure = failure;
            flushMonitor.notifyAll();
        }
        if (path == null && !closed) {
            // In memory there are no files to go back to, but nothing uncommitted has reached the volume yet (MapDB
            // writes to it only inside commit): MapDB's rollback drops it all.
            try {
                db.db().rollback();
                return;
            } catch (Throwable t) {
                failure.addSuppressed(t);
            }
        }
        reloadAfterFailure(failure);
    }

    /**
     * Under the write lock, after a failed change: forgets every uncommitted change by reopening the files (the redo
     * log replays what was durable). When that fails too, or the store is in memory (there is nothing durable to go
     * back to), the engine stops: it releases the files and every later call reports why. Never throws.
     */
    private void reloadAfterFailure(Throwable cause) {
        if (closed) {
            return;
        }
        try {
            db.volume().abandon();
        } catch (Throwable t) {
            cause.addSuppressed(t);
        }
        if (path == null) {
            stop(cause, "the in-memory store stopped after a failed change, and its contents are gone");
            return;
        }
        try {
            probe.reached("engine.reload");
            db = openFile();
        } catch (Throwable t) {
            t.addSuppressed(cause);
            stop(t, "the store " + path + " stopped after a failed change; close it and open it again (the redo log"
                    + " brings back its last durable state)");
        }
    }

    private void stop(Throwable cause, String message) {
        closed = true;
        stopped = new EngineException(EngineException.Kind.IO, message + ": " + rootMessage(cause), cause);
        releaseLock();
        synchronized (flushMonitor) {
            failedThrough = staged;
            lastFailure = stopped;
            flushMonitor.notifyAll();
        }
    }

    /**
     * Runs a read under the read lock, so it never sees part of a batch. MapDB meets a damaged file with whatever its
     * code happens to throw: a runtime exception, or an {@link AssertionError} from its own consistency checks (MapDB
     * 3.1.0 compiles them in as {@code CC.ASSERT}, a constant, so they run with or without {@code -ea}). Both become
     * {@code CORRUPT} naming the file. A caller's callback inside the read ({@link #forEachRecord}) is not MapDB:
     * what it throws passes through unchanged.
     */
    private <T> T read(java.util.function.Supplier<T> body) {
        rw.readLock().lock();
        try {
            return body.get();
        } catch (EngineException e) {
            throw e;
        } catch (CallbackFailure e) {
            throw e.unwrap();
        } catch (RuntimeException | AssertionError e) {
            throw damaged(e);
        } finally {
            rw.readLock().unlock();
        }
    }

    /** Carries what a caller's callback threw out of {@link #read}, so that it is not taken for damage. */
    private static final class CallbackFailure extends RuntimeException {
        private final Throwable thrown;

        CallbackFailure(Throwable thrown) {
            super(null, null, false, false);
            this.thrown = thrown;
        }

        RuntimeException unwrap() {
            if (thrown instanceof Error err) {
                throw err;
            }
            return (RuntimeException) thrown;
        }
    }

    /** Calls {@code action} as the caller's code, outside {@link #read}'s translation of damage. */
    private static <A, B> void callBack(BiConsumer<A, B> action, A a, B b) {
        try {
            action.accept(a, b);
        } catch (RuntimeException | Error e) {
            throw new CallbackFailure(e);
        }
    }

    /** MapDB meets a damaged file with whatever exception its code happens to throw; name it for what it is. */
    private EngineException damaged(Throwable e) {
        return new EngineException(EngineException.Kind.CORRUPT,
                "store file " + (path == null ? "in memory" : path) + " is damaged: " + rootMessage(e), e);
    }

    private static boolean hasIoCause(Throwable t) {
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r.getMessage() == null ? r.getClass().getSimpleName() : r.getMessage();
    }

    // ---------------------------------------------------------------- compaction

    /** Entries copied between commits of the new file, so that one commit's writes stay small in memory. */
    private static final int COMPACT_CHUNK = 4096;

    /**
     * Rewrites the live records, index entries and metadata into {@code PATH.compacting} and renames it over the store.
     *
     * <p>Crash safety: until the rename, {@code PATH} is the old store and {@code PATH.redo} holds only its changes;
     * a stale {@code PATH.compacting} is deleted at the next open. Before the rename the old store is checkpointed
     * (main file synced) and {@code PATH.redo} is emptied and synced, and the new file is synced, so whichever file
     * the name holds after a crash is complete, and no redo record of the old file can ever be replayed onto the new
     * one.
     */
    @Override
    public void compact() {
        rw.writeLock().lock();
        try {
            Opened old = live();
            commitStagedLocked();
            if (path == null) {
                return;
            }
            Path tmp = sibling(path, ".compacting");
            Path tmpRedo = sibling(tmp, ".redo");
            RedoVolume freshVolume = null;
            boolean oldClosed = false;
            try {
                var mode = PrivateFiles.mode(path); // the new file takes the store's mode, not the umask's
                deleteStaleCompaction(path);
                PrivateFiles.createEmpty(tmp);
                freshVolume = new RedoVolume(mappedVolume(tmp), RedoLog.open(tmpRedo, 0));
                DB fresh = newDb(tmp, freshVolume, false);
                copyAll(old.db(), fresh);
                fresh.commit();
                fresh.close(); // checkpoints: the new main file is synced and its log empty
                freshVolume = null;
                PrivateFiles.setMode(tmp, mode);
                forceFile(tmp);
                Files.deleteIfExists(tmpRedo);
                // The old store: synced, and its redo log empty on disk, before the new file takes the name.
                oldClosed = true;
                old.db().close();
                emptyDurably(sibling(path, ".redo"));
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
                syncDirectory(path.getParent());
            } catch (IOException | RuntimeException | Error e) {
                if (freshVolume != null) {
                    freshVolume.abandon();
                }
                try {
                    deleteStaleCompaction(path);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed); // deleted at the next open
                }
                if (oldClosed) {
                    reopenLocked();
                }
                if (e instanceof Error err) {
                    throw err;
                }
                throw new EngineException(hasIoCause(e) || e instanceof IOException ? EngineException.Kind.IO
                        : EngineException.Kind.CORRUPT, "compaction of " + path + " failed, the store is unchanged: "
                        + (e instanceof IOException io ? StoreFile.reason(io) : rootMessage(e)), e);
            }
            reopenLocked();
        } finally {
            rw.writeLock().unlock();
        }
    }

    /** Under the write lock: commits every staged batch and marks it durable (or failed, as a flush would). */
    private void commitStagedLocked() {
        long target;
        synchronized (flushMonitor) {
            target = staged;
        }
        EngineException failure = commitLocked();
        settle(target, failure);
        if (failure != null) {
            throw failure;
        }
    }

    private void reopenLocked() {
        try {
            db = openFile();
        } catch (RuntimeException | Error e) {
            closed = true;
            releaseLock();
            throw e;
        }
    }

    /**
     * Copies every named MapDB object of {@code from} (records, metadata, every index map of every generation and the
     * engine's own counters) into {@code to} under the same name, so the new file opens exactly as the old one did.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void copyAll(DB from, DB to) {
        for (String name : from.getAllNames()) {
            Object o = from.get(name);
            if (o instanceof HTreeMap m) {
                HTreeMap target = to.hashMap(name, m.getKeySerializer(), m.getValueSerializer()).createOrOpen();
                int n = 0;
                for (Object e : m.getEntries()) {
                    Map.Entry entry = (Map.Entry) e;
                    target.put(entry.getKey(), entry.getValue());
                    if (++n % COMPACT_CHUNK == 0) {
                        to.commit(); // the new file is not live until the rename: partial commits are harmless
                    }
                }
            } else if (o instanceof Atomic.Integer a) {
                to.atomicInteger(name).createOrOpen().set(a.get());
            } else if (o instanceof Atomic.Long a) {
                to.atomicLong(name).createOrOpen().set(a.get());
            } else {
                throw new IllegalStateException("compaction cannot copy " + name + " ("
                        + (o == null ? "unknown" : o.getClass().getName()) + ")");
            }
        }
    }

    /** Deletes what an interrupted compaction left: never the store, only its temporary copy and that copy's log. */
    private static void deleteStaleCompaction(Path path) throws IOException {
        Path tmp = sibling(path, ".compacting");
        PrivateFiles.deleteOwnIfExists(tmp);
        PrivateFiles.deleteOwnIfExists(sibling(tmp, ".redo"));
    }

    private static void forceFile(Path file) throws IOException {
        try (FileChannel ch = PrivateFiles.openExisting(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void emptyDurably(Path file) throws IOException {
        try (FileChannel ch = PrivateFiles.openOrCreate(file, StandardOpenOption.WRITE).channel()) {
            ch.truncate(0);
            ch.force(true);
        }
    }

    /** Path of the main file, or {@code null} in memory. */
    public Path path() {
        return path;
    }

    @Override
    public void close() {
        rw.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                db.db().commit();
                db.db().close();
            } catch (RuntimeException | Error e) {
                try {
                    db.volume().abandon();
                } catch (RuntimeException | Error suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw new EngineException(EngineException.Kind.IO, "close failed: " + rootMessage(e), e);
            } finally {
                releaseLock();
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    private void releaseLock() {
        try {
            if (lock != null) {
                lock.release();
            }
        } catch (IOException ignored) {
            // closing the channel releases it too
        } finally {
            closeQuietly(lockChannel);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to release
            }
        }
    }

    private static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // some file systems cannot sync a directory; the rename is still atomic
        }
    }
}
