package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code findToken} by user name on a database server, the SDK's lookup before each API call: tokenvault's shared
 * engine with its cache (hits on a hot set of {@value #HOT_SET} users, warmed in setup) and without it (random users,
 * each lookup an index read, a record read and a decryption), against the tuned plaintext JDBC store and the SDK's
 * DBStore design (which scans). Two nodes (two stores, each with its own pool, on one database): one thread on one
 * node, and 8 threads spread over both. Setup checks that every node returns the right token before timing it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public class JdbcFindTokenBenchmark extends JdbcTwoNodes {
    static final int HOT_SET = 1024;
    static final int SAMPLE = 65536;

    @Param({"tokenvault-jdbc", "tokenvault-jdbc-nocache", "tuned-jdbc", "sdk-dbstore"})
    public String store;

    private String[] users;
    private int mask;

    @Setup(Level.Trial)
    public void setUp() {
        openNodes(store, "find");
        boolean hot = store.equals(JdbcStores.TOKENVAULT_JDBC);
        int n = hot ? HOT_SET : SAMPLE;
        SplittableRandom random = new SplittableRandom(42);
        users = new String[n];
        int[] which = new int[n];
        for (int k = 0; k < n; k++) {
            which[k] = random.nextInt(tokens);
            users[k] = TokenData.userName(which[k]);
        }
        mask = n - 1;
        for (int node = 0; node < nodes.length; node++) {
            // every store must answer correctly before it is timed; for the cached store this also warms the cache
            for (int k = 0; k < (hot ? n : 16); k++) {
                OAuthToken found = lookup(node, k);
                if (found == null || !TokenData.accessToken(which[k]).equals(found.getAccessToken())) {
                    throw new IllegalStateException(store + " on " + db + " returned a wrong token for key " + k);
                }
            }
        }
    }

    /** Each thread walks the sample from its own random offset, on node (thread number mod 2). */
    @State(Scope.Thread)
    public static class Cursor {
        private static final AtomicInteger THREADS = new AtomicInteger();
        final int node = THREADS.getAndIncrement() % 2;
        int next = new SplittableRandom().nextInt(SAMPLE);
    }

    @Benchmark
    @Threads(1)
    public OAuthToken singleThread(Cursor c) {
        return lookup(0, c.next++ & mask);
    }

    @Benchmark
    @Threads(8)
    public OAuthToken eightThreadsTwoNodes(Cursor c) {
        return lookup(c.node, c.next++ & mask);
    }

    private OAuthToken lookup(int node, int k) {
        OAuthToken query = new OAuthToken();
        query.setUserName(users[k]);
        return nodes[node].store().findToken(query);
    }
}
