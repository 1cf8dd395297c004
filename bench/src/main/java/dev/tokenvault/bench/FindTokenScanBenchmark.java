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
 * {@code findToken} for the baselines that scan: the seed's SQLite design (no index on any lookup column, a new
 * connection per call) and the SDK's CSV file store (the whole file read per lookup). Their time grows with the
 * table, so they run at 1,000 and 10,000 tokens (the two points show the linear growth); at 1,000,000 one lookup
 * takes a large fraction of a second and one trial minutes. The same operation as {@link FindTokenBenchmark}: compare
 * the rows with equal {@code tokens}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx4g", "-XX:+AlwaysPreTouch"})
public class FindTokenScanBenchmark extends FindTokenBase {
    @Param({"seed-sqlite", "csv-file"})
    public String store;

    @Param({"userName", "accessToken", "refreshToken", "grantToken", "id"})
    public String path;

    @Param({"1000", "10000"})
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
