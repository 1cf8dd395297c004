package dev.tokenvault.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * What the machine allows a cache-off lookup: one read of 8 bytes at a random place that depends on the previous
 * read (a chase through a random cycle of 64-byte lines, so no two reads share a cache line and no read can start
 * before the one it depends on ends), in {@code bytes} of memory: the Java heap, or a file mapped as tokenvault's
 * store file is (written with 4 KiB positional writes, as its commits write it).
 *
 * <p>A lookup in a store file reads one structure after another (an index page, then the record it names, each
 * through MapDB's own offset table), so its cost at 1,000,000 tokens, where the file is about a gigabyte, is at least
 * the 1,000-token cost plus one such read per step. bench/README.md ("The floor of a lookup at a million tokens")
 * compares the two sizes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-XX:+AlwaysPreTouch", "-Xms2g", "-Xmx2g"})
public class MemoryReadBenchmark {
    private static final int LINE = 64;

    /** Where the lines live: {@code heap} (a {@code long[]}) or {@code mappedFile}. */
    @Param({"heap", "mappedFile"})
    public String memory;

    /** The memory the chase runs through: 1 MiB (the CPU's caches) or 1 GiB (a store of 1,000,000 tokens). */
    @Param({"1048576", "1073741824"})
    public long bytes;

    private long[] heap;
    private MappedByteBuffer mapped;
    private FileChannel channel;
    /** The byte offset of the line the chase is at. */
    private long at;

    @Setup
    public void setUp() throws IOException {
        int lines = Math.toIntExact(bytes / LINE);
        int[] next = cycle(lines);
        if (memory.equals("heap")) {
            heap = new long[Math.toIntExact(bytes / Long.BYTES)];
            for (int i = 0; i < lines; i++) {
                heap[i * (LINE / Long.BYTES)] = (long) next[i] * LINE;
            }
        } else if (memory.equals("mappedFile")) {
            Path file = chaseFile(next);
            channel = FileChannel.open(file, StandardOpenOption.READ);
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, bytes);
            for (long o = 0; o < bytes; o += 4096) {
                mapped.get(Math.toIntExact(o)); // fault every page in before measuring, as a warm store is
            }
        } else {
            throw new IllegalArgumentException("memory must be heap or mappedFile, not " + memory);
        }
    }

    /** One random cycle through every line (Sattolo's shuffle), so that the chase visits each line once per lap. */
    private static int[] cycle(int lines) {
        int[] order = new int[lines];
        for (int i = 0; i < lines; i++) {
            order[i] = i;
        }
        SplittableRandom r = new SplittableRandom(42);
        for (int i = lines - 1; i > 0; i--) {
            int j = r.nextInt(i);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int[] next = new int[lines];
        for (int i = 0; i < lines; i++) {
            next[order[i]] = order[(i + 1) % lines];
        }
        return next;
    }

    /** The chase written to a file in the bench data directory, 4 KiB at a time; kept for later forks. */
    private Path chaseFile(int[] next) throws IOException {
        Path file = Stores.dataRoot().resolve("memory-read-" + bytes + ".bin");
        if (Files.isRegularFile(file) && Files.size(file) == bytes) {
            return file;
        }
        Files.createDirectories(file.getParent());
        Path building = file.resolveSibling(file.getFileName() + ".building");
        try (FileChannel out = FileChannel.open(building, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer page = ByteBuffer.allocate(4096);
            int perPage = 4096 / LINE;
            for (int p = 0; p < next.length / perPage; p++) {
                page.clear();
                for (int l = 0; l < perPage; l++) {
                    page.putLong(l * LINE, (long) next[p * perPage + l] * LINE);
                }
                while (page.hasRemaining()) {
                    out.write(page, (long) p * 4096 + page.position());
                }
            }
        }
        Files.move(building, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    @TearDown
    public void tearDown() throws IOException {
        if (channel != null) {
            channel.close(); // the mapping stays valid until it is collected; the fork ends first
        }
    }

    @Benchmark
    public long dependentRead() {
        long o = at;
        at = heap != null ? heap[(int) (o / Long.BYTES)] : mapped.getLong((int) o);
        return at;
    }
}
