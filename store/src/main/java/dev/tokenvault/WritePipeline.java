package dev.tokenvault;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The write path and its group commit, the only one: writers queue their actions; whichever holds the write lock runs
 * every queued action in order (each sees the ones before it, and each stages at most one batch), then makes them all
 * durable with one engine commit. Writers that arrive during that commit's fsync are served by the next one together.
 * Each caller gets its own result or error, and a caller told its write failed can rely on it: its batch never
 * commits.
 *
 * <p>The write lock is also what everything else that changes the store holds (key rotations, index switches,
 * compaction): the engine has a single writer.
 */
final class WritePipeline {
    /** Most writes combined into one commit: bounds the memory one commit holds and the wait of the last writer. */
    private static final int MAX_GROUP = 512;
    /** Runs of a group that another node's writes keep colliding with, before its writers are told CONFLICT. */
    static final int ATTEMPTS = 5;
    /**
     * Runs of a group again without the writes that failed after staging, before the rest are told that a write of
     * their group failed: each run takes at least one write out, and a failure that hits every run (the disk, the
     * database) should not cost many.
     */
    private static final int RUNS_WITHOUT_THE_FAILED = 2;
    /**
     * How long a queued writer parks before it looks again; the combiner that serves it unparks it, so this is only a
     * safety net, long enough that many waiting writers do not spin.
     */
    private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final RecordEngine engine;
    private final KeyState keyState;
    private final LookupCache cache;
    private final OpenState state;
    /** Test seam for the commit path; {@link CommitProbe#NONE} otherwise. */
    private final CommitProbe probe;
    private final ReentrantLock lock = new ReentrantLock();
    private final ConcurrentLinkedQueue<PendingWrite> queue = new ConcurrentLinkedQueue<>();
    // guarded by lock: batches staged so far, so that the combiner knows whether a failed write had staged its batch
    private long stages;

    /** A write waiting for the combiner. */
    private static final class PendingWrite {
        final Supplier<?> action;
        final Thread waiter = Thread.currentThread();
        Object result;
        boolean staged;
        /** Whether a write that ran before this one in its group staged: this one decided on uncommitted changes. */
        boolean afterStaged;
        /** Failed after staging, in a run that was discarded: its failure is final, and later runs leave it out. */
        boolean settled;
        RuntimeException failure;
        volatile boolean done;

        PendingWrite(Supplier<?> action) {
            this.action = action;
        }
    }

    WritePipeline(RecordEngine engine, KeyState keyState, LookupCache cache, OpenState state, CommitProbe probe) {
        this.engine = engine;
        this.keyState = keyState;
        this.cache = cache;
        this.state = state;
        this.probe = probe;
    }

    /** {@link #write(Supplier)} for an action without a result. */
    void write(Runnable action) {
        write(() -> {
            action.run();
            return null;
        });
    }

    /**
     * Runs {@code action} with every other write excluded, and returns its result once what it staged is durable.
     * The action decides and stages at most one batch ({@link #stage}); when it throws, its key state changes are
     * undone.
     */
    @SuppressWarnings("unchecked")
    <T> T write(Supplier<T> action) {
        PendingWrite w = new PendingWrite(action);
        queue.add(w);
        boolean interrupted = false;
        while (!w.done) {
            if (lock.tryLock()) {
                try {
                    combine();
                } finally {
                    lock.unlock();
                }
                PendingWrite next = queue.peek();
                if (next != null) {
                    LockSupport.unpark(next.waiter);
                }
            } else {
                LockSupport.parkNanos(this, PARK_NANOS);
                // A write cannot be abandoned once queued; keep the interrupt for the caller, but do not spin on it.
                interrupted |= Thread.interrupted();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (w.failure != null) {
            throw w.failure;
        }
        return (T) w.result;
    }

    /** Inside a write action: applies the action's batch, so later reads and actions see it. */
    void stage(Batch batch) {
        stages++; // counted before: a staging that fails has discarded what the group staged before it
        try {
            engine.stage(batch);
        } catch (EngineException e) {
            cache.invalidateAll();
            throw Errors.translate(e);
        }
        keyState.staged();
        probe.reached("vault.staged");
    }

    /** Runs {@code body} with every write excluded (for changes that are not write actions, and consistent reads). */
    <T> T exclusive(Supplier<T> body) {
        return state.underLock(lock, body);
    }

    /** Runs {@code body} with every write excluded, whether or not the vault is open (for close). */
    void locked(Runnable body) {
        lock.lock();
        try {
            body.run();
        } finally {
            lock.unlock();
        }
    }

    /** {@link #exclusive(Supplier)} without a result. */
    void exclusive(Runnable body) {
        exclusive(() -> {
            body.run();
            return null;
        });
    }

    /**
     * With the write lock held (inside {@link #exclusive}), outside any write action: stages {@code batch} and commits
     * it at once. On failure the engine went back to its last durable state; the caller undoes its own changes.
     */
    void commitNow(Batch batch) {
        try {
            engine.commit(batch);
        } catch (EngineException e) {
            cache.invalidateAll();
            throw Errors.translate(e);
        }
    }

    /**
     * Under the write lock: runs the queued writes, one durable commit for all, then releases their callers. Whatever
     * fails, and however (an {@code Error} too), every caller is released, and a caller told its write failed can
     * rely on it: its batch never commits. On a shared engine, when another node's write collided with the group's
     * ({@code RETRY}), the whole group runs again on fresh state, up to {@link #ATTEMPTS} times.
     */
    private void combine() {
        List<PendingWrite> group = new ArrayList<>();
        try {
            for (int attempt = 1; ; attempt++) {
                if (runGroup(group, attempt) || attempt == ATTEMPTS) {
                    break;
                }
                backOff(attempt);
            }
        } catch (RuntimeException | Error e) {
            settleAfter(e, group);
        } finally {
            for (PendingWrite w : group) {
                w.done = true;
                LockSupport.unpark(w.waiter);
            }
        }
    }

    /** How one run of a group's actions ended. */
    private enum Run {
        /** Committed, or every caller has its outcome. */
        DONE,
        /** Another node's collision undid it: worth running again after a back-off. */
        COLLIDED,
        /** Undone because the node's block of seals ran out: run again at once, after a larger reservation. */
        AGAIN,
        /** Undone because writes failed after staging: run again at once without them. */
        AGAIN_WITHOUT_THE_FAILED
    }

    /**
     * The group's actions and their commit, run again at once when a run was undone on purpose; on the first attempt
     * the group takes writers from the queue as it runs. Returns {@code false} when another node's collision undid
     * the run and it is worth running again (nothing of it was applied, and each action's key state went back).
     */
    private boolean runGroup(List<PendingWrite> group, int attempt) {
        int runsWithoutTheFailed = 0;
        while (true) {
            Run run = runOnce(group, attempt, runsWithoutTheFailed < RUNS_WITHOUT_THE_FAILED);
            if (run == Run.DONE) {
                return true;
            }
            if (run == Run.COLLIDED) {
                return false;
            }
            if (run == Run.AGAIN_WITHOUT_THE_FAILED) {
                runsWithoutTheFailed++;
            }
        }
    }

    /**
     * One run of the group's actions, leaving out the settled ones, and their commit. A write that fails after staging
     * fails alone while {@code mayLeaveOutTheFailed}: what the group staged is discarded, and the others run again
     * ({@link Run#AGAIN_WITHOUT_THE_FAILED}) on the committed state, so each caller gets its own outcome.
     */
    private Run runOnce(List<PendingWrite> group, int attempt, boolean mayLeaveOutTheFailed) {
        keyState.reserveSealsAhead(); // before the write holds a connection
        engine.beginWrite();
        boolean discard = false;
        boolean anyStaged = false;
        boolean collided = false;
        boolean sealsRanOut = false;
        int runs = 0;
        while (true) {
            PendingWrite w;
            if (runs < group.size()) {
                w = group.get(runs);
            } else if (attempt == 1 && group.size() < MAX_GROUP && (w = queue.poll()) != null) {
                group.add(w);
            } else {
                break;
            }
            runs++;
            if (w.settled) {
                continue;
            }
            w.result = null;
            w.failure = null;
            w.afterStaged = anyStaged;
            long before = stages;
            try {
                state.check();
                w.result = keyState.undoneOnFailure(w.action);
            } catch (RuntimeException e) {
                w.failure = e;
            } catch (Error e) {
                // Still release every caller of this group; the Error reaches the writer whose action threw it.
                w.failure = new TokenStoreException(ErrorCode.IO, "the write failed: " + e, e);
            }
            w.staged = stages != before;
            anyStaged |= w.staged;
            // staged, then failed: its caller hears of a failure, so the batch must not commit with the group
            discard |= w.failure != null && w.staged;
            if (w.failure instanceof SharedKeys.SealsRunOut) {
                sealsRanOut = true;
                break;
            }
            if (isCollision(w.failure)) {
                collided = true;
                break; // the engine discarded the group's transaction: run the whole group again
            }
        }
        if (sealsRanOut) {
            // nothing is applied yet; the run again reserves enough seals first (another node's turn is not used up)
            engine.discardStaged("the node's block of seals ran out during the write");
            return Run.AGAIN;
        }
        if (collided) {
            return giveUpOrRetry(group, attempt, null) ? Run.DONE : Run.COLLIDED;
        }
        if (discard) {
            String reason = "the change was not saved: a write of the same group commit failed";
            engine.discardStaged(reason);
            if (mayLeaveOutTheFailed && leaveOutTheFailed(group)) {
                return Run.AGAIN_WITHOUT_THE_FAILED;
            }
            failStaged(group, new TokenStoreException(ErrorCode.IO, reason));
        } else if (anyStaged) {
            probe.reached("vault.commit");
            try {
                engine.commitStaged();
            } catch (EngineException e) {
                if (e.kind() == EngineException.Kind.RETRY) {
                    return giveUpOrRetry(group, attempt, e) ? Run.DONE : Run.COLLIDED;
                }
                failStaged(group, Errors.translate(e));
            }
        } else {
            engine.endWrite();
        }
        return Run.DONE;
    }

    /**
     * After a run whose staged batches were discarded because writes failed after staging: those keep their failure
     * and are left out from now on; readers forget what they cached and the key state is read from the engine again,
     * as after any discard. Returns whether any write is left to run again.
     */
    private boolean leaveOutTheFailed(List<PendingWrite> group) {
        boolean others = false;
        for (PendingWrite w : group) {
            if (!w.settled && w.failure != null && w.staged) {
                w.settled = true;
            }
            others |= !w.settled;
        }
        cache.invalidateAll();
        keyState.reload();
        return others;
    }

    /**
     * After another node's collision undid the group's run: the engine is back at its committed state, and so is the
     * key state. Returns {@code false} to run the group again, or, at the last attempt, fails every write of the group
     * with {@code CONFLICT} and returns {@code true}.
     */
    private boolean giveUpOrRetry(List<PendingWrite> group, int attempt, EngineException collision) {
        engine.discardStaged("another node's write collided with this one");
        // Nothing was committed, so the cache holds nothing new. A shared store's key changes are made in transactions
        // of their own, never staged with a write, so its key state is the store's already (and reloading it at each
        // collision would retire a keyring each time); another engine's seal counts went back with the batches.
        if (!engine.isShared()) {
            keyState.reload();
        }
        if (attempt < ATTEMPTS) {
            return false;
        }
        for (PendingWrite w : group) {
            if (!w.settled) { // a write left out after it failed keeps its own failure
                w.failure = new TokenStoreException(ErrorCode.CONFLICT, "the write collided with other nodes' writes to"
                        + " the same records " + ATTEMPTS + " times in a row and was not saved; try again", collision);
            }
        }
        return true;
    }

    /** Whether {@code failure} is, or was caused by, another node's collision ({@code RETRY}). */
    private static boolean isCollision(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof EngineException e && e.kind() == EngineException.Kind.RETRY) {
                return true;
            }
        }
        return false;
    }

    /** Sleeps a random time that grows with the attempt, so that colliding nodes do not collide again. */
    private static void backOff(int attempt) {
        long maxMillis = 2L << attempt; // 4, 8, 16, 32 ms
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ThreadLocalRandom.current().nextLong(1, maxMillis + 1)));
    }

    /**
     * After the group's staged batches were discarded (by a failure, or on purpose): every write that staged and was
     * not told of a failure yet is told {@code failure}, and so is every write that ran after one that staged and did
     * not fail on its input alone: it decided on changes that were never saved (a delete told {@code NOT_FOUND} because
     * an earlier write of the group had deleted the record, a save told {@code CONFLICT} by a value an earlier write
     * had taken, a save that changed nothing because an earlier write had made the same change). Readers forget what
     * they cached, and the key state is read from the engine again.
     */
    private void failStaged(List<PendingWrite> group, TokenStoreException failure) {
        cache.invalidateAll();
        for (PendingWrite w : group) {
            boolean decidedOnTheDiscarded = w.afterStaged && !w.staged
                    && (w.failure == null || decidedOnStoredState(w.failure));
            if ((w.staged && w.failure == null) || decidedOnTheDiscarded) {
                w.failure = failure;
            }
        }
        keyState.reload();
    }

    /** Whether {@code failure} came from what the store held (a record missing, a value taken), not from the input. */
    private static boolean decidedOnStoredState(RuntimeException failure) {
        return failure instanceof TokenStoreException e
                && (e.code() == ErrorCode.NOT_FOUND || e.code() == ErrorCode.CONFLICT);
    }

    /**
     * After {@code failure} broke off {@link #combine()} before its commit, or while it went back after a failed one:
     * discards what the group staged. When even that fails, the outcome of the group cannot be known: the vault
     * stops using the store, and every later call says to reopen it.
     */
    private void settleAfter(Throwable failure, List<PendingWrite> group) {
        try {
            engine.discardStaged("the change was not saved: " + failure);
            failStaged(group, new TokenStoreException(ErrorCode.IO, "the change was not saved: " + failure, failure));
        } catch (RuntimeException | Error again) {
            again.addSuppressed(failure);
            TokenStoreException stopped = new TokenStoreException(ErrorCode.IO, "the store " + state.where()
                    + " stopped after a write failed in a way that leaves its outcome unknown (" + again + "); close it"
                    + " and open it again (the redo log brings back its last durable state)", again);
            state.stop(stopped);
            cache.invalidateAll();
            for (PendingWrite w : group) {
                if (w.failure == null) {
                    w.failure = stopped;
                }
            }
        }
    }
}
