package dev.tokenvault.bench;

import dev.tokenvault.MasterKey;
import dev.tokenvault.TokenStore;
import dev.tokenvault.TokenVault;
import dev.tokenvault.bench.baseline.CsvFileStore;
import dev.tokenvault.bench.baseline.MapCopyStore;
import dev.tokenvault.bench.baseline.MapStore;
import dev.tokenvault.bench.baseline.SeedSqliteStore;
import dev.tokenvault.bench.baseline.TunedSqliteStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Opens the stores under test by name, loaded with {@link TokenData} tokens 0..n-1.
 *
 * <p>Loading a million tokens durably takes minutes, and JMH runs each parameter combination in a fresh fork, so
 * each loaded store is built once into {@code <data>/<store>-<n>/} and reused by later forks and runs; a benchmark
 * that writes works on a scratch copy. {@code <data>} is the system property {@code tokenvault.bench.data}, by
 * default {@code bench-data/} beside {@code benchmarks.jar} (that is, {@code bench/target/bench-data}: on the disk
 * of the checkout, not a tmpfs, so that fsync costs what it costs). Delete the directory to rebuild.
 */
public final class Stores {
    /** Bump when {@link TokenData} or a store's file format changes, so that stale data sets are not reused. */
    private static final String DATA_VERSION = "v5"; // v5: the engine's index and slot tables
    /** A fixed master key: every fork must open the same store. Benchmark data only. */
    private static final byte[] BENCH_KEY = new byte[32];

    static {
        for (int i = 0; i < 32; i++) {
            BENCH_KEY[i] = (byte) (0xA5 ^ i * 7);
        }
    }

    public static final String TOKENVAULT = "tokenvault";
    public static final String TOKENVAULT_NOCACHE = "tokenvault-nocache";
    public static final String SEED_SQLITE = "seed-sqlite";
    public static final String TUNED_SQLITE = "tuned-sqlite";
    public static final String CSV_FILE = "csv-file";
    public static final String MAP = "map";
    public static final String MAP_COPY = "map-copy";

    private Stores() {
    }

    public static MasterKey masterKey() {
        return MasterKey.fromBytes(BENCH_KEY);
    }

    public static Path dataRoot() {
        String prop = System.getProperty("tokenvault.bench.data");
        if (prop != null) {
            return Path.of(prop);
        }
        try {
            Path jar = Path.of(Stores.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path base = jar.getParent(); // target/ for both benchmarks.jar and target/classes
            return base.resolve("bench-data");
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of("bench-data");
        }
    }

    /** The on-disk family a store name belongs to ({@code tokenvault-nocache} reads tokenvault's files). */
    static String family(String store) {
        return store.equals(TOKENVAULT_NOCACHE) ? TOKENVAULT : store;
    }

    /** The directory of a loaded data set, built when absent. Not for the maps, which live on the heap. */
    public static Path dataSet(String store, int tokens) {
        String family = family(store);
        Path dir = dataRoot().resolve(family + "-" + tokens + "-" + DATA_VERSION);
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Path building = dataRoot().resolve(family + "-" + tokens + "-" + DATA_VERSION + ".building");
        try {
            deleteTree(building);
            Files.createDirectories(building);
            long t0 = System.nanoTime();
            build(family, building, tokens);
            Files.move(building, dir, StandardCopyOption.ATOMIC_MOVE);
            System.err.printf("# built %s with %,d tokens in %.1f s (%,d bytes on disk)%n", dir, tokens,
                    (System.nanoTime() - t0) / 1e9, treeSize(dir));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void build(String family, Path dir, int tokens) {
        switch (family) {
            case TOKENVAULT -> {
                try (TokenVault v = TokenVault.builder().path(dir.resolve(fileName(family)))
                        .masterKey(masterKey()).cacheMaximumSize(0).open()) {
                    loadConcurrently(v, tokens, Integer.getInteger("tokenvault.bench.loaders", 8));
                }
            }
            case TUNED_SQLITE -> {
                try (TunedSqliteStore s = new TunedSqliteStore(dir.resolve(fileName(family)))) {
                    s.bulkLoad(tokens, TokenData::token);
                }
            }
            case SEED_SQLITE -> new SeedSqliteStore(dir.resolve(fileName(family))).bulkLoad(tokens, TokenData::token);
            case CSV_FILE -> new CsvFileStore(dir.resolve(fileName(family))).bulkLoad(tokens, TokenData::token);
            default -> throw new IllegalArgumentException("no on-disk data set for store " + family);
        }
    }

    static String fileName(String family) {
        return switch (family) {
            case TOKENVAULT -> "tokens.db";
            case TUNED_SQLITE, SEED_SQLITE -> "tokens.sqlite";
            case CSV_FILE -> "tokens.csv";
            default -> throw new IllegalArgumentException(family);
        };
    }

    /**
     * Saves tokens 0..n-1 through the public API from {@code threads} threads, so that the store's group commit
     * shares each fsync among the threads' saves. Every save is durable on return, as in production.
     */
    public static void loadConcurrently(TokenStore store, int tokens, int threads) {
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long t0 = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                try {
                    for (int i = next.getAndIncrement(); i < tokens && failure.get() == null;
                         i = next.getAndIncrement()) {
                        store.saveToken(TokenData.token(i));
                        int d = done.incrementAndGet();
                        if (d % 10_000 == 0) {
                            System.err.printf("#   %,d tokens saved, %.0f saves/s%n", d,
                                    d / ((System.nanoTime() - t0) / 1e9));
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "loader-" + t);
            w.start();
            workers.add(w);
        }
        for (Thread w : workers) {
            try {
                w.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        if (failure.get() != null) {
            throw new IllegalStateException("loading failed", failure.get());
        }
    }

    /** Opens {@code store} over the shared data set, for lookups only. */
    public static TokenStore openForRead(String store, int tokens) {
        if (store.equals(MAP)) {
            MapStore m = new MapStore();
            m.bulkLoad(tokens, TokenData::token);
            return m;
        }
        if (store.equals(MAP_COPY)) {
            MapCopyStore m = new MapCopyStore();
            m.bulkLoad(tokens, TokenData::token);
            return m;
        }
        return open(store, dataSet(store, tokens));
    }

    /** A store opened over a scratch copy of its data set; {@link #close} closes it and deletes the copy. */
    public record Scratch(TokenStore store, Path dir) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            Stores.close(store);
            deleteTree(dir);
        }
    }

    /**
     * Opens {@code store} over a new scratch copy of its data set (under {@link #dataRoot()}), for a trial that
     * writes.
     */
    public static Scratch scratch(String store, int tokens, String purpose) throws IOException {
        Path root = dataRoot();
        Files.createDirectories(root);
        Path dir = Files.createTempDirectory(root, purpose + "-" + store + "-");
        return new Scratch(openScratchCopy(store, tokens, dir), dir);
    }

    /** Copies the data set into {@code scratch} and opens {@code store} over the copy, for benchmarks that write. */
    private static TokenStore openScratchCopy(String store, int tokens, Path scratch) {
        copyDataSet(store, tokens, scratch);
        return open(store, scratch);
    }

    /**
     * Copies the files of the data set (not its lock file) into {@code scratch}, emptied first, and syncs them: a trial
     * that started on a copy whose pages are all dirty would pay their write-back inside its own fsyncs (at 1,000,000
     * tokens about a gigabyte), which measures the copy, not the store.
     */
    public static void copyDataSet(String store, int tokens, Path scratch) {
        Path source = dataSet(store, tokens);
        try {
            deleteTree(scratch);
            Files.createDirectories(scratch);
            try (Stream<Path> files = Files.list(source)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    if (!f.getFileName().toString().endsWith(".lock")) {
                        Path copy = scratch.resolve(f.getFileName());
                        Files.copy(f, copy);
                        try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
                            ch.force(true);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static TokenStore open(String store, Path dir) {
        return switch (store) {
            case TOKENVAULT -> TokenVault.builder().path(dir.resolve(fileName(TOKENVAULT))).masterKey(masterKey())
                    .open(); // default cache: 10,000 entries, 10 minutes
            case TOKENVAULT_NOCACHE -> TokenVault.builder().path(dir.resolve(fileName(TOKENVAULT)))
                    .masterKey(masterKey()).cacheMaximumSize(0).open();
            case TUNED_SQLITE -> new TunedSqliteStore(dir.resolve(fileName(TUNED_SQLITE)));
            case SEED_SQLITE -> new SeedSqliteStore(dir.resolve(fileName(SEED_SQLITE)));
            case CSV_FILE -> new CsvFileStore(dir.resolve(fileName(CSV_FILE)));
            default -> throw new IllegalArgumentException("unknown store " + store);
        };
    }

    /** A fresh, empty store of each kind, for tests. */
    public static TokenStore openEmpty(String store, Path dir) {
        if (store.equals(MAP)) {
            return new MapStore();
        }
        return open(store, dir);
    }

    public static void close(TokenStore store) {
        if (store instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("close failed", e);
            }
        }
    }

    /** Bytes of every file in {@code dir}. */
    public static long treeSize(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
