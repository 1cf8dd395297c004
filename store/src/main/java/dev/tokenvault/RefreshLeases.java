package dev.tokenvault;

import dev.tokenvault.engine.RecordEngine;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Refresh single-flight ({@link TokenVault.Builder#refreshSingleFlight}): one token refresh per record, however many
 * callers find it while it is about to expire. A client such as the Zoho SDK finds the token, refreshes it when
 * {@code expiryTime - now < threshold}, and saves the result; this part makes all but one of those finders wait for
 * that save.
 *
 * <p>The contract of {@link #find}, for a record the selection returns:
 * <ul>
 *   <li>It is <em>expiring</em> when its {@code expiryTime} (epoch milliseconds) minus the vault clock's time is less
 *       than {@code window}. A record with no {@code expiryTime}, or one too large for a {@code long}, never is.
 *       Anything else is returned at once, with no lease: this is the only cost a find pays when nothing expires.</li>
 *   <li>The first caller that finds an expiring record takes the lease on its id, for {@code maxWait}, and gets the
 *       record as stored: it is expected to refresh and save. A find of the same record by the holder's own thread
 *       gets it too.</li>
 *   <li>Every other find of that record waits while the lease runs. The lease ends when a save or delete of that
 *       record commits (from any thread, on a shared store of the holder's node: {@link #changed}), when
 *       {@code maxWait} has passed, or when the holder's thread dies. The waiters then select again: a record that
 *       no longer expires is returned to all of them (when the save changed the value a waiter looked it up by, so
 *       that its selection finds nothing, it gets the record by the id it waited for); one that still expires goes, with the next lease, to exactly
 *       one of them, and the others wait for that lease.</li>
 *   <li>No find waits more than 2 x {@code maxWait} in all: past that it gets the record as stored, without a
 *       lease. So a failed refresh costs one more refresh, not a burst; one that always fails costs each finder at
 *       most 2 x {@code maxWait}. An interrupted waiter stops waiting the same way and keeps its interrupt.</li>
 *   <li>What is cached does not matter: the selection (cache or not) runs first, the lease check after it, and a
 *       new holder decides by the store (see {@link #find}).</li>
 * </ul>
 * The leases themselves live in a {@link LeaseTable}: in this process ({@link LocalLeases}), or on a shared engine
 * also in a table that every node sees ({@link SharedLeases}), so that the rules hold across nodes: a node that dies
 * holding a lease blocks the others until it runs out, after {@code maxWait}.
 */
final class RefreshLeases {
    /** The longest {@code window} and {@code maxWait}: a refresh threshold or wait beyond this is a mistake. */
    static final Duration MAX_SETTING = Duration.ofHours(1);
    /** How often a waiter looks whether the vault was closed meanwhile. */
    private static final long CLOSE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** The builder's setting; {@link #of} rejects impossible values. */
    record Settings(Duration window, Duration maxWait) {
        /**
         * @throws TokenStoreException {@code INVALID_ARGUMENT} naming the value: null, not positive, a window under
         *         1 millisecond (expiry times count milliseconds), or either over 1 hour
         */
        static Settings of(Duration window, Duration maxWait) {
            check("window", window);
            check("maxWait", maxWait);
            if (window.toNanos() < TimeUnit.MILLISECONDS.toNanos(1)) {
                throw Errors.invalid("refreshSingleFlight window must be at least 1 millisecond: expiryTime counts"
                        + " milliseconds");
            }
            return new Settings(window, maxWait);
        }

        private static void check(String name, Duration d) {
            if (d == null) {
                throw Errors.invalid("refreshSingleFlight " + name + " must not be null");
            }
            if (d.isNegative() || d.isZero()) {
                throw Errors.invalid("refreshSingleFlight " + name + " must be positive");
            }
            if (d.compareTo(MAX_SETTING) > 0) {
                throw Errors.invalid("refreshSingleFlight " + name + " must be at most 1 hour");
            }
        }
    }

    private final long windowMillis;
    private final Duration maxWait;
    private final long maxWaitNanos;
    private final Clock clock;
    private final LeaseTable table;
    private final OpenState state;
    /** Where a find selects first: the vault's cache (which reads the store on a miss, or always when off). */
    private final Selection.Reader cached;
    /** The store itself, past the cache: what a new holder decides by. */
    private final Selection.Reader stored;
    /** Where a find selects after a wait: the store when other nodes' saves end leases, else the cache. */
    private final Selection.Reader afterWait;
    private final LongAdder granted = new LongAdder();
    private final LongAdder waits = new LongAdder();
    private final LongAdder timedOut = new LongAdder();
    private final AtomicLong longestWaitNanos = new AtomicLong();

    /**
     * @param cached    where finds select first
     * @param stored    the store past any cache: a new holder re-reads the record there
     * @param afterWait where finds select after a wait ({@code stored} when another node's save may end it)
     */
    RefreshLeases(Settings settings, Clock clock, LeaseTable table, OpenState state, Selection.Reader cached,
                  Selection.Reader stored, Selection.Reader afterWait) {
        this.windowMillis = settings.window().toMillis();
        this.maxWait = settings.maxWait();
        this.maxWaitNanos = settings.maxWait().toNanos();
        this.clock = clock;
        this.table = table;
        this.state = state;
        this.cached = cached;
        this.stored = stored;
        this.afterWait = afterWait;
    }

    /**
     * The part for the builder's setting, {@code null} when it is off: with the leases of {@code engine} when every
     * node of a shared store sees them ({@link SharedLeases}), else with leases in this process. Finds select through
     * {@code cache}; a new holder re-reads {@code store}, and so do waiters on a shared store, whose cache hears of
     * another node's save only at its change feed's next poll.
     */
    static RefreshLeases of(TokenVault.Builder b, OpenState state, RecordEngine engine, LookupCache cache,
                            Selection.Reader store) {
        if (b.refreshSingleFlight == null) {
            return null;
        }
        return engine.leases().map(rows -> new RefreshLeases(b.refreshSingleFlight, b.clock,
                        new SharedLeases(rows, cache, state::isClosed), state, cache, store,
                        store))
                .orElseGet(() -> new RefreshLeases(b.refreshSingleFlight, b.clock, new LocalLeases(), state, cache,
                        store, cache));
    }

    /** The counters of {@code leases}, which may be {@code null} (off: all zero). */
    static VaultStats.SingleFlight statsOf(RefreshLeases leases) {
        return leases == null ? VaultStats.SingleFlight.OFF : new VaultStats.SingleFlight(leases.granted.sum(),
                leases.waits.sum(), leases.timedOut.sum(), Duration.ofNanos(leases.longestWaitNanos.get()));
    }

    /**
     * The record {@code select} returns, after the lease rules above; {@code select} is the find's own selection from
     * the reader it is given, and runs again after each wait and after each take.
     *
     * <p>A new holder decides by the store, never by a cache: it reads the record again past the cache, and when that
     * no longer expires (a save ended the last lease just before this take, and the finder's cache had not heard of
     * it yet), it gives the lease back at once and returns what is stored. A holder's save commits before its lease
     * ends, so no refresh that ended a lease before this take can be missed by that read.
     */
    TokenRecord find(Function<Selection.Reader, TokenRecord> select) {
        TokenRecord r = select.apply(cached);
        if (!expiring(r)) {
            return r;
        }
        long started = System.nanoTime();
        long giveUp = started + 2 * maxWaitNanos;
        boolean waited = false;
        while (true) {
            LeaseTable.Take take = table.tryTake(r.id(), maxWait);
            if (take == LeaseTable.Take.HELD_BY_CALLER) {
                return done(r, waited, started);
            }
            if (take == LeaseTable.Take.TAKEN) {
                // a save may have ended the last lease just before this take: only an expiring record needs a holder
                TokenRecord again = readAsHolder(select, r.id());
                if (expiring(again) && again.id().equals(r.id())) {
                    granted.increment();
                    return done(again, waited, started);
                }
                table.release(r.id());
                if (again == null) {
                    // the save that ended the last lease may have changed the value this find looked up by: the
                    // record it found, as saved, as a waiter gets it
                    again = savedById(stored, r.id());
                }
                if (!expiring(again)) {
                    return done(again, waited, started);
                }
                r = again;
                continue;
            }
            if (!waited) {
                waited = true;
                waits.increment();
            }
            boolean ended = awaitEnd(r.id(), giveUp);
            state.check();
            TokenRecord now = select.apply(afterWait);
            if (ended && now == null) {
                now = savedById(afterWait, r.id());
            }
            if (!ended || !expiring(now)) {
                return done(now, true, started);
            }
            r = now;
        }
    }

    /**
     * The new holder's read of the store. When it fails (IO, a pool timeout) the caller gets the error and will not
     * refresh, so the lease it just took on {@code id} is given back first: otherwise every other finder, on every
     * node, would wait {@code maxWait} for a refresh that never comes.
     */
    private TokenRecord readAsHolder(Function<Selection.Reader, TokenRecord> select, String id) {
        try {
            return select.apply(stored);
        } catch (RuntimeException | Error e) {
            try {
                table.release(id);
            } catch (RuntimeException | Error suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * After a wait whose query no longer finds anything: the record the find waited for, read by its {@code id},
     * when it no longer expires. The holder's save may have changed the value the find looked it up by (a new access
     * token, a rotated refresh token); the waiter still gets the saved token. A record still expiring (or deleted)
     * gives {@code null}, as the query did.
     */
    private TokenRecord savedById(Selection.Reader reader, String id) {
        TokenRecord byId = reader.find(Field.ID, id);
        return expiring(byId) ? null : byId;
    }

    /** Ends the lease on record {@code id}: a save or delete of it committed. */
    void changed(String id) {
        table.release(id);
    }

    /** Ends every lease: every record was deleted. */
    void changedAll() {
        table.releaseAll();
    }

    /** The vault is closing, marked closed already: stops what the lease table runs in the background. */
    void close() {
        table.close();
    }

    /**
     * Waits until the lease on {@code id} ends or {@code giveUp} (a {@link System#nanoTime()}) passes, looking every
     * {@link #CLOSE_CHECK_NANOS} whether the vault was closed. An interrupt ends the wait as giving up does.
     *
     * @return whether the lease ended ({@code false}: gave up)
     */
    private boolean awaitEnd(String id, long giveUp) {
        try {
            while (true) {
                long left = giveUp - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                if (table.awaitEnd(id, Math.min(left, CLOSE_CHECK_NANOS))) {
                    return true;
                }
                state.check();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Counts a finished wait: its length, and whether it ended without a refreshed record. */
    private TokenRecord done(TokenRecord result, boolean waited, long started) {
        if (waited) {
            long took = System.nanoTime() - started;
            longestWaitNanos.accumulateAndGet(took, Math::max);
            if (expiring(result)) {
                timedOut.increment();
            }
        }
        return result;
    }

    /** Whether {@code r} holds an {@code expiryTime} less than {@code window} after the vault clock's time. */
    private boolean expiring(TokenRecord r) {
        if (r == null) {
            return false;
        }
        long expiry = millis(r.get(Field.EXPIRY_TIME));
        return expiry >= 0 && expiry - clock.millis() < windowMillis;
    }

    /** Decimal digits (as saves check them) as a number, or -1 when absent or too large for a {@code long}. */
    static long millis(String digits) {
        if (digits == null) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < digits.length(); i++) {
            int d = digits.charAt(i) - '0';
            if (d < 0 || d > 9 || v > (Long.MAX_VALUE - d) / 10) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }
}
