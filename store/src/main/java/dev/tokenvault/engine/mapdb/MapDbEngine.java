package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.nio.file.Path;
import java.util.SortedSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The embedded {@link RecordEngine}: one MapDB file holding each sealed record in a slot of its own
 * ({@link RecordSlots}, named by id in a hash table of the engine's own, {@link IndexTable}), one such table per blind
 * index and generation ({@link IndexGenerations}) whose entries point at the record's slot ({@link IndexEntry}), and
 * a {@code meta} map. A lookup by an indexed value reads one page of an index table and then the slot directly; a
 * lookup by id reads one page of the slot table and then the slot. {@link StoreLayout} upgrades a store
 * of an earlier layout at open.
 *
 * <p>Durability comes from {@link RedoLog}, not from MapDB's own write-ahead log (which MapDB 3.1.0 never replays):
 * MapDB's log is kept in memory, and every commit's writes to the main file pass through {@link RedoVolume}. At open a
 * complete redo record is replayed onto the main file before MapDB reads it. A new store is built under a temporary
 * name and renamed into place, so a crash during creation leaves no half-made store ({@link MapDbFiles}).
 *
 * <p>Companion files beside {@code path}: {@code path.redo} (the redo log) and {@code path.lock} (held with an OS lock
 * while open, {@link StoreLock}); during {@link #compact()} also {@code path.compacting} and its log
 * {@code path.compacting.redo}, which an open deletes when a crash left them. Every file the engine creates gets mode
 * 0600; it never opens a companion file through a symbolic link, nor one that another user owns
 * ({@link PrivateFiles}). Before anything is created or written, the file at {@code path} is read and checked to be a
 * store ({@link StoreFile}). {@link #openReadOnly} opens a store without creating or writing anything.
 *
 * <p>Concurrency: reads share a read lock; staging, committing and discarding take the write lock, so no read sees
 * part of a batch. A commit holds it until its redo record is written, not through the fsync and the apply to the
 * main file: the volume lays the commit's writes over reads until they are applied ({@link RedoVolume}), so readers
 * do not wait for the disk. MapDB writes nothing to the volume until its commit, so what is staged and not committed
 * lives in MapDB's memory only: a failed commit or a discard goes back to the durable state by reopening the files
 * (the redo log replays what was durable), or, in memory, by MapDB's rollback ({@link RecoverableDb}, which holds the
 * open store).
 */
public final class MapDbEngine implements RecordEngine {
    /** Entries removed per commit when the engine discards a stale index generation at open. */
    private static final int DISCARD_CHUNK = 4000;

    private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
    /**
     * Held by a commit from its start to its end, the part done without {@link #rw}'s write lock included, and taken
     * by {@link #close} and {@link #compact} before that lock: a close that ran while the commit's fsync or apply did
     * would close the files under it and lose an acknowledged commit. Always taken before {@code rw}.
     */
    private final ReentrantLock commitInFlight = new ReentrantLock();
    /** The open store and its recovery; changed only under {@link #rw}'s write lock. */
    private final RecoverableDb store;

    private MapDbEngine(RecoverableDb store) {
        this.store = store;
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
        return Uninterruptibly.get(() -> openWriter(path, indexCount, createIfMissing, probe));
    }

    private static MapDbEngine openWriter(Path path, int indexCount, boolean createIfMissing, CommitProbe probe) {
        Path abs = MapDbFiles.checkBeforeLocking(path, createIfMissing);
        StoreLock lock = StoreLock.acquire(abs);
        RecoverableDb store = null;
        try {
            store = new RecoverableDb(abs, indexCount, lock, probe, false,
                    MapDbFiles.openLocked(abs, indexCount, createIfMissing, probe));
            MapDbEngine engine = new MapDbEngine(store);
            engine.upgradeLayout();
            IndexGenerations.discardStale(engine, DISCARD_CHUNK);
            return engine;
        } catch (RuntimeException | Error e) {
            if (store != null) { // opened, then the upgrade or the clean-up failed
                store.abandonAfterFailedOpen(e);
            }
            lock.releaseAfterFailedOpen(e);
            throw e;
        }
    }

    /**
     * Opens the existing store at {@code path} read-only, as {@code TokenVault.Builder.readOnly()} states: no file is
     * created and no byte written; every change ({@link #stage}, {@link #commitStaged}, {@link #clearIndexGeneration},
     * {@link #compact}) fails with {@code READ_ONLY}; stale index generations are left for the next writer. It takes a
     * shared lock on {@code path.lock} when that file exists ({@link StoreLock#acquireShared}), and refuses a store
     * whose redo log holds changes to replay.
     *
     * @throws EngineException {@code NOT_FOUND} (absent), {@code READ_ONLY} (recovery needed), {@code LOCKED},
     *         {@code UNSUPPORTED_FORMAT}, {@code CORRUPT}, {@code IO}
     */
    public static MapDbEngine openReadOnly(Path path, int indexCount) {
        return Uninterruptibly.get(() -> openReader(path, indexCount));
    }

    private static MapDbEngine openReader(Path path, int indexCount) {
        Path abs = MapDbFiles.checkBeforeLocking(path, false);
        StoreLock lock = StoreLock.acquireShared(abs);
        try {
            return new MapDbEngine(new RecoverableDb(abs, indexCount, lock, CommitProbe.NONE, true,
                    MapDbFiles.openReadOnly(abs, indexCount)));
        } catch (RuntimeException | Error e) {
            if (lock != null) {
                lock.release();
            }
            throw e;
        }
    }

    /** Whether this engine was opened by {@link #openReadOnly}. */
    public boolean isReadOnly() {
        return store.readOnly();
    }

    /** Under no lock: fails a change of a read-only engine. */
    private void requireWritable() {
        if (store.readOnly()) {
            throw new EngineException(EngineException.Kind.READ_ONLY, "the store " + store.path()
                    + " was opened read-only; it cannot be changed");
        }
    }

    /** A store in memory, through the same code as a file store, gone when closed. */
    public static MapDbEngine inMemory(int indexCount) {
        return inMemory(indexCount, CommitProbe.NONE);
    }

    /** {@link #inMemory(int)} with a test seam for the commit path. */
    public static MapDbEngine inMemory(int indexCount, CommitProbe probe) {
        return new MapDbEngine(new RecoverableDb(null, indexCount, null, probe, false,
                MapDbFiles.inMemory(indexCount, probe)));
    }

    // ---------------------------------------------------------------- reads

    private OpenDb live() {
        return store.live();
    }

    /**
     * Runs a read under the read lock, so it never sees part of a batch. MapDB meets a damaged file with whatever its
     * code happens to throw: a runtime exception, or an {@link AssertionError} from its own consistency checks (MapDB
     * 3.1.0 compiles them in as {@code CC.ASSERT}, a constant, so they run with or without {@code -ea}). Both become
     * {@code CORRUPT} naming the file. A caller's callback inside the read ({@link #forEachRecord}) is not MapDB:
     * what it throws passes through unchanged ({@link MapDbErrors#callBack}).
     */
    private <T> T read(Supplier<T> body) {
        rw.readLock().lock();
        try {
            return body.get();
        } catch (EngineException e) {
            throw e;
        } catch (MapDbErrors.CallbackFailure e) {
            throw e.unwrap();
        } catch (RuntimeException | AssertionError e) {
            throw MapDbErrors.damaged(store.path(), e);
        } finally {
            rw.readLock().unlock();
        }
    }

    @Override
    public byte[] get(String id) {
        return read(() -> live().records().get(id));
    }

    @Override
    public int indexGeneration() {
        return read(() -> live().generations().current());
    }

    @Override
    public int nextIndexGeneration() {
        return read(() -> live().generations().named().last() + 1);
    }

    /**
     * The current generation and every other generation whose index maps still hold entries (left over from a switch
     * or an unfinished build).
     */
    public SortedSet<Integer> indexGenerations() {
        return read(() -> live().generations().nonEmpty());
    }

    @Override
    public Entry getByIndex(int generation, int index, byte[] key) {
        return read(() -> {
            OpenDb o = live();
            if (o.generations().current() != generation) {
                return GENERATION_CHANGED;
            }
            byte[] entry = o.indexes()[index].get(key);
            if (entry == null) {
                return null;
            }
            String id = IndexEntry.id(entry);
            return new Entry(id, o.records().get(IndexEntry.recid(entry), id));
        });
    }

    @Override
    public String getIndex(int generation, int index, byte[] key) {
        return read(() -> {
            IndexTable[] maps = live().generations().maps(generation, false);
            byte[] entry = maps == null ? null : maps[index].get(key);
            return entry == null ? null : IndexEntry.id(entry);
        });
    }

    @Override
    public byte[] getMeta(String key) {
        return read(() -> live().meta().get(key));
    }

    @Override
    public void forEachRecord(BiConsumer<String, byte[]> action) {
        read(() -> {
            live().records().forEach((id, sealed) -> MapDbErrors.callBack(action, id, sealed));
            return null;
        });
    }

    @Override
    public void forEachIndexEntry(int index, BiConsumer<byte[], String> action) {
        read(() -> {
            live().indexes()[index].forEach((key, entry) -> MapDbErrors.callBack(action, key, IndexEntry.id(entry)));
            return null;
        });
    }

    @Override
    public long size() {
        return read(() -> live().records().size());
    }

    // ---------------------------------------------------------------- index generations

    @Override
    public long clearIndexGeneration(int generation, int maxPerCommit) {
        if (maxPerCommit < 1) {
            throw new IllegalArgumentException("maxPerCommit must be positive");
        }
        requireWritable(); // before any read: refused even when there is nothing to remove
        return RecordEngine.super.clearIndexGeneration(generation, maxPerCommit);
    }

    @Override
    public Batch indexRemovals(int generation, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be positive");
        }
        if (indexGeneration() == generation) { // the caller is the one writer: it cannot change meanwhile
            throw new IllegalArgumentException("index generation " + generation + " is current");
        }
        return read(() -> live().generations().removals(generation, max));
    }

    /** Every index generation named in MapDB's catalog, the current one included. */
    SortedSet<Integer> namedIndexGenerations() {
        return read(() -> live().generations().named());
    }

    // ---------------------------------------------------------------- writes

    @Override
    public void stage(Batch batch) {
        requireWritable();
        rw.writeLock().lock();
        try {
            OpenDb o = live();
            try {
                for (Batch.Op op : batch.ops()) {
                    o.apply(op);
                    store.probe().reached("engine.applied");
                }
            } catch (Throwable t) {
                // A batch that failed half-way (whatever the Throwable, an OutOfMemoryError too) must neither reach
                // disk nor be seen by a reader: drop every uncommitted change before the write lock is released.
                EngineException failure = t instanceof EngineException ee ? ee : new EngineException(
                        EngineException.Kind.IO, "storage failed while applying a change: "
                        + MapDbErrors.rootMessage(t), t);
                store.discard(failure);
                throw failure;
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    @Override
    public void commitStaged() {
        requireWritable();
        commitInFlight.lock();
        try {
            rw.writeLock().lock();
            try {
                Uninterruptibly.run(store::commitLogged);
            } finally {
                rw.writeLock().unlock();
            }
            // Readers go on while the disk syncs the redo record and the main file takes the commit: they read the
            // commit's bytes from the volume's overlay until they are applied. Only this writer changes the store.
            Uninterruptibly.run(() -> store.completeCommit(rw.writeLock()));
        } finally {
            commitInFlight.unlock();
        }
    }

    @Override
    public void discardStaged(String reason) {
        rw.writeLock().lock();
        try {
            if (!store.closed() && !store.readOnly()) { // a read-only engine never staged anything
                store.discard(new EngineException(EngineException.Kind.IO, reason));
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    /** At open, before any read: upgrades a store of the first layout ({@link StoreLayout#upgradeAtOpen}). */
    private void upgradeLayout() {
        rw.writeLock().lock();
        try {
            StoreLayout.upgradeAtOpen(store);
        } finally {
            rw.writeLock().unlock();
        }
    }

    // ---------------------------------------------------------------- compaction and close

    /** {@inheritDoc} See {@link Compaction} for how the file is swapped safely. */
    @Override
    public void compact() {
        requireWritable();
        commitInFlight.lock();
        rw.writeLock().lock();
        try {
            Uninterruptibly.run(() -> Compaction.compact(store));
        } finally {
            rw.writeLock().unlock();
            commitInFlight.unlock();
        }
    }

    @Override
    public void close() {
        commitInFlight.lock();
        rw.writeLock().lock();
        try {
            Uninterruptibly.run(store::close);
        } finally {
            rw.writeLock().unlock();
            commitInFlight.unlock();
        }
    }
}
