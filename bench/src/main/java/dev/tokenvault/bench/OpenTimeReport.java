package dev.tokenvault.bench;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenVault;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * How long {@code TokenVault.builder()...open()} takes on a loaded data set: a clean store (closed normally), and a
 * store whose writer was killed with SIGKILL in the middle of its saves, so that the open first replays the redo log.
 * Each open is timed from {@code open()} to its return, in this JVM, after the first (which also loads the classes
 * and verifies the signed crypto jar; it is printed apart).
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.tokenvault.bench.OpenTimeReport [sizes...]</pre>
 *
 * Default sizes 1000 100000 1000000; prints a markdown table. The killed writer is a child JVM on the same class
 * path ({@code OpenTimeReport writer DIR TOKENS RUN}), which saves refreshes one by one until it is killed.
 */
public final class OpenTimeReport {
    private static final int CLEAN_OPENS = 5;
    private static final int KILLS = 3;
    /**
     * Saves the writer makes before it says it is ready to be killed; it keeps saving until it is. Set
     * {@code -Dtokenvault.bench.savesBeforeKill} to about 6,600 to kill it when a refresh log has just filled its first
     * half (8 MiB at about 1.3 KB per save), so that the open replays the most a kill can leave: that half, whose
     * checkpoint was running, and the start of the second.
     */
    private static final int SAVES_BEFORE_KILL = Integer.getInteger("tokenvault.bench.savesBeforeKill", 2000);

    private OpenTimeReport() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 4 && args[0].equals("writer")) {
            writeUntilKilled(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            return;
        }
        List<Integer> sizes = new ArrayList<>();
        for (String a : args) {
            sizes.add(Integer.parseInt(a.replace("_", "")));
        }
        if (sizes.isEmpty()) {
            sizes = List.of(1000, 100_000, 1_000_000);
        }
        System.out.println("| tokens | first open in the JVM (ms) | clean open, median (ms)"
                + " | after kill -9, median (ms) | redo log at the kill (bytes) |");
        System.out.println("| ---: | ---: | ---: | ---: | ---: |");
        Path scratchRoot = Files.createDirectories(Stores.dataRoot());
        for (int n : sizes) {
            Path scratch = Files.createTempDirectory(scratchRoot, "open-" + n + "-");
            try {
                Stores.copyDataSet(Stores.TOKENVAULT, n, scratch);
                Path file = scratch.resolve(Stores.fileName(Stores.TOKENVAULT));
                double first = openMillis(file);
                double[] clean = new double[CLEAN_OPENS];
                for (int i = 0; i < clean.length; i++) {
                    clean[i] = openMillis(file);
                }
                double[] killed = new double[KILLS];
                long redoBytes = 0;
                for (int i = 0; i < killed.length; i++) {
                    redoBytes = Math.max(redoBytes, killWriter(scratch, file, n, i));
                    killed[i] = openMillis(file);
                }
                System.out.printf(Locale.ROOT, "| %,d | %.0f | %.1f | %.1f | %,d |%n", n, first, median(clean),
                        median(killed), redoBytes);
            } finally {
                Stores.deleteTree(scratch);
            }
        }
    }

    private static double openMillis(Path file) {
        long t0 = System.nanoTime();
        try (TokenVault v = TokenVault.builder().path(file).masterKey(Stores.masterKey()).open()) {
            double ms = (System.nanoTime() - t0) / 1e6;
            if (v.findToken(OAuthToken.builder().userName(TokenData.userName(0)).build()) == null) {
                throw new IllegalStateException("the store at " + file + " lost token 0");
            }
            return ms;
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /**
     * Starts a writer on the store in {@code dir}, kills it with SIGKILL once it has saved for a while, and returns
     * the bytes of the redo log it left (the log is preallocated with zeros: counted up to its last non-zero byte).
     */
    private static long killWriter(Path dir, Path file, int tokens, int run) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "-Dtokenvault.bench.savesBeforeKill=" + SAVES_BEFORE_KILL, OpenTimeReport.class.getName(), "writer",
                dir.toString(), Integer.toString(tokens), Integer.toString(run)).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.equals("ready")) {
                System.err.println("writer: " + line);
            }
            if (line == null) {
                throw new IllegalStateException("the writer ended before it was ready");
            }
            p.destroyForcibly(); // SIGKILL: no close, no checkpoint
            p.waitFor(30, TimeUnit.SECONDS);
        }
        byte[] log = Files.readAllBytes(Path.of(file + ".redo"));
        int end = log.length;
        while (end > 0 && log[end - 1] == 0) {
            end--;
        }
        return end;
    }

    /**
     * The child: durable refreshes of random users, one per save, until it is killed. Its access tokens are unique to
     * its {@code run}, so that they never collide with those an earlier writer left on other users.
     */
    private static void writeUntilKilled(Path dir, int tokens, int run) {
        TokenVault v = TokenVault.builder().path(dir.resolve(Stores.fileName(Stores.TOKENVAULT)))
                .masterKey(Stores.masterKey()).open();
        java.util.SplittableRandom random = new java.util.SplittableRandom(System.nanoTime());
        for (long seq = 0; ; seq++) {
            OAuthToken t = new OAuthToken();
            t.setUserName(TokenData.userName(random.nextInt(tokens)));
            t.setAccessToken(TokenData.refreshedAccessToken(1000 + run, seq));
            t.setExpiryTime(Long.toString(1_767_225_600_000L + 3_600_000L + seq));
            v.saveToken(t);
            if (seq == SAVES_BEFORE_KILL) {
                System.out.println("ready");
                System.out.flush();
            }
        }
    }
}
