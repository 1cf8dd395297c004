package dev.tokenvault;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The {@link LeaseTable} of one process: a map from record id to its lease, ends measured with
 * {@link System#nanoTime()}. A released lease wakes its waiters at once. A lease whose holder thread died ends too,
 * but a dead thread signals nothing, so waiters look at the holder every {@link #HOLDER_CHECK_NANOS}.
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

        Lease(long endNanos) {
            this.endNanos = endNanos;
        }

        boolean running(long now) {
            return ended.getCount() > 0 && now - endNanos < 0 && holder.isAlive();
        }
    }

    private final ConcurrentHashMap<String, Lease> leases = new ConcurrentHashMap<>();

    @Override
    public Take tryTake(String id, Duration duration) {
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
            return new Lease(now + duration.toNanos());
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

    @Override
    public void release(String id) {
        Lease lease = leases.get(id);
        if (lease != null) {
            end(id, lease);
        }
    }

    @Override
    public void releaseAll() {
        leases.forEach(this::end);
    }

    /** Removes {@code lease} (unless a newer lease replaced it already) and wakes its waiters. */
    private void end(String id, Lease lease) {
        leases.remove(id, lease);
        lease.ended.countDown();
    }
}
