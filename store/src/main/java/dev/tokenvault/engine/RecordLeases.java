package dev.tokenvault.engine;

import java.time.Duration;

/**
 * Leases on record ids that every node of a {@link RecordEngine#isShared() shared} store sees: what refresh
 * single-flight needs so that one node of a fleet, not one per node, refreshes a token about to expire
 * ({@link RecordEngine#leases()}).
 *
 * <p>The contract:
 * <ul>
 *   <li>At most one lease per record id runs at a time. A lease runs from the {@link #take} that wrote it until its
 *       duration has passed or it is released; durations are measured by one clock every node shares (the
 *       database's), never by a node's own, so nodes whose clocks differ agree on when a lease ends.</li>
 *   <li>{@link #take} is one atomic step across nodes: of the callers that race for an id with no lease running,
 *       exactly one gets it.</li>
 *   <li>A holder is a name the caller chooses (the engine only compares it); a name should be unique per take, so
 *       that a caller can tell its own take from another's.</li>
 *   <li>Record ids and holder names are not secrets; no token ever reaches a lease.</li>
 *   <li>Failures throw {@link EngineException}, {@code IO} when the storage fails.</li>
 * </ul>
 */
public interface RecordLeases {
    /**
     * Takes the lease on record {@code id} for {@code holder}, to run for {@code duration}, when no lease on it runs.
     *
     * @return the holder of the lease that runs on {@code id} after the step: {@code holder} when this call took it,
     *         {@code null} when none runs (it ended in the meantime)
     */
    String take(String id, String holder, Duration duration);

    /** The holder of the lease that runs on record {@code id}, or {@code null}. */
    String holder(String id);

    /**
     * Ends the lease on record {@code id} if {@code holder} holds it (running or run out); nothing otherwise, so that
     * a holder whose lease ran out never ends the lease another holder took since.
     */
    void release(String id, String holder);
}
