package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.engine.jdbc.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A fleet on one shared store: three JVMs ({@link FleetWorker}, three threads each, cache on) save, refresh and find
 * the same {@value #USERS} users for {@code -Dtokenvault.fleetSeconds} seconds (8 in CI, 20 for the long form); one
 * is killed with SIGKILL half-way. Afterwards: no acknowledged save is lost (the record of each user holds a save
 * that no acknowledged save of that user followed entirely), no user name, access or refresh token is held twice,
 * no node read its own replaced value (read-your-writes), and {@code verify()} is clean.
 */
class FleetTest {
    static final int USERS = 200;
    static final int NODES = 3;
    static final int THREADS = 3;

    @TempDir
    Path dir;

    /** One save of a user from the logs: when it started, and when it returned ({@code MAX_VALUE}: never seen). */
    record Save(String worker, String access, long start, long end) { }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void threeNodesOneKilledLoseNoAcknowledgedSave(TestDatabase db) throws Exception {
        db.assumeAvailable();
        int seconds = Integer.getInteger("tokenvault.fleetSeconds", 8);
        StoreFixtures.Key key = StoreFixtures.Key.random();
        String prefix = TestDatabase.freshPrefix();
        try {
            List<Process> nodes = new ArrayList<>();
            for (int n = 0; n < NODES; n++) {
                // the node to kill would run three times as long: on a loaded machine it must still run at the kill
                nodes.add(start(db, prefix, key, n, n == NODES - 1 ? 3 * seconds : seconds));
            }
            // the kill lands half-way through the victim's own run, once it has acknowledged saves of its own
            awaitOutput(NODES - 1, "READY");
            Thread.sleep(seconds * 500L);
            awaitAcknowledgedSave(NODES - 1);
            Process victim = nodes.get(NODES - 1);
            assertTrue(victim.isAlive(), "the node to kill ended early: " + output(NODES - 1));
            victim.destroyForcibly(); // SIGKILL on Linux
            assertTrue(victim.waitFor(30, TimeUnit.SECONDS));
            for (int n = 0; n < NODES - 1; n++) {
                awaitOutput(n, "READY");
                Process p = nodes.get(n);
                if (!p.waitFor(seconds + 120L, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    fail("node " + n + " did not finish: " + output(n));
                }
                assertEquals(0, p.exitValue(), () -> "node failed: " + output(nodes.indexOf(p)));
            }

            Map<String, List<Save>> saves = new HashMap<>();
            List<String> problems = new ArrayList<>();
            long acked = 0;
            for (int n = 0; n < NODES; n++) {
                acked += readLog(n, saves, problems);
            }
            try (TokenVault vault = TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix)
                    .masterKey(key.masterKey()).cacheMaximumSize(0).open()) {
                List<OAuthToken> all = vault.getTokens();
                checkUnique(all, problems);
                checkNoAcknowledgedSaveLost(all, saves, problems);
                VerifyReport report = vault.verify();
                assertTrue(report.isClean(), () -> "verify: " + report.problems());
                System.out.printf("FleetTest on %s: %d s, %d nodes x %d threads, node %d killed, %d acknowledged"
                        + " saves checked, %d users%n", db, seconds, NODES, THREADS, NODES - 1, acked, all.size());
            }
            assertTrue(problems.isEmpty(), () -> problems.size() + " problems, first: "
                    + problems.subList(0, Math.min(10, problems.size())));
            assertTrue(acked > 0);
        } finally {
            db.drop(prefix);
        }
    }

    private Process start(TestDatabase db, String prefix, StoreFixtures.Key key, int node, int seconds)
            throws IOException {
        List<String> command = ChildJvm.command(FleetWorker.class, db.name(), prefix, key.base64(),
                Integer.toString(node), Integer.toString(seconds), log(node).toString(), Integer.toString(THREADS),
                Integer.toString(USERS));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("out-" + node).toFile())
                .start();
    }

    private void awaitOutput(int node, String text) throws InterruptedException {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120); !output(node).contains(text); ) {
            if (System.nanoTime() > deadline) {
                fail("node " + node + " did not print " + text + ": " + output(node));
            }
            Thread.sleep(50);
        }
    }

    private void awaitAcknowledgedSave(int node) throws IOException, InterruptedException {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
             !Files.readString(log(node)).contains("\nA "); ) {
            if (System.nanoTime() > deadline) {
                fail("node " + node + " acknowledged no save: " + output(node));
            }
            Thread.sleep(20);
        }
    }

    private Path log(int node) {
        return dir.resolve("log-" + node);
    }

    private String output(int node) {
        try {
            return Files.readString(dir.resolve("out-" + node));
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    /** Reads a node's log into {@code saves} (by user) and {@code problems}; returns its acknowledged saves. */
    private long readLog(int node, Map<String, List<Save>> saves, List<String> problems) throws IOException {
        Map<String, Long> started = new HashMap<>();
        Map<String, String> userOf = new HashMap<>();
        long acked = 0;
        for (String line : Files.readAllLines(log(node), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (!f[f.length - 1].equals("end")) {
                continue; // torn by the kill
            }
            switch (f[0]) {
                case "T" -> {
                    started.put(f[2], Long.parseLong(f[3]));
                    userOf.put(f[2], f[1]);
                }
                case "A" -> {
                    saves.computeIfAbsent(f[1], u -> new ArrayList<>())
                            .add(new Save("node " + node, f[2], started.remove(f[2]), Long.parseLong(f[3])));
                    acked++;
                }
                case "V" -> problems.add("node " + node + ": read-your-writes: " + line);
                case "F" -> problems.add("node " + node + ": a call failed: " + line);
                default -> problems.add("node " + node + ": unreadable log line: " + line);
            }
        }
        // saves that started and never returned (the killed node's last ones) may or may not have been applied
        started.forEach((access, start) -> saves.computeIfAbsent(userOf.get(access), u -> new ArrayList<>())
                .add(new Save("node " + node, access, start, Long.MAX_VALUE)));
        return acked;
    }

    private static void checkUnique(List<OAuthToken> all, List<String> problems) {
        Set<String> users = new HashSet<>();
        Set<String> tokens = new HashSet<>();
        for (OAuthToken t : all) {
            if (!users.add(t.getUserName())) {
                problems.add("user name held twice: " + t.getUserName());
            }
            for (String token : new String[] {t.getAccessToken(), t.getRefreshToken()}) {
                if (token != null && !tokens.add(token)) {
                    problems.add("token held twice: " + token);
                }
            }
        }
        assertTrue(all.size() <= USERS, "more records than users: " + all.size());
    }

    /**
     * For each user the record must hold the access token of one of its saves, and no acknowledged save of that user
     * may have started after that save returned (it would have replaced it: an acknowledged save was lost).
     */
    private static void checkNoAcknowledgedSaveLost(List<OAuthToken> all, Map<String, List<Save>> saves,
                                                    List<String> problems) {
        Map<String, OAuthToken> byUser = new HashMap<>();
        all.forEach(t -> byUser.put(t.getUserName(), t));
        for (Map.Entry<String, List<Save>> e : saves.entrySet()) {
            OAuthToken record = byUser.get(e.getKey());
            boolean anyAcked = e.getValue().stream().anyMatch(s -> s.end() != Long.MAX_VALUE);
            if (record == null) {
                if (anyAcked) {
                    problems.add(e.getKey() + ": acknowledged saves but no record");
                }
                continue;
            }
            Save kept = e.getValue().stream().filter(s -> s.access().equals(record.getAccessToken())).findFirst()
                    .orElse(null);
            if (kept == null) {
                problems.add(e.getKey() + ": holds " + record.getAccessToken() + ", which no node saved");
                continue;
            }
            for (Save s : e.getValue()) {
                if (s.end() != Long.MAX_VALUE && s.start() > kept.end()) {
                    problems.add(e.getKey() + ": the acknowledged save " + s + " started after " + kept
                            + " returned, and is lost");
                }
            }
        }
        assertNotNull(byUser);
    }
}
