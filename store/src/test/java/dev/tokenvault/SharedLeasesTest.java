package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.RecordLeases;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A shared store's lease table on one node, over lease rows kept in memory whose take can be held inside the call:
 * what happens on this node while one thread's take waits for the database (a pool wait, a slow statement). Another
 * thread of the node must never take the lease too.
 */
class SharedLeasesTest {
    private static final Duration HOUR = Duration.ofHours(1);
    private static final Duration LIMIT = Duration.ofSeconds(30);

    /** Lease rows in memory, as {@link RecordLeases} promises them; a take may be held inside the call. */
    private static final class Rows implements RecordLeases {
        private record Row(String holder, long endNanos) { }

        final Map<String, Row> rows = new ConcurrentHashMap<>();
        final AtomicInteger takes = new AtomicInteger();
        /** When set, the next take signals {@code entered} and waits for {@code proceed} before it writes. */
        volatile CountDownLatch entered;
        volatile CountDownLatch proceed;

        void holdNextTake() {
            entered = new CountDownLatch(1);
            proceed = new CountDownLatch(1);
        }

        @Override
        public String take(String id, String holder, Duration duration) {
            takes.incrementAndGet();
            CountDownLatch in = entered;
            if (in != null) {
                entered = null;
                in.countDown();
                try {
                    assertTrue(proceed.await(LIMIT.toSeconds(), TimeUnit.SECONDS), "the test never let the take go");
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }
            synchronized (this) {
                Row row = rows.get(id);
                if (row == null || System.nanoTime() - row.endNanos() >= 0) {
                    rows.put(id, new Row(holder, System.nanoTime() + duration.toNanos()));
                }
                return holder(id);
            }
        }

        @Override
        public synchronized String holder(String id) {
            Row row = rows.get(id);
            return row == null || System.nanoTime() - row.endNanos() >= 0 ? null : row.holder();
        }

        @Override
        public synchronized void release(String id, String holder) {
            rows.computeIfPresent(id, (k, row) -> row.holder().equals(holder) ? null : row);
        }
    }

    private final Rows rows = new Rows();
    private final SharedLeases leases = new SharedLeases(rows, offCache());

    /**
     * A save of the record on this node releases its lease while a thread's take waits for the database: the take
     * gets the row, and it keeps this node's lease too (the holder reads the store after its take, so it sees that
     * save). Before, the release ended the taking thread's local lease; the next thread of the node got it, deleted
     * the row of the first as if its holder were dead, and took its own: two holders, two refreshes.
     */
    @Test
    void aReleaseDuringATakeLeavesItAndNoSecondThreadTakesTheLease() {
        assertTimeoutPreemptively(LIMIT, () -> {
            rows.holdNextTake();
            CountDownLatch entered = rows.entered;
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            FutureTask<LeaseTable.Take> first = inThread(() -> {
                LeaseTable.Take t = leases.tryTake("r1", HOUR);
                holding.countDown();
                done.await(); // stays alive: its lease runs
                return t;
            });
            assertTrue(entered.await(LIMIT.toSeconds(), TimeUnit.SECONDS));

            leases.release("r1"); // a save of r1 on this node committed
            rows.proceed.countDown();
            assertTrue(holding.await(LIMIT.toSeconds(), TimeUnit.SECONDS));
            String holder = rows.holder("r1");

            assertEquals(LeaseTable.Take.HELD_BY_OTHER, inThread(() -> leases.tryTake("r1", HOUR)).get(),
                    "a second thread of the node took the lease");
            assertEquals(holder, rows.holder("r1"), "the first holder's row");
            assertEquals(1, rows.takes.get(), "the second thread waits for the local lease, the first kept it");
            done.countDown();
            assertEquals(LeaseTable.Take.TAKEN, first.get());
        });
    }

    /**
     * A take whose local lease ran out while it waited for the database, and which then finds the row taken by
     * another thread of this node, must end only its own local lease, not the one that thread holds now.
     */
    @Test
    void aTakeThatFailsAfterItsLocalLeaseRanOutEndsNoOtherThreadsLease() {
        assertTimeoutPreemptively(LIMIT, () -> {
            rows.holdNextTake();
            CountDownLatch entered = rows.entered;
            FutureTask<LeaseTable.Take> slow = inThread(() -> leases.tryTake("r1", Duration.ofMillis(50)));
            assertTrue(entered.await(LIMIT.toSeconds(), TimeUnit.SECONDS));
            Thread.sleep(100); // the slow take's local lease has run out

            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            FutureTask<LeaseTable.Take> second = inThread(() -> {
                LeaseTable.Take t = leases.tryTake("r1", HOUR);
                holding.countDown();
                done.await(); // stays alive: its lease runs
                return t;
            });
            assertTrue(holding.await(LIMIT.toSeconds(), TimeUnit.SECONDS));
            String holder = rows.holder("r1");

            rows.proceed.countDown();
            assertEquals(LeaseTable.Take.HELD_BY_OTHER, slow.get(), "the row is the second thread's");
            assertEquals(LeaseTable.Take.HELD_BY_OTHER, inThread(() -> leases.tryTake("r1", HOUR)).get(),
                    "a third thread took the lease the second holds");
            assertEquals(holder, rows.holder("r1"), "the second thread's row");
            done.countDown();
            assertEquals(LeaseTable.Take.TAKEN, second.get());
        });
    }

    /** Runs {@code call} in a new thread, which ends when the call returns. */
    private static <T> FutureTask<T> inThread(Callable<T> call) {
        FutureTask<T> task = new FutureTask<>(call);
        new Thread(task).start();
        return task;
    }

    /** A cache of size 0: the lease table only forgets entries in it. */
    private static LookupCache offCache() {
        return new LookupCache(0, Duration.ofMinutes(1), java.time.Clock.systemUTC(), (field, value) -> null);
    }
}
