package dev.tokenvault;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The {@link LeaseTable} of one process: a map from record id to its lease, ends measured with
 * {@link System#nanoTime()}. A released lease wakes its waiters at once. A lease whose holder thread died ends too,
 * but a dead thread signals nothing, so waiters look at the holder every {@link #HOLDER_CHECK_NANOS}.
 *
 * <p>{@link SharedLeases} takes its node's leases here too, and takes the database's row after the local lease: for
 * that time the local lease is <em>pending</em> ({@link #tryTakePending} to {@link #settle}). A {@link #release}
 * leaves a pending lease alone: the take that holds it has not decided yet, and its holder reads the record from the
 * store after it, so it sees the save the release follows. The take's own failure paths end only the lease the
 * calling thread holds ({@link #releaseOwn}), never one another thread took since this one's ran out.
 *
 * <p>Memory: one small entry per leased record id, removed when the lease is released, or when a later take or
 * wait finds it ended; at most one per record.
 */
final class LocalLeases implements LeaseTable {
    /** How often a waiter looks whether the holder's thread is still alive. */
    private static final long HOLDER_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /** One lease: its holder, its end, and the latch its waiters park on. */
    private static final class Lease {
        final Thread holder = Thread.currentThread();
        final long endNanos;
        final CountDownLatch ended = new CountDownLatch(1);
        /** A take still in flight ({@link #tryTakePending}): {@link #release} leaves it. */
        volatile boolean pending;

        Lease(long endNanos, boolean pending) {
            this.endNanos = endNanos;
            this.pending = pending;
        }

        boolean running(long now) {
            return ended.getCount() > 0 && now - endNanos < 0 && holder.isAlive();
        }
    }

    private final ConcurrentHashMap<String, Lease> leases = new ConcurrentHashMap<>();

    @Override
    public Take tryTake(String id, Duration duration) {
        return take(id, duration, false);
    }

    /**
     * As {@link #tryTake}, but a lease taken stays pending, left alone by {@link #release} and {@link #releaseAll},
     * until the calling thread {@link #settle settles} it or gives it back ({@link #releaseOwn}).
     */
    Take tryTakePending(String id, Duration duration) {
        return take(id, duration, true);
    }

    /** The calling thread's pending lease on {@code id}, if it still holds it, becomes an ordinary one. */
    void settle(String id) {
        Lease lease = leases.get(id);
        if (lease != null && lease.holder == Thread.currentThread()) {
            lease.pending = false;
        }
    }

    /** Whether the lease on {@code id} is a take still in flight. */
    boolean pending(String id) {
        Lease lease = leases.get(id);
        return lease != null && lease.pending;
    }

    /** Ends the lease on {@code id} if the calling thread holds it, pending or not; never another thread's. */
    void releaseOwn(String id) {
        Lease lease = leases.get(id);
        if (lease != null && lease.holder == Thread.currentThread()) {
            end(id, lease);
        }
    }

    /**
     * What {@link #release} would end now, to end it later: the lease on {@code id} as it is now, unless it is pending
     * (then nothing). A lease taken after this call is not ended by it.
     */
    Runnable releaser(String id) {
        Lease lease = leases.get(id);
        return lease == null || lease.pending ? () -> { } : () -> end(id, lease);
    }

    /** As {@link #releaser}, for every lease: what {@link #releaseAll} would end now. */
    Runnable releaserOfAll() {
        Map<String, Lease> now = new HashMap<>();
        leases.forEach((id, lease) -> {
            if (!lease.pending) {
                now.put(id, lease);
            }
        });
        return () -> now.forEach(this::end);
    }

    private Take take(String id, Duration duration, boolean pending) {
        Take[] result = new Take[1];
        leases.compute(id, (key, held) -> {
            long now = System.nanoTime();
            if (held != null && held.running(now)) {
                result[0] = held.holder == Thread.currentThread() ? Take.HELD_BY_CALLER : Take.HELD_BY_OTHER;
                return held;
            }
            if (held != null) {
                held.ended.countDown(); // ran out or lost its holder: its waiters look again
            }
            result[0] = Take.TAKEN;
            return new Lease(now + duration.toNanos(), pending);
        });
        return result[0];
    }

    @Override
    public boolean awaitEnd(String id, long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + nanos;
        while (true) {
            Lease lease = leases.get(id);
            long now = System.nanoTime();
            if (lease == null) {
                return true;
            }
            if (!lease.running(now)) {
                end(id, lease);
                return true;
            }
            long left = deadline - now;
            if (left <= 0) {
                return false;
            }
            long park = Math.min(Math.min(left, HOLDER_CHECK_NANOS), lease.endNanos - now);
            lease.ended.await(park, TimeUnit.NANOSECONDS);
        }
    }

    /** Ends the lease on {@code id}, whoever holds it, unless it is pending. */
    @Override
    public void release(String id) {
        releaser(id).run();
    }

    /** Ends every lease that is not pending. */
    @Override
    public void releaseAll() {
        releaserOfAll().run();
    }

    /** Removes {@code lease} (unless a newer lease replaced it already) and wakes its waiters. */
    private void end(String id, Lease lease) {
        leases.remove(id, lease);
        lease.ended.countDown();
    }
}
