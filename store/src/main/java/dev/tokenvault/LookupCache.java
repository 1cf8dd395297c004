package dev.tokenvault;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The cache of decrypted records in front of the store, by lookup (field and value), for readers only: writers decide
 * on the stored state ({@link WriteView}). Caffeine, bounded and expiring; off when its size is 0.
 *
 * <p>No stale value survives a write: a load runs inside the cache's per-key computation, so a writer's invalidation
 * of that key waits for it and then removes what it loaded. Caffeine's {@code invalidateAll()} does not wait for loads
 * in flight, so a load that read the old state could put it back afterwards; a load is tagged with the epoch it started
 * in, every cache-wide invalidation bumps the epoch, and a hit from an older epoch is discarded.
 */
final class LookupCache implements Selection.Reader {
    /**
     * A cache key: the value may be a token, so {@link #toString()} names only the field. {@code equals} and
     * {@code hashCode} are written out: a record's generated ones go through {@code ObjectMethods} method handles,
     * which a profile of cache hits showed as a frame of their own.
     */
    record LookupKey(Field field, String value) {
        @Override
        public boolean equals(Object o) {
            return o instanceof LookupKey k && field == k.field && value.equals(k.value);
        }

        @Override
        public int hashCode() {
            return 31 * field.ordinal() + value.hashCode();
        }

        @Override
        public String toString() {
            return "LookupKey[" + field + "]";
        }
    }

    private record Cached(TokenRecord record, long epoch) { }

    private final Cache<LookupKey, Cached> cache; // null when off
    private final Selection.Reader source;
    private final AtomicLong epoch = new AtomicLong();
    /** Loads a miss, tagged with the epoch it started in; one instance, so a hit allocates nothing. */
    private final Function<LookupKey, Cached> loader;

    /**
     * @param maximumSize most cached lookups; {@code 0} turns the cache off
     * @param source      where a miss is read from
     */
    LookupCache(long maximumSize, Duration expireAfterWrite, Clock clock, Selection.Reader source) {
        this.source = source;
        this.cache = maximumSize == 0 ? null : Caffeine.newBuilder()
                .maximumSize(maximumSize)
                .expireAfterWrite(expireAfterWrite)
                .ticker(CacheTicker.of(clock))
                .recordStats()
                .build();
        this.loader = k -> {
            TokenRecord.validate(k.field(), k.value()); // see find
            long started = epoch.get();
            TokenRecord r = source.find(k.field(), k.value());
            return r == null ? null : new Cached(r, started);
        };
    }

    /**
     * The record whose {@code field} is {@code value}, through the cache when it is on.
     *
     * <p>{@code value} must pass the field's rules ({@code INVALID_ARGUMENT} otherwise), and it is checked before it
     * reaches the store: only on a miss. A hit needs no check: an entry is only ever loaded after its key passed the
     * check in the same call (the loader makes it first), and nothing is stored on a hit. This is why callers leave
     * the lookup value to this method ({@code TokenVault.findToken}, {@code findTokenById}): on a hit, scanning a
     * 70-character token for its UTF-8 length costs as much as the rest of the hit's own work.
     */
    @Override
    public TokenRecord find(Field field, String value) {
        if (cache == null) {
            TokenRecord.validate(field, value);
            return source.find(field, value);
        }
        LookupKey key = new LookupKey(field, value);
        while (true) {
            Cached c = cache.get(key, loader);
            if (c == null) {
                return null;
            }
            if (c.epoch() == epoch.get()) {
                return c.record();
            }
            cache.asMap().remove(key, c); // loaded before a cache-wide invalidation: may be stale
        }
    }

    /** Forgets every lookup that may return {@code r}: by its id and by each indexed value. */
    void invalidate(TokenRecord r) {
        if (cache == null || r == null) {
            return;
        }
        cache.invalidate(new LookupKey(Field.ID, r.id()));
        for (Field f : Field.INDEXED) {
            String v = r.get(f);
            if (v != null) {
                cache.invalidate(new LookupKey(f, v));
            }
        }
    }

    /** Forgets every cached lookup, including loads in flight; call after the change is applied. */
    void invalidateAll() {
        if (cache != null) {
            epoch.incrementAndGet();
            cache.invalidateAll();
        }
    }

    double hitRate() {
        return cache == null ? 0.0 : cache.stats().hitRate();
    }

    long size() {
        return cache == null ? 0 : cache.estimatedSize();
    }
}
