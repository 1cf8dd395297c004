package dev.tokenvault;

import java.time.Duration;

/**
 * Where refresh leases live: at most one lease per record id, with a holder and an end. {@link RefreshLeases} decides
 * when a find takes a lease or waits; a table only keeps them. {@link LocalLeases} keeps them in this process.
 * {@link SharedLeases} keeps them on a shared engine, where every node sees them (a row per leased id with its holder
 * and expiry, taken in one atomic statement), so that a whole fleet makes one refresh.
 *
 * <p>The contract every implementation meets:
 * <ul>
 *   <li>{@link #tryTake} is atomic: of callers that race for a lease that is free (never taken, released or ended),
 *       exactly one gets {@link Take#TAKEN}.</li>
 *   <li>A lease ends at {@link #release} (across nodes: its own node's), when its duration has passed, or when the
 *       table can tell that its holder is gone (in process: the holder's thread died; across nodes, at least its
 *       duration). An ended lease is free.</li>
 *   <li>The holder is the calling thread (across nodes: that thread on that node).</li>
 *   <li>Durations are measured by the table's own clock (across nodes: one clock all nodes share, such as the
 *       database's), never by the vault's {@code clock} setting, so holders and waiters agree on when a lease
 *       ends.</li>
 *   <li>Record ids are not secrets; a table never sees a token.</li>
 * </ul>
 */
interface LeaseTable {
    /** What {@link #tryTake} found. */
    enum Take {
        /** The lease was free; the caller holds it now. */
        TAKEN,
        /** The caller holds it already (it is not extended). */
        HELD_BY_CALLER,
        /** Another holder's lease is running. */
        HELD_BY_OTHER
    }

    /** Takes the lease on record {@code id} for {@code duration} if it is free; atomic. */
    Take tryTake(String id, Duration duration);

    /**
     * Returns once no lease on {@code id} is running, or after {@code nanos} (it may return earlier: the caller looks
     * again).
     *
     * @return whether no lease on {@code id} was running on return
     * @throws InterruptedException when the waiting thread is interrupted
     */
    boolean awaitEnd(String id, long nanos) throws InterruptedException;

    /**
     * Ends the lease on record {@code id} that this table keeps: in process whoever holds it, across nodes this node's
     * (another node's lease ends by that node's release or when it runs out); nothing when none is held. Across nodes
     * a take still in flight on this node (between its local lease and its row) is left to finish: its holder reads
     * the store after the take, so it sees the change this release follows.
     */
    void release(String id);

    /** Ends every lease, as {@link #release} each. */
    void releaseAll();

    /** The vault is closing: stops whatever runs in the background; under the pipeline's lock. */
    default void close() {
    }
}
