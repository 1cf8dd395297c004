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
 * store: main file, logs, companions), the same after refreshing every token 20 times without {@code compact()}
 * (sizes up to {@code -Dtokenvault.bench.growthMax}, default 100,000), and heap bytes per cached lookup in
 * tokenvault's cache, against a plain map. Builds the data sets it needs (the same ones the benchmarks reuse).
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.tokenvault.bench.MemoryReport [sizes...]</pre>
 *
 * Default sizes 1000 100000 1000000. Run with {@code -Xmx4g} or more; it prints a markdown table.
 * {@code -Dtokenvault.bench.growthOnly=true} leaves out the first table (bytes per token of every store), and so the
 * build of the other stores' data sets.
 */
public final class MemoryReport {
    /** Refreshes of every token in the growth measurement (the target: at most 1.2x after 20). */
    private static final int REFRESHES = 20;
    private static final int REFRESH_BATCH = 1000;
    /** Largest data set refreshed: 20 rounds of 1,000,000 saves take longer than the rest of the report. */
    private static final int REFRESH_GROWTH_MAX_TOKENS = Integer.getInteger("tokenvault.bench.growthMax", 100_000);

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
        for (int n : Boolean.getBoolean("tokenvault.bench.growthOnly") ? List.<Integer>of() : sizes) {
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
        System.out.println();
        System.out.println("| tokenvault, refreshes of every token (no compact) | tokens | bytes on disk | bytes per token"
                + " | growth |");
        System.out.println("| --- | ---: | ---: | ---: | ---: |");
        for (int n : sizes) {
            if (n <= REFRESH_GROWTH_MAX_TOKENS) {
                refreshGrowth(n);
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

    /**
     * Refreshes every token of a copy of the data set {@value #REFRESHES} times (a new access token and expiry, as the
     * SDK saves after each refresh), in saves of {@value #REFRESH_BATCH} tokens, and prints the bytes on disk after
     * rounds 1, 5, 10 and 20: whether freed space is reused without {@code compact()}.
     */
    private static void refreshGrowth(int n) throws Exception {
        Path scratch = Files.createTempDirectory(Files.createDirectories(Stores.dataRoot()), "growth-" + n + "-");
        try {
            Stores.copyDataSet(Stores.TOKENVAULT, n, scratch);
            long loaded = Stores.treeSize(scratch);
            printGrowth(0, n, loaded, loaded);
            try (TokenVault v = TokenVault.builder().path(scratch.resolve("tokens.db")).masterKey(Stores.masterKey())
                    .cacheMaximumSize(0).open()) {
                for (int round = 1; round <= REFRESHES; round++) {
                    for (int from = 0; from < n; from += REFRESH_BATCH) {
                        List<OAuthToken> batch = new ArrayList<>(REFRESH_BATCH);
                        for (int i = from; i < Math.min(n, from + REFRESH_BATCH); i++) {
                            batch.add(OAuthToken.builder().userName(TokenData.userName(i))
                                    .accessToken(TokenData.refreshedAccessToken(round, i))
                                    .expiryTime(Long.toString(1_767_225_600_000L + round * 3_600_000L)).build());
                        }
                        v.saveTokens(batch);
                    }
                    if (round == 1 || round == 5 || round == 10 || round == REFRESHES) {
                        printGrowth(round, n, Stores.treeSize(scratch), loaded);
                    }
                }
            }
            printGrowth(-1, n, Stores.treeSize(scratch), loaded);
        } finally {
            Stores.deleteTree(scratch);
        }
    }

    private static void printGrowth(int round, int n, long bytes, long loaded) {
        String when = round == 0 ? "as loaded" : round < 0 ? "after " + REFRESHES + " rounds, closed"
                : "after " + round + (round == 1 ? " round" : " rounds") + ", open";
        System.out.printf(Locale.ROOT, "| %s | %,d | %,d | %,.0f | %.2fx |%n", when, n, bytes, (double) bytes / n,
                (double) bytes / loaded);
    }

    private static long usedHeap() throws InterruptedException {
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
