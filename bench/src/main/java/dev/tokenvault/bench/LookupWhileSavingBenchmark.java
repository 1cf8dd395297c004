package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cache-off lookups by user name while another thread saves durable refreshes into the same store: what an API
 * worker's cache miss costs while its neighbours refresh tokens. One group of two threads, one looking up random
 * users over all tokens, one saving refreshes of random users (as {@link SaveTokenBenchmark} does); JMH reports each
 * method's time per call ({@code readWhileSaving:lookup}, {@code readWhileSaving:save}). Compare {@code lookup} with
 * {@link FindTokenBenchmark}'s {@code singleThread} for the same store and size: the difference is what the writer
 * costs a reader. Each trial works on a scratch copy of the loaded data set.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx4g", "-XX:+AlwaysPreTouch"})
public class LookupWhileSavingBenchmark {
    @Param({Stores.TOKENVAULT_NOCACHE, Stores.TUNED_SQLITE})
    public String store;

    @Param({"1000000"})
    public int tokens;

    private Stores.Scratch scratch;
    private TokenStore target;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        scratch = Stores.scratch(store, tokens, "read-while-saving");
        target = scratch.store();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        scratch.close();
    }

    /** Each thread's own random users, and the saving thread's count of refreshes. */
    @State(Scope.Thread)
    public static class Caller {
        final SplittableRandom random = new SplittableRandom();
        long seq;
    }

    @Benchmark
    @Group("readWhileSaving")
    @GroupThreads(1)
    public OAuthToken lookup(Caller c) {
        OAuthToken q = new OAuthToken();
        q.setUserName(TokenData.userName(c.random.nextInt(tokens)));
        return target.findToken(q);
    }

    @Benchmark
    @Group("readWhileSaving")
    @GroupThreads(1)
    public OAuthToken save(Caller c) {
        OAuthToken t = TokenData.refresh(c.random.nextInt(tokens), 0, c.seq++);
        target.saveToken(t);
        return t;
    }
}
