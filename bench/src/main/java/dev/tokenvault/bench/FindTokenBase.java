package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The lookup benchmark shared by {@link FindTokenBenchmark} (stores with O(1) lookups, up to 1,000,000 tokens) and
 * {@link FindTokenScanBenchmark} (stores that scan, at sizes they can finish). The subclasses only declare the
 * {@code @Param}s; everything measured is here, so both report the same operation.
 *
 * <p>One operation is one SDK lookup: a new query token holding the path's key (as the SDK builds it), then
 * {@code findToken} (or {@code findTokenById} for path {@code id}: the seed's {@code find_token} has no id branch).
 * Keys are drawn in random order from a precomputed sample, so the key's construction is not measured:
 * <ul>
 *   <li>{@code tokenvault} (cache on), {@code map} and {@code map-copy} look up a hot set of {@value #HOT_SET}
 *       random tokens, all of which fit in the cache (warmed in setup): the cache-hit case, against the maps;</li>
 *   <li>every other store looks up {@value #SAMPLE} keys drawn uniformly from all tokens: for tokenvault-nocache
 *       this is "random keys over all tokens", each lookup an index read, a record read and a decryption.</li>
 * </ul>
 */
@State(Scope.Benchmark)
public abstract class FindTokenBase {
    static final int HOT_SET = 1024;
    static final int SAMPLE = 65536;

    private static final int USER_NAME = 0;
    private static final int ACCESS_TOKEN = 1;
    private static final int REFRESH_TOKEN = 2;
    private static final int GRANT_TOKEN = 3;
    private static final int ID = 4;

    protected abstract String store();

    protected abstract String path();

    protected abstract int tokens();

    private TokenStore store;
    private String[] keys;
    private int mask;
    private int pathCode;

    @Setup(Level.Trial)
    public void setUp() {
        pathCode = switch (path()) {
            case "userName" -> USER_NAME;
            case "accessToken" -> ACCESS_TOKEN;
            case "refreshToken" -> REFRESH_TOKEN;
            case "grantToken" -> GRANT_TOKEN;
            case "id" -> ID;
            default -> throw new IllegalArgumentException("unknown path " + path());
        };
        boolean hot = store().equals(Stores.TOKENVAULT) || store().equals(Stores.MAP)
                || store().equals(Stores.MAP_COPY);
        int n = hot ? HOT_SET : SAMPLE;
        SplittableRandom random = new SplittableRandom(42);
        keys = new String[n];
        int[] which = new int[n];
        for (int k = 0; k < n; k++) {
            which[k] = random.nextInt(tokens());
            keys[k] = key(which[k]);
        }
        mask = n - 1;
        store = Stores.openForRead(store(), tokens());
        // Every store must answer correctly before it is timed; for the cached store this also warms the cache.
        int check = hot ? n : 16;
        for (int k = 0; k < check; k++) {
            Object found = lookup(k);
            String expected = TokenData.accessToken(which[k]);
            if (!(found instanceof OAuthToken t) || !expected.equals(t.getAccessToken())) {
                throw new IllegalStateException(store() + " by " + path() + " returned a wrong token for key " + k);
            }
        }
    }

    private String key(int i) {
        return switch (pathCode) {
            case USER_NAME -> TokenData.userName(i);
            case ACCESS_TOKEN -> TokenData.accessToken(i);
            case REFRESH_TOKEN -> TokenData.refreshToken(i);
            case GRANT_TOKEN -> TokenData.grantToken(i);
            default -> TokenData.id(i);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Stores.close(store);
    }

    /** Each thread walks the key sample from its own random offset. */
    @State(Scope.Thread)
    public static class Cursor {
        int next = new SplittableRandom().nextInt(SAMPLE);

        int next(int mask) {
            return next++ & mask;
        }
    }

    @Benchmark
    @Threads(1)
    public Object singleThread(Cursor c) {
        return lookup(c.next(mask));
    }

    @Benchmark
    @Threads(2)
    public Object twoThreads(Cursor c) {
        return lookup(c.next(mask));
    }

    private Object lookup(int k) {
        String key = keys[k];
        OAuthToken q = new OAuthToken();
        switch (pathCode) {
            case USER_NAME -> q.setUserName(key);
            case ACCESS_TOKEN -> q.setAccessToken(key);
            case REFRESH_TOKEN -> {
                q.setRefreshToken(key);
                q.setClientId(TokenData.CLIENT_ID);
                q.setClientSecret(TokenData.CLIENT_SECRET);
            }
            case GRANT_TOKEN -> {
                q.setGrantToken(key);
                q.setClientId(TokenData.CLIENT_ID);
                q.setClientSecret(TokenData.CLIENT_SECRET);
            }
            default -> {
                return store.findTokenById(key);
            }
        }
        return store.findToken(q);
    }
}
