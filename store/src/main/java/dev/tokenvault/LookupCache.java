package dev.tokenvault;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Clock;
import java.time.Duration;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.tokenvault.engine.ChangeFeed;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
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

    /** The epoch of a load that overlapped an invalidation of its record: never current, so never served. */
    private static final long STALE = -1;

    private final Cache<LookupKey, Cached> cache; // null when off
    private final Selection.Reader source;
    private final AtomicLong epoch = new AtomicLong();
    /** A shared engine's changes; {@code null} on an engine no other node changes (then a hit checks only this). */
    private final ChangeFeed feed;
    /**
     * With a feed: the cached lookup keys of each record id, each with the entry it was loaded as, so that a change of
     * an id forgets exactly them, and the removal of an old entry (whose listener runs later, on another thread)
     * never unregisters the newer entry of the same key.
     */
    private final Map<String, Map<LookupKey, Cached>> keysById;
    /** With a feed: counts invalidations by id, so that a load that overlapped one is not kept. */
    private final AtomicLong idInvalidations = new AtomicLong();
    /** Held by {@link #invalidateIds}: one invalidation by id at a time (see there). */
    private final Object invalidatingIds = new Object();
    /** The expiry's time source, closed with the vault; {@code null} without a cache. */
    private final CacheTicker ticker;
    /** Loads a miss, tagged with the epoch it started in; one instance, so a hit allocates nothing. */
    private final Function<LookupKey, Cached> loader;
    /**
     * The hit rate's counters, ours rather than Caffeine's {@code recordStats()}: a hit reads with
     * {@code getIfPresent} and a miss loads with {@code get}, and Caffeine would count such a miss twice. Every read
     * of the cache is a lookup, every run of the loader a miss (a load that found nothing or failed included), as
     * Caffeine counted them.
     */
    private final LongAdder lookups = new LongAdder();
    private final LongAdder loads = new LongAdder();

    /**
     * @param maximumSize most cached lookups; {@code 0} turns the cache off
     * @param source      where a miss is read from
     */
    LookupCache(long maximumSize, Duration expireAfterWrite, Clock clock, Selection.Reader source) {
        this(maximumSize, expireAfterWrite, clock, source, null);
    }

    /**
     * @param feed a shared engine's change feed, or {@code null}: with one, the cache forgets what other nodes (and
     *             this node's commits) change, and serves from the store while the feed is not current
     */
    LookupCache(long maximumSize, Duration expireAfterWrite, Clock clock, Selection.Reader source, ChangeFeed feed) {
        this.source = source;
        this.feed = maximumSize == 0 ? null : feed;
        this.keysById = this.feed == null ? null : new ConcurrentHashMap<>();
        Caffeine<Object, Object> builder = Caffeine.newBuilder()
                .maximumSize(maximumSize)
                .expireAfterWrite(expireAfterWrite);
        if (keysById != null) {
            // Evictions (size, expiry) only, and synchronously: a removal listener runs later, and could forget the
            // registration of a newer load of the same key. Invalidations by id remove their registrations themselves.
            builder.evictionListener((LookupKey k, Cached c, RemovalCause cause) -> {
                if (k != null && c != null) {
                    forget(c.record().id(), k, c);
                }
            });
        }
        this.ticker = maximumSize == 0 ? null : CacheTicker.of(clock);
        this.cache = maximumSize == 0 ? null : builder.ticker(ticker).build();
        this.loader = keysById == null ? k -> {
            loads.increment();
            TokenRecord.validate(k.field(), k.value()); // see find
            long started = epoch.get();
            TokenRecord r = source.find(k.field(), k.value());
            return r == null ? null : new Cached(r, started);
        } : this::loadTracked;
        if (this.feed != null) {
            this.feed.listen(new ChangeFeed.Listener() {
                @Override
                public void recordsChanged(Collection<String> ids) {
                    invalidateIds(ids);
                }

                @Override
                public void everythingChanged() {
                    invalidateAll();
                }
            });
        }
    }

    /**
     * A load on a shared engine: registered under its record's id before it is checked against the invalidations that
     * ran meanwhile, so that an invalidation of the id either sees the key (and removes the entry once the load has
     * put it) or has counted itself, and the load is tagged stale (found again by {@link #find}).
     */
    private Cached loadTracked(LookupKey k) {
        loads.increment();
        TokenRecord.validate(k.field(), k.value()); // see find
        long started = epoch.get();
        long invalidations = idInvalidations.get();
        TokenRecord r = source.find(k.field(), k.value());
        if (r == null) {
            return null;
        }
        Cached loaded = new Cached(r, started);
        // One step with the id's map: an eviction's forget of the id's last other key, between taking the map and
        // putting into it, would detach the map and lose this registration (and the next change of the id with it).
        keysById.compute(r.id(), (id, keys) -> {
            Map<LookupKey, Cached> m = keys == null ? new ConcurrentHashMap<>() : keys;
            m.put(k, loaded);
            return m;
        });
        if (idInvalidations.get() == invalidations) {
            return loaded;
        }
        forget(r.id(), k, loaded); // find drops a stale load at once: nothing to register
        return new Cached(r, STALE);
    }

    /** Unregisters key {@code k} of record {@code id} if it is still registered as the entry {@code c}. */
    private void forget(String id, LookupKey k, Cached c) {
        keysById.computeIfPresent(id, (i, keys) -> {
            keys.computeIfPresent(k, (key, registered) -> registered == c ? null : registered);
            return keys.isEmpty() ? null : keys;
        });
    }

    /**
     * Forgets every cached lookup that returned a record with one of these ids (this node's commits, reported on the
     * committing thread, and other nodes', reported by the feed's thread). When it returns, no entry of these ids
     * loaded before the call is served.
     *
     * <p>One invalidation at a time: an invalidation takes an id's registrations before it evicts their entries, so
     * a second one of the same id running meanwhile would find nothing registered and return while the first still
     * had the old entries to evict (seen under load: a committing thread then read its own record's old version).
     * Callers hold no connection here, so waiting for the other invalidation cannot wait for a pool.
     */
    void invalidateIds(Collection<String> ids) {
        if (keysById == null) {
            return;
        }
        synchronized (invalidatingIds) {
            idInvalidations.incrementAndGet();
            for (String id : ids) {
                Map<LookupKey, Cached> keys = keysById.remove(id);
                if (keys != null) {
                    cache.invalidateAll(keys.keySet());
                }
            }
        }
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
        if (cache == null || (feed != null && !feed.isCurrent())) {
            TokenRecord.validate(field, value);
            return source.find(field, value);
        }
        for (int stale = 0; ; stale++) {
            lookups.increment();
            // A hit reads the entry with getIfPresent: Caffeine's get(key, loader) is one large method that the JIT
            // does not inline, and it took 19 to 22 ns where getIfPresent takes 11 (bench/README.md). A miss then loads
            // through get, which makes concurrent misses of the key wait for one load. Each call makes its own key, so
            // that the hit's, which escapes nowhere, may be kept out of the heap by the JIT.
            Cached c = cache.getIfPresent(new LookupKey(field, value));
            if (c == null) {
                c = cache.get(new LookupKey(field, value), loader);
                if (c == null) {
                    return null;
                }
            }
            if (c.epoch() == epoch.get()) {
                return c.record();
            }
            // loaded before a cache-wide invalidation, or overlapped one: may be stale
            LookupKey key = new LookupKey(field, value);
            if (cache.asMap().remove(key, c) && keysById != null && c.epoch() != STALE) {
                forget(c.record().id(), key, c); // a removal by hand runs no eviction listener
            }
            if (stale == 2) {
                return source.find(field, value); // the store changes faster than loads complete: read it directly
            }
        }
    }

    /** Forgets every lookup that may return {@code r}: by its id and by each indexed value. */
    void invalidate(TokenRecord r) {
        if (cache == null || r == null || keysById != null) {
            // A shared engine reports this node's commits through the feed once the write's connection is back in the
            // pool (invalidateIds). Here, inside the write, a removal could wait for a load of the same map bin, which
            // waits for a connection: with a pool of one, the one the write holds.
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
            // The registrations go first: a load that starts once the epoch has moved is served, so it must stay
            // registered, and a clear after it would forget it (and miss the next change of its record).
            if (keysById != null) {
                keysById.clear();
            }
            epoch.incrementAndGet();
            cache.invalidateAll();
        }
    }

    /** Forgets every cached lookup and releases the cache's clock; the vault is closing. */
    void close() {
        invalidateAll();
        if (ticker != null) {
            ticker.close();
        }
    }

    /** Hits over lookups since open; 0 before the first lookup and with the cache off. */
    double hitRate() {
        long missed = loads.sum(); // before the lookups: each load follows its lookup's count, so hits are never < 0
        long all = lookups.sum();
        return all == 0 ? 0.0 : (double) (all - missed) / all;
    }

    long size() {
        return cache == null ? 0 : cache.estimatedSize();
    }
}
