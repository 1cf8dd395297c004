package dev.tokenvault;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Child process of {@link FleetTest}: one node of a fleet. It opens the shared store (cache on) and, from several
 * threads, saves, refreshes and finds the same users as the other nodes until its time is up, logging every save
 * before it starts ({@code T}) and after it returns ({@code A}), with wall-clock microseconds, to a log that survives
 * SIGKILL. After each save a thread looks its user up again: a value this thread itself replaced is a read-your-writes
 * violation ({@code V}); a failed call is logged as {@code F}.
 *
 * <p>Log lines: {@code T|A user accessToken micros end}, {@code V message end}, {@code F code user end}; a kill can
 * tear the last line, so only a line that ends with {@code end} counts.
 *
 * <p>Arguments: {@code MARIADB|POSTGRESQL prefix base64Key worker seconds log threads users}.
 */
public final class FleetWorker {
    private FleetWorker() {
    }

    static String user(int u) {
        return "fleet-user-" + u + "@example.com";
    }

    static long micros() {
        return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
    }

    public static void main(String[] args) throws Exception {
        TestDatabase db = TestDatabase.valueOf(args[0]);
        String prefix = args[1];
        MasterKey key = MasterKey.fromBase64(args[2]);
        int worker = Integer.parseInt(args[3]);
        long seconds = Long.parseLong(args[4]);
        Path log = Path.of(args[5]);
        int threads = Integer.parseInt(args[6]);
        int users = Integer.parseInt(args[7]);
        AtomicLong acks = new AtomicLong();
        AtomicLong violations = new AtomicLong();
        try (HikariDataSource pool = pool(db, threads + 2);
             TokenVault vault = TokenVault.builder().dataSource(pool).tablePrefix(prefix).masterKey(key).open();
             PrintStream out = new PrintStream(new FileOutputStream(log.toFile(), true), true)) {
            long deadline = System.nanoTime() + seconds * 1_000_000_000L; // from the open on
            Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                Node node = new Node(vault, out, worker + "-" + t, new Random(worker * 1_000L + t), acks, violations);
                workers[t] = new Thread(() -> node.run(deadline, users), "fleet-" + worker + "-" + t);
                workers[t].start();
            }
            System.out.println("READY");
            System.out.flush();
            for (Thread w : workers) {
                w.join();
            }
        }
        System.out.println("DONE " + acks.get() + " " + violations.get());
    }

    /** The node's pool; a generous connection timeout, as a loaded test machine is slow to start backends. */
    private static HikariDataSource pool(TestDatabase db, int size) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.url());
        config.setUsername(db.user());
        config.setPassword(db.password());
        config.setMaximumPoolSize(size);
        config.setConnectionTimeout(30_000);
        config.setPoolName("fleet-node");
        return new HikariDataSource(config);
    }

    /** One thread of a node: its own counter, and the access tokens it saved per user. */
    private record Node(TokenVault vault, PrintStream out, String name, Random random, AtomicLong acks,
                        AtomicLong violations) {
        void run(long deadline, int users) {
            Map<String, Set<String>> saved = new HashMap<>();
            Map<String, String> newest = new HashMap<>();
            for (long seq = 0; System.nanoTime() < deadline; seq++) {
                String user = user(random.nextInt(users));
                try {
                    if (random.nextInt(2) == 0) {
                        String access = save(user, seq);
                        saved.computeIfAbsent(user, u -> new HashSet<>()).add(access);
                        newest.put(user, access);
                    }
                    check(user, vault.findToken(OAuthToken.builder().userName(user).build()), saved.get(user),
                            newest.get(user));
                } catch (TokenStoreException e) {
                    log("F " + e.code() + " " + user);
                }
            }
        }

        /** A refresh: a new access token (every fifth also a new refresh token); returns the access token. */
        private String save(String user, long seq) {
            String access = "acc-" + name + "-" + seq;
            OAuthToken token = OAuthToken.builder().userName(user).accessToken(access)
                    .expiryTime(Long.toString(1_800_000_000_000L + seq)).clientId("fleet-client").build();
            if (seq % 5 == 0) {
                token.setRefreshToken("ref-" + name + "-" + seq);
            }
            log("T " + user + " " + access + " " + micros());
            vault.saveToken(token);
            log("A " + user + " " + access + " " + micros());
            acks.incrementAndGet();
            return access;
        }

        /**
         * Read-your-writes: once this thread saved {@code user}, the record must be found, and must not hold an access
         * token this thread itself replaced (access tokens are unique, so an older one of its own can only come from a
         * stale read; another node's newer one is fine).
         */
        private void check(String user, OAuthToken found, Set<String> saved, String newest) {
            if (newest == null) {
                return;
            }
            if (found == null) {
                violation(user + " not found after this thread saved it");
            } else if (saved.contains(found.getAccessToken()) && !newest.equals(found.getAccessToken())) {
                violation(user + " read " + found.getAccessToken() + " after this thread saved " + newest);
            }
        }

        private void violation(String message) {
            violations.incrementAndGet();
            log("V " + message);
        }

        private void log(String line) {
            synchronized (out) {
                out.println(line + " end");
            }
        }
    }
}
