package dev.tokenvault;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;

/**
 * The time source of the cache's expiry, in Caffeine's nanoseconds, following the builder's {@link Clock}.
 *
 * <p>Caffeine reads its ticker on every hit to check the entry's age. Reading the system clock costs about as much as
 * the rest of a hit here (on a KVM guest, 30 to 45 ns: {@code bench/README.md}), so for the system clock a hit reads a
 * time that one shared daemon thread, {@value #THREAD_NAME}, refreshes every {@value #TICK_MILLIS} ms: an entry may
 * outlive its {@code cacheExpireAfterWrite} by up to that much (plus the thread's scheduling delay), which the expiry,
 * a bound on how long decrypted tokens stay cached, can afford; invalidation after a write does not depend on it. Any
 * other clock (a test's) is read on every call.
 *
 * <p>The thread runs while at least one ticker of the system clock is open: the first {@link #of} starts it and the
 * last {@link #close} stops it, so that a process (or an application server's class loader) that closes its vaults
 * keeps no thread of ours.
 */
final class CacheTicker implements Ticker, AutoCloseable {
    static final long TICK_MILLIS = 100;
    static final String THREAD_NAME = "tokenvault-cache-clock";
    private static final long NANOS_PER_MILLI = 1_000_000L;
    private static final Class<? extends Clock> SYSTEM_CLOCK = Clock.systemUTC().getClass();

    /** {@code null} when the ticker reads the shared time. */
    private final Clock clock;
    private boolean closed;

    private CacheTicker(Clock clock) {
        this.clock = clock;
    }

    /** A ticker of {@code clock}; {@link #close} it when its cache is dropped. */
    static CacheTicker of(Clock clock) {
        if (readsSharedTime(clock)) {
            SystemTime.acquire();
            return new CacheTicker(null);
        }
        return new CacheTicker(clock);
    }

    /** Whether the cache reads {@code clock} through the shared thread: {@code Clock.systemUTC()} or a zone of it. */
    static boolean readsSharedTime(Clock clock) {
        return clock.getClass() == SYSTEM_CLOCK;
    }

    /** How many open tickers share the thread (for tests). */
    static int sharedUsers() {
        return SystemTime.users();
    }

    @Override
    public long read() {
        return (clock == null ? SystemTime.millis : clock.millis()) * NANOS_PER_MILLI;
    }

    /** Releases the shared thread, which stops with its last ticker. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed && clock == null) {
            SystemTime.release();
        }
        closed = true;
    }

    /** The system time, refreshed by one daemon thread while any shared ticker is open. */
    private static final class SystemTime {
        static volatile long millis = System.currentTimeMillis();
        private static int users;
        private static Thread refresher;

        static synchronized void acquire() {
            if (users++ == 0) {
                millis = System.currentTimeMillis();
                refresher = new Thread(SystemTime::refresh, THREAD_NAME);
                refresher.setDaemon(true);
                refresher.start();
            }
        }

        static synchronized void release() {
            if (--users == 0) {
                refresher.interrupt(); // its only meaning: stop
                refresher = null;
            }
        }

        static synchronized int users() {
            return users;
        }

        private static void refresh() {
            while (true) {
                try {
                    Thread.sleep(TICK_MILLIS);
                } catch (InterruptedException e) {
                    return; // released by the last ticker; a later acquire starts a new thread
                }
                millis = System.currentTimeMillis();
            }
        }
    }
}
