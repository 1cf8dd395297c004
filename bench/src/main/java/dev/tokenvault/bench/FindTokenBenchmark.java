package dev.tokenvault.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code findToken} on every lookup path at 1,000 to 1,000,000 tokens, for the stores whose lookups do not scan:
 * tokenvault with its cache (hits), tokenvault without its cache, tuned SQLite (indexed) and a plain map. The
 * scanning baselines are in {@link FindTokenScanBenchmark}, at the sizes they can finish.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx8g", "-XX:+AlwaysPreTouch"})
public class FindTokenBenchmark extends FindTokenBase {
    @Param({"tokenvault", "tokenvault-nocache", "tuned-sqlite", "map", "map-copy"})
    public String store;

    @Param({"userName", "accessToken", "refreshToken", "grantToken", "id"})
    public String path;

    @Param({"1000", "100000", "1000000"})
    public int tokens;

    @Override
    protected String store() {
        return store;
    }

    @Override
    protected String path() {
        return path;
    }

    @Override
    protected int tokens() {
        return tokens;
    }
}
