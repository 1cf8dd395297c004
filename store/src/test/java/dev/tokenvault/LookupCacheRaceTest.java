package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.benmanes.caffeine.cache.Cache;
import dev.tokenvault.engine.ChangeFeed;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * On a shared store the cache keeps, per record id, the lookups it cached, so that another node's change of the record
 * (reported by id by the change feed) forgets them. A load that lands while that registry changes must stay
 * registered, or its entry is served after the record changed, until it expires (10 minutes by default, where the
 * promise is 1 s). The registry is swapped for one that runs a step of the test at the racy moment: a thread
 * descheduled there.
 */
class LookupCacheRaceTest {
    /** The cache's per-id registry, running a hook once: before a clear, or after it handed out an id's map. */
    private static final class HookedRegistry<K, V> extends ConcurrentHashMap<K, V> {
        volatile Runnable beforeClear;
        volatile Runnable afterRegistering;

        private static void once(Runnable hook) {
            if (hook != null) {
                hook.run();
            }
        }

        @Override
        public void clear() {
            Runnable hook = beforeClear;
            beforeClear = null;
            once(hook);
            super.clear();
        }

        @Override
        public V computeIfAbsent(K key, Function<? super K, ? extends V> make) {
            V v = super.computeIfAbsent(key, make);
            Runnable hook = afterRegistering;
            afterRegistering = null;
            once(hook);
            return v;
        }

        @Override
        public V compute(K key, BiFunction<? super K, ? super V, ? extends V> change) {
            V v = super.compute(key, change);
            Runnable hook = afterRegistering;
            afterRegistering = null;
            once(hook);
            return v;
        }
    }

    private static final Duration EXPIRY = Duration.ofMinutes(10);

    private final AtomicReference<TokenRecord> stored =
            new AtomicReference<>(TokenRecord.from(StoreFixtures.full("v1"), "t").withId("rec1"));
    private final String user = stored.get().get(Field.USER_NAME);
    private final String access = stored.get().get(Field.ACCESS_TOKEN);
    private final AtomicReference<ChangeFeed.Listener> feed = new AtomicReference<>();
    private final StoreFixtures.MutableClock clock = new StoreFixtures.MutableClock();
    private final HookedRegistry<Object, Object> registry = new HookedRegistry<>();
    private LookupCache cache;
    private Cache<?, ?> caffeine;

    /** Runs once inside the next read of the store: something that happens while a load reads. */
    private volatile Runnable duringRead;

    private void open() throws ReflectiveOperationException {
        Selection.Reader store = (f, v) -> {
            TokenRecord found = v.equals(stored.get().get(f)) ? stored.get() : null;
            Runnable during = duringRead;
            duringRead = null;
            if (during != null) {
                during.run();
            }
            return found;
        };
        ChangeFeed changes = new ChangeFeed() {
            @Override
            public void listen(Listener listener) {
                feed.set(listener);
            }

            @Override
            public boolean isCurrent() {
                return true;
            }
        };
        cache = new LookupCache(1000, EXPIRY, clock, store, changes);
        var keysById = LookupCache.class.getDeclaredField("keysById");
        keysById.setAccessible(true);
        keysById.set(cache, registry);
        var c = LookupCache.class.getDeclaredField("cache");
        c.setAccessible(true);
        caffeine = (Cache<?, ?>) c.get(cache);
    }

    /** Another node refreshes the record and the feed reports its id: the next lookup must see the change. */
    private void anotherNodeRefreshesTheRecordAndALookupSeesIt() {
        stored.set(stored.get().mergedWith(TokenRecord.from(OAuthToken.builder().accessToken("access-v2").build(),
                "t")));
        feed.get().recordsChanged(List.of("rec1"));
        assertEquals("access-v2", cache.find(Field.USER_NAME, user).get(Field.ACCESS_TOKEN),
                "the cache served the record from before the change the feed reported");
        cache.close();
    }

    @Test
    void aLoadDuringACacheWideInvalidationStaysRegistered() throws Exception {
        open();
        registry.beforeClear = () -> cache.find(Field.USER_NAME, user); // a reader loads while the feed clears
        feed.get().everythingChanged();
        anotherNodeRefreshesTheRecordAndALookupSeesIt();
    }

    /**
     * A load that a cache-wide invalidation overtook is discarded, and so is its registration: else it stays under its
     * record's id until that id changes, and a fleet that deletes and re-creates users grows the registry for good.
     */
    @Test
    void aDiscardedLoadLeavesNoRegistrationBehind() throws Exception {
        open();
        duringRead = () -> { // the user is deleted and saved again under a new id while the load reads
            feed.get().everythingChanged();
            stored.set(stored.get().withId("rec2"));
        };
        assertEquals("rec2", cache.find(Field.USER_NAME, user).id());
        assertEquals(Set.of("rec2"), registry.keySet(), "the discarded load of rec1 is still registered");
        cache.close();
    }

    @Test
    void aLoadDuringTheExpiryOfTheRecordsOtherKeyStaysRegistered() throws Exception {
        open();
        cache.find(Field.ACCESS_TOKEN, access); // cached now: expires first
        clock.advance(EXPIRY.dividedBy(2));
        registry.afterRegistering = () -> { // the load by user name is registering under the record's id...
            clock.advance(EXPIRY.dividedBy(2).plusMillis(1));
            caffeine.cleanUp(); // ...when the access token's entry expires, the record's last other key
        };
        cache.find(Field.USER_NAME, user);
        anotherNodeRefreshesTheRecordAndALookupSeesIt();
    }
}
