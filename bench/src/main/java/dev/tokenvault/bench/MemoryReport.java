package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import dev.tokenvault.TokenVault;
import dev.tokenvault.bench.baseline.MapStore;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Memory figures the JMH runs do not give: bytes on disk per stored token after loading n tokens (every file of the
 * store: main file, logs, companions), and heap bytes per cached lookup in tokenvault's cache, against a plain map.
 * Builds the data sets it needs (the same ones the benchmarks reuse).
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.tokenvault.bench.MemoryReport [sizes...]</pre>
 *
 * Default sizes 1000 100000 1000000. Run with {@code -Xmx4g} or more; it prints a markdown table.
 */
public final class MemoryReport {
    private MemoryReport() {
    }

    public static void main(String[] args) throws Exception {
        List<Integer> sizes = new ArrayList<>();
        for (String a : args) {
            sizes.add(Integer.parseInt(a.replace("_", "")));
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1000, 100_000, 1_000_000);
        }
        System.out.println("| store | tokens | bytes on disk | bytes per token |");
        System.out.println("| --- | ---: | ---: | ---: |");
        for (int n : sizes) {
            for (String store : new String[] {Stores.TOKENVAULT, Stores.TUNED_SQLITE, Stores.SEED_SQLITE,
                Stores.CSV_FILE}) {
                if ((store.equals(Stores.CSV_FILE) && n > 100_000) || (store.equals(Stores.SEED_SQLITE) && n > 100_000)) {
                    continue; // not built by the benchmarks at these sizes
                }
                Path dir = Stores.dataSet(store, n);
                long bytes = Stores.treeSize(dir);
                System.out.printf(Locale.ROOT, "| %s | %,d | %,d | %,.0f |%n", store, n, bytes, (double) bytes / n);
            }
        }
        int cached = 10_000;
        int n = sizes.stream().mapToInt(Integer::intValue).max().orElseThrow();
        System.out.println();
        System.out.println("| heap, after GC | entries | bytes | bytes per entry |");
        System.out.println("| --- | ---: | ---: | ---: |");
        Path dir = Stores.dataSet(Stores.TOKENVAULT, n);
        try (TokenVault v = TokenVault.builder().path(dir.resolve("tokens.db")).masterKey(Stores.masterKey())
                .cacheMaximumSize(cached).open()) {
            long before = usedHeap();
            for (int i = 0; i < cached; i++) {
                if (v.findToken(OAuthToken.builder().userName(TokenData.userName(i)).build()) == null) {
                    throw new IllegalStateException("token " + i + " missing");
                }
            }
            long after = usedHeap();
            System.out.printf(Locale.ROOT, "| tokenvault cache (by userName, %,d tokens stored) | %,d | %,d | %,.0f |%n",
                    n, cached, after - before, (double) (after - before) / cached);
            if (v.stats().cacheSize() < cached * 9L / 10) {
                System.out.println("(cache holds only " + v.stats().cacheSize() + " entries)");
            }
        }
        long before = usedHeap();
        TokenStore m = new MapStore();
        ((MapStore) m).bulkLoad(cached, TokenData::token);
        long after = usedHeap();
        System.out.printf(Locale.ROOT, "| map (5 lookup maps, one row per token) | %,d | %,d | %,.0f |%n",
                cached, after - before, (double) (after - before) / cached);
        if (m.getTokens().size() != cached) {
            throw new IllegalStateException("map lost tokens");
        }
        System.out.println();
        System.out.println("data sets in " + Stores.dataRoot() + (Files.isDirectory(Stores.dataRoot()) ? "" : " (absent)"));
    }

    private static long usedHeap() throws InterruptedException {
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
