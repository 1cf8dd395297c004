package dev.tokenvault;

import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordLeases;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The {@link LeaseTable} of a shared store, whose nodes (processes, or vaults in one process) must make one refresh
 * between them. A lease is held twice: in this node's {@link LocalLeases}, so that its threads wait for each other
 * without asking the database, and in the engine's {@link RecordLeases}, a row with an expiry by the database's clock
 * that every node sees. A thread holds the lease when it holds both; only the thread that gets a node's local lease
 * asks the database for the row.
 *
 * <ul>
 *   <li>Holder: this node's random id (one per vault), the thread's id and a take number, so that a node tells its
 *       own rows from those of other nodes, and a take from an earlier one.</li>
 *   <li>A waiter waits for the local lease (a save on this node wakes it at once), then polls the row every
 *       {@link #POLL_NANOS}; the waiters of one node share one poll per id and interval.</li>
 *   <li>The holder's thread dying ends its local lease at once, as in one process, and its lease for every node:
 *       while this node holds rows, a daemon thread of its own looks every {@link #REAP_NANOS} whether their threads
 *       are alive and deletes the rows of dead ones (a waiter here, or the next take here, does so too), which other
 *       nodes' waiters see at their next poll. A node that dies (or is closed) holding a lease blocks the others until
 *       the row runs out: at most the lease's duration, {@code maxWait}.</li>
 *   <li>When a lease ended, or was just taken, the cached lookups of its record are forgotten, so that later finds
 *       here hit what the holder's save committed sooner. The finds of the lease itself do not rely on it, so that they
 *       depend on no cache's timing (docs/ARCHITECTURE.md, section 13, tells the race that once let an old entry be
 *       served): {@link RefreshLeases} reads the store after a take, and on this table also after a wait.</li>
 *   <li>A release follows a save on this node that committed, and ends only this node's lease: the row is deleted
 *       by the holder name this node wrote, so a holder whose lease ran out and saves late leaves the row another
 *       node took since. When the database fails to delete the row, the save still succeeded, so the failure is not
 *       reported: the row runs out after {@code maxWait}.</li>
 * </ul>
 *
 * <p>Memory: besides {@link LocalLeases}, at most one small entry per record id whose row this node took (removed at
 * its release, the next take here, or its thread's death) and one per record id whose row this node's waiters poll
 * (removed when they see it end). Threads: the one that looks at the holders, only while this node holds a row and
 * is open.
 */
final class SharedLeases implements LeaseTable {
    /** How often a waiter looks at the row of a lease another node holds. */
    static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(25);
    /** How often, while this node holds rows, it looks whether the threads that took them are alive. */
    static final long REAP_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A row this node took: its holder name and the thread that took it. */
    private record Held(String name, Thread thread) { }

    /** The last look at one id's row, shared by the waiters of this node. */
    private static final class Poll {
        long atNanos;
        boolean running;
        boolean done;
    }

    private final RecordLeases rows;
    private final LocalLeases local = new LocalLeases();
    private final LookupCache cache;
    private final String node;
    private final AtomicLong takes = new AtomicLong();
    private final ConcurrentHashMap<String, Held> held = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Poll> polls = new ConcurrentHashMap<>();
    /** Whether the vault was closed: the thread that looks at the holders stops. */
    private final BooleanSupplier closed;
    /** Whether that thread runs. */
    private final AtomicBoolean reaping = new AtomicBoolean();
    /** The thread that looks at the holders, while it runs: {@link #close} stops it and waits for it. */
    private volatile Thread reaper;

    SharedLeases(RecordLeases rows, LookupCache cache) {
        this(rows, cache, () -> false);
    }

    /** @param closed whether the vault was closed, after which no holder's death is looked for */
    SharedLeases(RecordLeases rows, LookupCache cache, BooleanSupplier closed) {
        this.rows = rows;
        this.cache = cache;
        this.closed = closed;
        byte[] id = new byte[8];
        RANDOM.nextBytes(id);
        this.node = HexFormat.of().formatHex(id);
    }

    /**
     * Takes the local lease (pending while the row is taken: a release on this node meanwhile leaves it, see
     * {@link LocalLeases}), then the row. This node's earlier row on {@code id} is deleted first only when the thread
     * that took it has died: a live one's local lease ran out (its row runs out too, and the take overwrites it) or
     * was ended while its row is still its own, and deleting that would make two holders.
     */
    @Override
    public Take tryTake(String id, Duration duration) {
        Take here = local.tryTakePending(id, duration);
        if (here != Take.TAKEN) {
            return here;
        }
        String name = node + "/" + Thread.currentThread().getId() + "/" + takes.incrementAndGet();
        String holder;
        try {
            endRowOfDeadHolder(id, held.get(id));
            holder = Errors.call(() -> rows.take(id, name, duration));
        } catch (RuntimeException | Error e) {
            local.releaseOwn(id); // only this take's: another thread's, when this one's ran out meanwhile, stays
            throw e;
        }
        if (!name.equals(holder)) {
            local.releaseOwn(id); // another holder's row: this node's other finders ask the database again
            return Take.HELD_BY_OTHER;
        }
        synchronized (this) { // with release: it sees both the row and the local lease as this take's, or neither
            held.put(id, new Held(name, Thread.currentThread()));
            local.settle(id);
        }
        startReaper();
        forgetCached(id);
        return Take.TAKEN;
    }

    /** Starts the thread that looks at the holders, unless it runs. */
    private void startReaper() {
        if (reaping.compareAndSet(false, true)) {
            Thread t = new Thread(this::reapUntilStopped, "tokenvault-lease-holders-" + node);
            t.setDaemon(true);
            reaper = t;
            t.start();
        }
    }

    /**
     * {@link #reap}, which clears {@link #reaping} itself when it stops; when something it does not catch ends it (an
     * {@code Error}), this clears it, so that the next take starts a reaper again. Not in a {@code finally}: after a
     * normal stop another take may already have started the next reaper, whose flag this must not clear.
     */
    private void reapUntilStopped() {
        try {
            reap();
        } catch (RuntimeException | Error e) {
            reaping.set(false);
            throw e;
        }
    }

    /**
     * Stops the thread that looks at the holders and waits for it, so that it touches neither the engine nor the
     * caller's data source once the vault has closed. The vault is marked closed first, so no take starts another.
     */
    @Override
    public void close() {
        Thread t = reaper;
        if (t == null) {
            return;
        }
        t.interrupt();
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Every {@link #REAP_NANOS}, deletes the rows whose threads died, so that other nodes need not wait for them to
     * run out; stops when this node holds no row (a take then starts it again) or the vault was closed. A delete that
     * fails is tried again at the next look.
     */
    private void reap() {
        while (true) {
            try {
                TimeUnit.NANOSECONDS.sleep(REAP_NANOS);
            } catch (InterruptedException e) {
                reaping.set(false);
                return;
            }
            if (closed.getAsBoolean()) {
                reaping.set(false);
                return;
            }
            held.forEach((id, mine) -> {
                if (!mine.thread().isAlive() && held.remove(id, mine)) {
                    try {
                        rows.release(id, mine.name());
                    } catch (RuntimeException e) {
                        held.putIfAbsent(id, mine); // unless a take replaced it meanwhile
                    }
                }
            });
            if (held.isEmpty()) {
                reaping.set(false);
                // a take that recorded a row before this and saw the thread running started none: look again
                if (held.isEmpty() || !reaping.compareAndSet(false, true)) {
                    return;
                }
            }
        }
    }

    @Override
    public boolean awaitEnd(String id, long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + nanos;
        while (true) {
            if (!local.awaitEnd(id, deadline - System.nanoTime())) {
                return false;
            }
            Held mine = held.get(id);
            if (mine != null && !mine.thread().isAlive()) {
                endRowOfDeadHolder(id, mine);
                forgetCached(id);
                return true;
            }
            if (!rowRunning(id)) {
                forgetCached(id);
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.sleep(Math.min(left, POLL_NANOS));
        }
    }

    /**
     * Ends this node's lease on {@code id}: its local lease and the row this node took, by its holder name, so that a
     * row another node took since (after this node's ran out) stays. Another node's lease ends by that node's save,
     * or when its row runs out. A take in flight on this node is left alone, its local lease and the row it gets: it
     * reads the store after it, so it sees the save this release follows.
     */
    @Override
    public void release(String id) {
        Held mine;
        Runnable endLocal;
        synchronized (this) { // a take settles all at once, before this or after it
            if (local.pending(id)) {
                return;
            }
            mine = held.remove(id);
            endLocal = local.releaser(id);
        }
        if (mine != null) {
            quietly(() -> rows.release(id, mine.name()));
        }
        polls.remove(id);
        endLocal.run(); // last: the waiters it wakes find the row gone
    }

    /** Ends every lease of this node, as {@link #release} does each. */
    @Override
    public void releaseAll() {
        Map<String, Held> mine = new HashMap<>();
        Runnable endLocal;
        synchronized (this) {
            held.forEach((id, h) -> {
                if (!local.pending(id) && held.remove(id, h)) {
                    mine.put(id, h);
                }
            });
            endLocal = local.releaserOfAll();
        }
        mine.forEach((id, h) -> quietly(() -> rows.release(id, h.name())));
        polls.clear();
        endLocal.run();
    }

    /**
     * Deletes the row {@code mine} (or nothing) this node took for {@code id} when the thread that took it has died,
     * unless a newer take replaced it.
     */
    private void endRowOfDeadHolder(String id, Held mine) {
        if (mine != null && !mine.thread().isAlive() && held.remove(id, mine)) {
            Errors.run(() -> rows.release(id, mine.name()));
        }
    }

    /**
     * Whether a lease row runs on {@code id}: looked up at most once per {@link #POLL_NANOS} for all waiters here while
     * it runs; once it has ended, each waiter looks once more (and none is left to remember it for).
     */
    private boolean rowRunning(String id) {
        Poll p = polls.computeIfAbsent(id, k -> new Poll());
        synchronized (p) {
            long now = System.nanoTime();
            if (!p.done || now - p.atNanos >= POLL_NANOS) {
                p.running = Errors.call(() -> rows.holder(id)) != null;
                p.atNanos = now;
                p.done = true;
            }
            if (!p.running) {
                polls.remove(id, p);
            }
            return p.running;
        }
    }

    private void forgetCached(String id) {
        cache.invalidateIds(List.of(id));
    }

    /** A release after a committed save: its failure must not turn the save into an error (the row runs out). */
    private static void quietly(Runnable release) {
        try {
            release.run();
        } catch (EngineException e) {
            // the lease ends at its expiry instead; the save it follows is durable
        }
    }
}
