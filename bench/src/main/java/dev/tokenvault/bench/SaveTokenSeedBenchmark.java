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
 * The seed's SQLite design under the durable refresh of {@link SaveTokenBase}, single-threaded only: its saves fail
 * with {@code SQLITE_BUSY} under concurrent writers (measured: 8 threads at 100,000 tokens), see
 * {@link SaveTokenBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx4g", "-XX:+AlwaysPreTouch"})
public class SaveTokenSeedBenchmark extends SaveTokenBase {
    @Param({"seed-sqlite"})
    public String store;

    @Param({"100000"})
    public int tokens;

    @Override
    protected String store() {
        return store;
    }

    @Override
    protected int tokens() {
        return tokens;
    }
}
