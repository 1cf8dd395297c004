package dev.tokenvault;

import com.zaxxer.hikari.HikariDataSource;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Child process of {@link SharedRefreshSingleFlightTest}: one node of a shared store with refresh single-flight on.
 * It opens the store, prints {@code READY}, and then, by its mode:
 * <ul>
 *   <li>{@code burst}: waits for a line on standard input (so that every node starts at once), runs the SDK's flow
 *       on its threads against the fake accounts server, prints {@code TOKEN t} per thread that got one,
 *       {@code FAILURES n}, {@code LONGEST nanos} (its longest find) and {@code DONE}, and exits;</li>
 *   <li>{@code hold}: finds the token, which takes the lease, prints {@code LEASED} and sleeps until it is killed.</li>
 * </ul>
 *
 * <p>Arguments: {@code database prefix base64Key accountsUri recordId userName threads maxWaitMillis mode}. The
 * database's address comes from the environment, as in the parent ({@link TestDatabase}).
 */
public final class RefreshWorker {
    private RefreshWorker() {
    }

    public static void main(String[] args) throws Exception {
        TestDatabase db = TestDatabase.valueOf(args[0]);
        String prefix = args[1];
        MasterKey key = MasterKey.fromBase64(args[2]);
        URI accounts = URI.create(args[3]);
        OAuthToken stored = OAuthToken.builder().id(args[4]).userName(args[5]).build();
        int threads = Integer.parseInt(args[6]);
        Duration maxWait = Duration.ofMillis(Long.parseLong(args[7]));
        boolean hold = args[8].equals("hold");
        // a small pool per process: four of them share the test servers with the other tests
        try (HikariDataSource pool = db.pool(db.url(), db.password(), 4);
             TokenVault vault = open(TokenVault.builder().dataSource(pool).tablePrefix(prefix).masterKey(key)
                     .refreshSingleFlight(RefreshSingleFlightTest.WINDOW, maxWait))) {
            System.out.println("READY");
            if (hold) {
                vault.findTokenById(stored.getId());
                System.out.println("LEASED");
                Thread.sleep(Long.MAX_VALUE);
            }
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            RefreshSingleFlightTest.Burst burst = RefreshSingleFlightTest.burst(List.of(vault), threads, stored,
                    accounts, () -> { });
            burst.accessTokens().forEach(t -> System.out.println("TOKEN " + t));
            System.out.println("FAILURES " + burst.failures());
            System.out.println("LONGEST " + burst.longestFindNanos());
            System.out.println("DONE");
        }
    }

    /**
     * Opens the vault, again while it fails with {@code IO} for up to a minute: four JVMs that start at once on a busy
     * machine may take longer than the pool's 5 s to log in, and the pool goes on connecting meanwhile.
     */
    private static TokenVault open(TokenVault.Builder builder) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (true) {
            try {
                return builder.open();
            } catch (TokenStoreException e) {
                if (e.code() != ErrorCode.IO || System.nanoTime() - deadline > 0) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
