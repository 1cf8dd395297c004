package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import java.nio.file.Path;
import java.util.concurrent.locks.Lock;

/**
 * The {@link OpenDb} a {@link MapDbEngine} works on, its commit, and the way back to the store's last durable state
 * when a change fails: MapDB's rollback in memory, else reopening the files (the redo log replays what was durable).
 * When neither works, the engine stops: it releases its files, and every later call reports why.
 *
 * <p>Contract: made once per engine, with the store open. {@link MapDbEngine} calls every method under its write
 * lock, except {@link #live()}, which readers call under its read lock, {@link #completeCommit}, which the one writer
 * calls after {@link #commitLogged} with readers let in, and the accessors of the final settings
 * ({@link #path()}, {@link #indexCount()}, {@link #probe()}, {@link #readOnly()}), which need no lock. MapDB writes
 * nothing to the volume until its commit, so what is staged and not committed lives in MapDB's memory only, and going
 * back to the durable state means dropping that memory.
 */
final class RecoverableDb {
    private final Path path; // null in memory
    private final int indexCount;
    private final StoreLock lock; // null in memory
    private final CommitProbe probe;
    /** Opened read-only: every change fails, and nothing is ever written. */
    private final boolean readOnly;

    // guarded by the engine's write lock (readers use them under its read lock)
    private OpenDb db;
    private boolean closed;
    /** Set when a failed change could not be undone: the engine stopped, and every call says why. */
    private EngineException stopped;

    RecoverableDb(Path path, int indexCount, StoreLock lock, CommitProbe probe, boolean readOnly, OpenDb db) {
        this.path = path;
        this.indexCount = indexCount;
        this.lock = lock;
        this.probe = probe;
        this.readOnly = readOnly;
        this.db = db;
    }

    /** The store file; {@code null} in memory. */
    Path path() {
        return path;
    }

    int indexCount() {
        return indexCount;
    }

    CommitProbe probe() {
        return probe;
    }

    boolean readOnly() {
        return readOnly;
    }

    /** Whether the engine was closed, or stopped. */
    boolean closed() {
        return closed;
    }

    /** The open store; fails with {@code CLOSED}, or with {@code IO} and the reason when the engine stopped. */
    OpenDb live() {
        if (closed) {
            throw stopped != null ? new EngineException(EngineException.Kind.IO, stopped.getMessage(), stopped)
                    : new EngineException(EngineException.Kind.CLOSED, "store is closed");
        }
        return db;
    }

    /**
     * Commits everything staged; on return it is durable. On failure the engine went back to its last durable state
     * (or stopped) before this throws, whatever the Throwable was.
     *
     * <p>The commit point is the redo record, written whole and synced ({@link RedoVolume#committed()}): a failure
     * before it leaves the store as before; a failure after it leaves the commit durable (the next open replays it),
     * so it counts as done and this returns normally, and the in-memory state is reloaded from the files all the same.
     *
     * @throws EngineException {@code CLOSED}, or {@code IO} when the commit failed before its commit point
     */
    void commit() {
        OpenDb o = live();
        long before = o.volume().committed();
        try {
            probe.reached("engine.commit");
            o.db().commit();
            probe.reached("engine.committed");
        } catch (Throwable t) {
            afterFailedCommit(t, o.volume().committed() != before);
        }
    }

    /**
     * After a commit failed with {@code t}: goes back to the durable state (or stops), then throws {@code IO} unless
     * the commit had passed its commit point.
     */
    private void afterFailedCommit(Throwable t, boolean durable) {
        reloadAfterFailure(t);
        if (!durable) {
            String after = stopped == null ? "" : "; " + stopped.getMessage(); // the reload stopped the store: why
            throw new EngineException(EngineException.Kind.IO, "commit failed: " + MapDbErrors.rootMessage(t) + after,
                    t);
        }
    }

    /**
     * MapDB's commit of everything staged, up to its redo record written and not synced: {@link #completeCommit} does
     * the rest, without the engine's write lock, so that readers need not wait for the disk. On failure nothing is
     * durable (the written record, if any, is forgotten): the engine went back to its last durable state, or stopped,
     * before this throws.
     *
     * @throws EngineException {@code CLOSED}, or {@code IO}
     */
    void commitLogged() {
        OpenDb o = live();
        o.volume().deferCompletion(true);
        try {
            probe.reached("engine.commit");
            o.db().commit();
        } catch (Throwable t) {
            afterFailedCommit(t, false); // throws: a written record is forgotten by the reload
        } finally {
            o.volume().deferCompletion(false);
        }
    }

    /**
     * Completes the commit {@link #commitLogged} left: syncs its redo record (the commit point) and applies it to the
     * main file, as {@link #commit} does. Runs without the engine's write lock; takes {@code writeLock} only to go back
     * to the durable state after a failure.
     *
     * @throws EngineException {@code IO} when the commit failed before its commit point
     */
    void completeCommit(Lock writeLock) {
        OpenDb o = live();
        long before = o.volume().committed();
        try {
            o.volume().completeCommit();
            probe.reached("engine.committed");
        } catch (Throwable t) {
            boolean durable = o.volume().committed() != before;
            writeLock.lock();
            try {
                afterFailedCommit(t, durable);
            } finally {
                writeLock.unlock();
            }
        }
    }

    /** Drops every staged change and goes back to the durable state; {@code failure} collects what else failed. */
    void discard(EngineException failure) {
        if (path == null && !closed) {
            // In memory there are no files to go back to, but nothing uncommitted has reached the volume yet (MapDB
            // writes to it only inside commit): MapDB's rollback drops it all.
            try {
                db.db().rollback();
                db.reload();
                return;
            } catch (Throwable t) {
                failure.addSuppressed(t);
            }
        }
        reloadAfterFailure(failure);
    }

    /**
     * After a failed change: forgets every uncommitted change by reopening the files (the redo log replays what was
     * durable). When that fails too, or the store is in memory (there is nothing durable to go back to), the engine
     * stops. Never throws.
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
        if (db.volume().failedCommitMayReplay()) {
            // Opening the files would replay the failed commit, which its callers were told did not happen.
            stop(cause, "the store " + path + " stopped: a commit failed and its redo record could not be erased"
                    + " (the disk is failing?), so that commit may still be applied when the store is next opened");
            return;
        }
        reopen(cause);
    }

    /**
     * Opens the files again, the one way back to the durable state (after a failed change, and after compaction
     * swapped the file). When that fails, the engine stops, and this returns why; else {@code null}.
     *
     * @param cause the failure that made the reopen necessary, added to a failure of the reopen; {@code null} if none
     */
    EngineException reopen(Throwable cause) {
        try {
            probe.reached("engine.reload");
            // Uninterruptibly: a writer interrupted during its commit (which is why the files are reopened, often)
            // must not close the new channels too, and stop the store.
            db = Uninterruptibly.get(() -> readOnly ? MapDbFiles.openReadOnly(path, indexCount)
                    : MapDbFiles.open(path, indexCount, probe));
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
     * After an open that failed once the files were open (the layout upgrade or the clean-up of stale generations):
     * releases the files; what was durable replays at the next open. Adds its own failure to {@code failure}.
     */
    void abandonAfterFailedOpen(Throwable failure) {
        if (closed) {
            return;
        }
        try {
            db.volume().abandon();
        } catch (RuntimeException | Error suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    /** Commits what is staged (unless read-only), closes the files and releases the lock; again, does nothing. */
    void close() {
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
    }
}
