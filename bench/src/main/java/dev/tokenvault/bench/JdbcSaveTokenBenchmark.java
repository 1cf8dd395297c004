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
 * A token refresh on a database server, as the SDK saves one after each refresh: an existing user's name, a new
 * access token and a new expiry, through {@code saveToken}, which returns once the database committed it. tokenvault's
 * shared engine against the tuned plaintext JDBC store and the SDK's DBStore design; one thread on one node, and 8
 * threads on two nodes (two stores, each with its own pool, on one database). Random users, so threads rarely touch
 * the same row. The data set is one of its own (refreshes change access tokens); each trial's new access tokens carry
 * a random trial number, so that a later run never reuses one. Score: time per save per thread; throughput is
 * threads / score.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public class JdbcSaveTokenBenchmark extends JdbcTwoNodes {
    private static final long REFRESHED_EXPIRY = 1_767_225_600_000L + 3_600_000L;

    @Param({"tokenvault-jdbc", "tuned-jdbc", "sdk-dbstore"})
    public String store;

    private final long trial = new SplittableRandom().nextLong() >>> 28;

    @Setup(Level.Trial)
    public void setUp() {
        openNodes(store, "save");
    }

    /** A writer thread: its node (thread number mod 2), its random users, and a number unique to it and the trial. */
    @State(Scope.Thread)
    public static class Writer {
        private static final AtomicInteger THREADS = new AtomicInteger();
        final int number = THREADS.getAndIncrement();
        final SplittableRandom random = new SplittableRandom(number * 7919L + System.nanoTime());
        long seq;
    }

    @Benchmark
    @Threads(1)
    public OAuthToken singleThread(Writer w) {
        return refresh(w);
    }

    @Benchmark
    @Threads(8)
    public OAuthToken eightThreadsTwoNodes(Writer w) {
        return refresh(w);
    }

    private OAuthToken refresh(Writer w) {
        long seq = w.seq++;
        OAuthToken token = OAuthToken.builder().userName(TokenData.userName(w.random.nextInt(tokens)))
                .accessToken(TokenData.refreshedAccessToken((trial << 8) | w.number, seq))
                .expiryTime(Long.toString(REFRESHED_EXPIRY + seq)).build();
        nodes[w.number % 2].store().saveToken(token);
        return token;
    }
}
