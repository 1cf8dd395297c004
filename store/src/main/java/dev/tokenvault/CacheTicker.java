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
 * other clock (a test's) is read on every call, as before.
 */
final class CacheTicker {
    static final long TICK_MILLIS = 100;
    static final String THREAD_NAME = "tokenvault-cache-clock";
    private static final long NANOS_PER_MILLI = 1_000_000L;
    private static final Class<? extends Clock> SYSTEM_CLOCK = Clock.systemUTC().getClass();

    private CacheTicker() {
    }

    static Ticker of(Clock clock) {
        if (readsSharedTime(clock)) {
            return () -> SystemTime.millis * NANOS_PER_MILLI;
        }
        return () -> clock.millis() * NANOS_PER_MILLI;
    }

    /** Whether the cache reads {@code clock} through the shared thread: {@code Clock.systemUTC()} or a zone of it. */
    static boolean readsSharedTime(Clock clock) {
        return clock.getClass() == SYSTEM_CLOCK;
    }

    /** The system time refreshed by one daemon thread, started when the first cache with the system clock is made. */
    private static final class SystemTime {
        static volatile long millis = System.currentTimeMillis();

        static {
            Thread refresher = new Thread(SystemTime::refresh, THREAD_NAME);
            refresher.setDaemon(true);
            refresher.start();
        }

        private static void refresh() {
            while (true) {
                try {
                    Thread.sleep(TICK_MILLIS);
                } catch (InterruptedException e) {
                    // nobody else holds this thread; keep time for the caches that rely on it
                }
                millis = System.currentTimeMillis();
            }
        }
    }
}
