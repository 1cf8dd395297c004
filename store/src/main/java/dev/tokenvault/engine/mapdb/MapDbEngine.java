package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.nio.file.Path;
import java.util.Map;
import java.util.SortedSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.mapdb.HTreeMap;

/**
 * The embedded {@link RecordEngine}: one MapDB file holding each sealed record in a slot of its own
 * ({@link RecordSlots}, named by id in the map {@code recordSlots}), one {@code HTreeMap} per blind index and
 * generation ({@link IndexGenerations}) whose entries point at the record's slot ({@link IndexEntry}), and a
 * {@code meta} map. A lookup by an indexed value walks one index map and reads the slot directly; a lookup by id walks
 * {@code recordSlots} and reads the slot. {@link StoreLayout} upgrades a store of the first layout at open.
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
 * part of a batch. MapDB writes nothing to the volume until its commit, so what is staged and not committed lives in
 * MapDB's memory only: a failed commit or a discard goes back to the durable state by reopening the files (the redo
 * log replays what was durable), or, in memory, by MapDB's rollback.
 */
public final class MapDbEngine implements RecordEngine {
    /** Entries removed per commit when the engine discards a stale index generation at open. */
    private static final int DISCARD_CHUNK = 4000;

    private final Path path; // null in memory
    private final int indexCount;
    private final StoreLock lock; // null in memory
    private final CommitProbe probe;
    /** Opened by {@link #openReadOnly}: every change fails, and nothing is ever written. */
    private final boolean readOnly;
    private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();

    // guarded by rw's write lock (readers use them under the read lock)
    private OpenDb db;
    private boolean closed;
    /** Set when a failed change could not be undone: the engine stopped, and every call says why. */
    private EngineException stopped;

    private MapDbEngine(Path path, int indexCount, StoreLock lock, CommitProbe probe, boolean readOnly) {
        this.path = path;
        this.indexCount = indexCount;
        this.lock = lock;
        this.probe = probe;
        this.readOnly = readOnly;
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
        Path abs = MapDbFiles.checkBeforeLocking(path, createIfMissing);
        StoreLock lock = StoreLock.acquire(abs);
        MapDbEngine engine = new MapDbEngine(abs, indexCount, lock, probe, false);
        try {
            engine.db = MapDbFiles.openLocked(abs, indexCount, createIfMissing, probe);
            engine.upgradeLayout();
            IndexGenerations.discardStale(engine, DISCARD_CHUNK);
            return engine;
        } catch (RuntimeException | Error e) {
            if (engine.db != null && !engine.closed) { // opened, then the upgrade or the clean-up failed
                try {
                    engine.db.volume().abandon(); // releases the files; what was durable replays at the next open
                } catch (RuntimeException | Error suppressed) {
                    e.addSuppressed(suppressed);
                }
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
        Path abs = MapDbFiles.checkBeforeLocking(path, false);
        StoreLock lock = StoreLock.acquireShared(abs);
        MapDbEngine engine = new MapDbEngine(abs, indexCount, lock, CommitProbe.NONE, true);
        try {
            engine.db = MapDbFiles.openReadOnly(abs, indexCount);
            return engine;
        } catch (RuntimeException | Error e) {
            if (lock != null) {
                lock.release();
            }
            throw e;
        }
    }

    /** Whether this engine was opened by {@link #openReadOnly}. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** Under no lock: fails a change of a read-only engine. */
    private void requireWritable() {
        if (readOnly) {
            throw new EngineException(EngineException.Kind.READ_ONLY, "the store " + path
                    + " was opened read-only; it cannot be changed");
        }
    }

    /** A store in memory, through the same code as a file store, gone when closed. */
    public static MapDbEngine inMemory(int indexCount) {
        return inMemory(indexCount, CommitProbe.NONE);
    }

    /** {@link #inMemory(int)} with a test seam for the commit path. */
    public static MapDbEngine inMemory(int indexCount, CommitProbe probe) {
        MapDbEngine engine = new MapDbEngine(null, indexCount, null, probe, false);
        engine.db = MapDbFiles.inMemory(indexCount, probe);
        return engine;
    }

    // ---------------------------------------------------------------- reads

    private OpenDb live() {
        if (closed) {
            throw stopped != null ? new EngineException(EngineException.Kind.IO, stopped.getMessage(), stopped)
                    : new EngineException(EngineException.Kind.CLOSED, "store is closed");
        }
        return db;
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
            throw MapDbErrors.damaged(path, e);
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
            HTreeMap<byte[], byte[]>[] maps = live().generations().maps(generation, false);
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
            for (Map.Entry<byte[], byte[]> e : live().indexes()[index].getEntries()) {
                MapDbErrors.callBack(action, e.getKey(), IndexEntry.id(e.getValue()));
            }
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
        requireWritable();
        long removed = 0;
        while (true) {
            Batch batch = removalBatch(generation, maxPerCommit);
            if (batch == null) {
                return removed;
            }
            commit(batch);
            removed += batch.ops().size();
        }
    }

    /** Up to {@code max} removals of entries of {@code generation}; {@code null} when it holds none. */
    private Batch removalBatch(int generation, int max) {
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
                    probe.reached("engine.applied");
                }
            } catch (Throwable t) {
                // A batch that failed half-way (whatever the Throwable, an OutOfMemoryError too) must neither reach
                // disk nor be seen by a reader: drop every uncommitted change before the write lock is released.
                EngineException failure = t instanceof EngineException ee ? ee : new EngineException(
                        EngineException.Kind.IO, "storage failed while applying a change: "
                        + MapDbErrors.rootMessage(t), t);
                discardLocked(failure);
                throw failure;
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    @Override
    public void commitStaged() {
        requireWritable();
        rw.writeLock().lock();
        try {
            EngineException failure = commitLocked();
            if (failure != null) {
                throw failure;
            }
        } finally {
            rw.writeLock().unlock();
        }
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
        OpenDb o;
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
            return durable ? null : new EngineException(EngineException.Kind.IO,
                    "commit failed: " + MapDbErrors.rootMessage(t), t);
        }
    }

    @Override
    public void discardStaged(String reason) {
        rw.writeLock().lock();
        try {
            if (!closed && !readOnly) { // a read-only engine never staged anything
                discardLocked(new EngineException(EngineException.Kind.IO, reason));
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    /** Under the write lock: drops every staged change and goes back to the durable state. */
    private void discardLocked(EngineException failure) {
        if (path == null && !closed) {
            // In memory there are no files to go back to, but nothing uncommitted has reached the volume yet (MapDB
            // writes to it only inside commit): MapDB's rollback drops it all.
            try {
                db.db().rollback();
                db.generations().afterRollback();
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
        reopen(cause);
    }

    /**
     * Under the write lock: opens the files again, the one way back to the durable state (after a failed change, and
     * after compaction swapped the file). When that fails, the engine stops, and this returns why.
     */
    private EngineException reopen(Throwable cause) {
        try {
            probe.reached("engine.reload");
            db = readOnly ? MapDbFiles.openReadOnly(path, indexCount) : MapDbFiles.open(path, indexCount, probe);
            return null;
        } catch (Throwable t) {
            if (cause != null) {
                t.addSuppressed(cause);
            }
            stop(t, "the store " + path + " stopped: it could not be opened again after a change of its files; close"
                    + " it and open it again (the redo log brings back its last durable state)");
            return stopped;
        }
    }

    private void stop(Throwable cause, String message) {
        closed = true;
        stopped = new EngineException(EngineException.Kind.IO, message + ": " + MapDbErrors.rootMessage(cause), cause);
        if (lock != null) {
            lock.release();
        }
    }

    /**
     * At open, before any read: rewrites a store of the first layout into the current one ({@link StoreLayout}), as
     * one commit through the redo log, so that a crash leaves either layout whole. A first-layout map too damaged to
     * read fails the open with {@code CORRUPT}, and the store is left as it was.
     */
    private void upgradeLayout() {
        rw.writeLock().lock();
        try {
            OpenDb o = live();
            if (StoreLayout.of(o.db(), path) != StoreLayout.FIRST) {
                return;
            }
            try {
                StoreLayout.upgrade(o.db(), indexCount);
            } catch (RuntimeException | Error e) {
                EngineException failure = new EngineException(MapDbErrors.isIo(e) ? EngineException.Kind.IO
                        : EngineException.Kind.CORRUPT, "cannot upgrade the store " + path + " to the current map"
                        + " layout: " + MapDbErrors.rootMessage(e), e);
                discardLocked(failure);
                if (e instanceof Error err && !(e instanceof AssertionError)) {
                    throw err; // AssertionError: MapDB's always-on checks meeting a damaged map, so CORRUPT
                }
                throw failure;
            }
            EngineException failure = commitLocked();
            if (failure != null) {
                throw failure;
            }
        } finally {
            rw.writeLock().unlock();
        }
    }

    // ---------------------------------------------------------------- compaction and close

    /** {@inheritDoc} See {@link Compaction} for how the file is swapped safely. */
    @Override
    public void compact() {
        requireWritable();
        rw.writeLock().lock();
        try {
            OpenDb old = live();
            EngineException failure = commitLocked();
            if (failure != null) {
                throw failure;
            }
            if (path == null) {
                return;
            }
            try {
                Compaction.rewrite(old.db(), path, indexCount);
            } catch (RuntimeException | Error e) {
                if (old.db().isClosed()) {
                    EngineException stoppedToo = reopen(e);
                    if (stoppedToo != null) {
                        throw stoppedToo;
                    }
                }
                throw e;
            }
            EngineException stoppedAfter = reopen(null);
            if (stoppedAfter != null) {
                throw stoppedAfter;
            }
        } finally {
            rw.writeLock().unlock();
        }
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
                if (!readOnly) { // a read-only engine holds nothing to commit and writes nothing, not even a header
                    db.db().commit();
                }
                db.db().close();
            } catch (RuntimeException | Error e) {
                try {
                    db.volume().abandon();
                } catch (RuntimeException | Error suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw new EngineException(EngineException.Kind.IO, "close failed: " + MapDbErrors.rootMessage(e), e);
            } finally {
                if (lock != null) {
                    lock.release();
                }
            }
        } finally {
            rw.writeLock().unlock();
        }
    }
}
