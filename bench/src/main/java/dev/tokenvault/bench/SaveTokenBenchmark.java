package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A durable refresh through {@code saveToken} (see {@link SaveTokenBase}), 1 and 8 threads, tokenvault against
 * tuned SQLite. The seed's SQLite design is in {@link SaveTokenSeedBenchmark}, single-threaded only: with 8
 * concurrent writers it fails with {@code SQLITE_BUSY} (each call opens its own connection and runs a deferred
 * transaction; SQLite refuses the lock upgrade rather than deadlock), so it has no 8-thread figure to report.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx4g", "-XX:+AlwaysPreTouch"})
public class SaveTokenBenchmark extends SaveTokenBase {
    @Param({"tokenvault", "tuned-sqlite"})
    public String store;

    @Param({"100000", "1000000"})
    public int tokens;

    @Override
    protected String store() {
        return store;
    }

    @Override
    protected int tokens() {
        return tokens;
    }

    @Benchmark
    @Threads(8)
    public OAuthToken eightThreads(Writer w) {
        return refresh(w);
    }
}
