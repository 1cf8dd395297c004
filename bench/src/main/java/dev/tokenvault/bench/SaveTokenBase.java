package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The save benchmark shared by {@link SaveTokenBenchmark} and {@link SaveTokenSeedBenchmark}. A durable token
 * refresh, as the SDK saves one after each refresh: a token holding an existing user's name, a new access token and
 * a new expiry ({@link TokenData#refresh}), through {@code saveToken}, which returns once the change is on disk. Each
 * trial works on a scratch copy of the loaded data set. Random users, so 8 threads rarely touch the same record.
 *
 * <p>The score is the average time per save per thread; throughput is {@code threads / score}. With 8 threads,
 * tokenvault's group commit lets concurrent saves share one fsync.
 */
@State(Scope.Benchmark)
public abstract class SaveTokenBase {
    protected abstract String store();

    protected abstract int tokens();

    private Stores.Scratch scratch;
    private TokenStore target;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        scratch = Stores.scratch(store(), tokens(), "save");
        target = scratch.store();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        scratch.close();
    }

    @State(Scope.Thread)
    public static class Writer {
        private static final AtomicInteger THREAD_IDS = new AtomicInteger();
        long thread;
        long seq;
        SplittableRandom random;

        @Setup(Level.Trial)
        public void setUp() {
            thread = THREAD_IDS.incrementAndGet();
            random = new SplittableRandom(thread * 7919);
        }
    }

    @Benchmark
    @Threads(1)
    public OAuthToken singleThread(Writer w) {
        return refresh(w);
    }

    /**
     * A durable insert: a token no record holds yet (token {@code tokens() + n}, every field new), as the first save of
     * a new user or an import saves one. The store gains a record per call, and tokenvault's file a 1 MiB page about
     * every 1,200 calls.
     */
    @Benchmark
    @Threads(1)
    public OAuthToken insert(Writer w) {
        OAuthToken t = TokenData.token(tokens() + (int) w.seq++);
        target.saveToken(t);
        return t;
    }

    protected OAuthToken refresh(Writer w) {
        OAuthToken t = TokenData.refresh(w.random.nextInt(tokens()), w.thread, w.seq++);
        target.saveToken(t);
        return t;
    }
}
