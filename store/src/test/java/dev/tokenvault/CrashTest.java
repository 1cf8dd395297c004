package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a writing child JVM with SIGKILL at random moments and checks that the store opens, holds every change whose
 * call returned, holds at most the one in-flight change of each thread beyond that, and verifies clean.
 *
 * <p>Rounds: {@code -Dtokenvault.crashRounds=N} (CI default 12), for kills during compaction
 * {@code -Dtokenvault.compactionCrashRounds=N} (CI default 6), and for kills of writers that recovered a killed one
 * {@code -Dtokenvault.chainedCrashRounds=N} (CI default 2). Long form: {@code mvn -pl store test -Dtest=CrashTest
 * -Dtokenvault.crashRounds=200 -Dtokenvault.compactionCrashRounds=50 -Dtokenvault.chainedCrashRounds=50}.
 */
class CrashTest {
    private static final int ROUNDS = Integer.getInteger("tokenvault.crashRounds", 12);
    private static final int COMPACTION_ROUNDS = Integer.getInteger("tokenvault.compactionCrashRounds", 6);
    private static final int CHAINED_ROUNDS = Integer.getInteger("tokenvault.chainedCrashRounds", 2);
    /** Writers killed one after another in a chained round before the store is checked. */
    private static final int CHAIN = 3;
    /** Records loaded before a compaction run, so that each compaction takes long enough to be killed in. */
    private static final int PRELOADED = 1_500;

    @TempDir
    Path dir;

    @Test
    void everyReturnedChangeSurvivesSigkill() throws Exception {
        run(ROUNDS, false);
    }

    /**
     * The same, while another thread of the child compacts the store again and again ({@link TokenVault#compact()}):
     * a kill during a compaction leaves the old file or the new one, complete, with every returned change. Rounds:
     * {@code -Dtokenvault.compactionCrashRounds=N} (CI default 6).
     */
    @Test
    void everyReturnedChangeSurvivesSigkillDuringCompaction() throws Exception {
        run(COMPACTION_ROUNDS, true);
    }

    /**
     * Writers killed one after another, each opening the store the one before it left: its open replays the redo
     * log without syncing the main file and goes on writing after the replayed records, and the next kill lands
     * before any checkpoint. The middle writer of each chain is killed at a random moment of its start, often during
     * its replay. Only then does this JVM open the store and check every change any of them returned. Rounds:
     * {@code -Dtokenvault.chainedCrashRounds=N} (CI default 2).
     */
    @Test
    void everyReturnedChangeSurvivesSigkillOfWritersThatRecoveredAKilledOne() throws Exception {
        byte[] raw = new byte[32];
        new Random(11).nextBytes(raw);
        String keyB64 = Base64.getEncoder().encodeToString(raw);
        MasterKey key = MasterKey.fromBase64(keyB64);
        Path store = dir.resolve("chained.db");
        long seed = Long.getLong("tokenvault.crashSeed", System.nanoTime());
        Random random = new Random(seed);
        Map<String, String> state = new HashMap<>();
        Map<String, Set<String>> history = new HashMap<>();
        long acked = 0;
        int killedStarting = 0;
        for (int round = 0; round < CHAINED_ROUNDS; round++) {
            Expectation exp = new Expectation(state, history);
            for (int k = 0; k < CHAIN; k++) {
                Path journal = dir.resolve("chain-" + round + "-" + k + ".txt");
                boolean duringStart = k == 1;
                Process child = new ProcessBuilder(ChildJvm.command(CrashWorker.class, store.toString(), keyB64,
                        journal.toString(), Long.toString(seed + 100L * round + k),
                        Integer.toString(1 + random.nextInt(3)), "users=c" + round + "w" + k + "-"))
                        .redirectErrorStream(true).start();
                BufferedReader childOut = new BufferedReader(new InputStreamReader(child.getInputStream(),
                        StandardCharsets.UTF_8));
                if (duringStart) {
                    Thread.sleep(random.nextInt(600)); // the JVM's start, the replay, or the first saves
                    if (child.isAlive()) {
                        killedStarting++;
                    }
                } else {
                    String first = childOut.readLine();
                    if (!"READY".equals(first)) {
                        child.destroyForcibly();
                        fail("chain " + round + " writer " + k + " (seed " + seed + ") did not start: " + first
                                + drain(childOut));
                    }
                    Thread.sleep(50 + random.nextInt(700));
                }
                child.destroyForcibly(); // SIGKILL on Linux
                assertTrue(child.waitFor(30, TimeUnit.SECONDS), "worker did not die");
                if (!duringStart && child.exitValue() != 137) {
                    fail("chain " + round + " writer " + k + " (seed " + seed + ") ended before the kill:"
                            + drain(childOut));
                }
                if (Files.exists(journal)) {
                    exp.read(journal);
                }
            }
            acked += exp.ackedCount;
            try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).cacheMaximumSize(0).open()) {
                exp.check(vault, "chain " + round + " (seed " + seed + ")");
                VerifyReport report = vault.verify();
                assertTrue(report.isClean(), "chain " + round + " (seed " + seed + "): " + report.problems());
            }
        }
        System.out.printf("CrashTest (chained): %d chains of %d SIGKILLs, %d writers killed while starting, %d"
                + " acknowledged calls checked (seed %d)%n", CHAINED_ROUNDS, CHAIN, killedStarting, acked, seed);
        assertTrue(acked > 0, "no call was acknowledged before the kills: the test checked nothing");
    }

    private void run(int rounds, boolean compacting) throws Exception {
        String name = compacting ? "CrashTest (compacting)" : "CrashTest";
        byte[] raw = new byte[32];
        new Random(7).nextBytes(raw);
        String keyB64 = Base64.getEncoder().encodeToString(raw);
        MasterKey key = MasterKey.fromBase64(keyB64);
        Path store = dir.resolve("crash.db");
        long seed = Long.getLong("tokenvault.crashSeed", System.nanoTime());
        Random random = new Random(seed);
        int inFlightKills = 0;
        int unfinishedCopies = 0;
        long acked = 0;
        Map<String, String> state = new HashMap<>();
        Map<String, Set<String>> history = new HashMap<>();
        if (compacting) {
            preload(store, key);
        }
        for (int round = 0; round < rounds; round++) {
            int threads = 1 + random.nextInt(4);
            Path journal = dir.resolve("journal-" + round + ".txt");
            List<String> command = ChildJvm.command(CrashWorker.class, store.toString(), keyB64,
                    journal.toString(), Long.toString(seed + round), Integer.toString(threads));
            if (compacting) {
                command.add("compact");
            }
            Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
            BufferedReader childOut = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            String first = childOut.readLine();
            if (!"READY".equals(first)) {
                child.destroyForcibly();
                fail("round " + round + " (seed " + seed + "): worker did not start: " + first + drain(childOut));
            }
            Thread.sleep(compacting ? 300 + random.nextInt(2500) : 50 + random.nextInt(700));
            if (!child.isAlive()) {
                fail("round " + round + " (seed " + seed + "): worker failed before the kill:" + drain(childOut));
            }
            child.destroyForcibly(); // SIGKILL on Linux
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "worker did not die");

            if (Files.exists(dir.resolve("crash.db.compacting"))) {
                unfinishedCopies++; // killed between the start of a compaction's copy and its rename
            }
            Expectation exp = new Expectation(state, history);
            exp.read(journal);
            inFlightKills += exp.inFlight.size();
            acked += exp.ackedCount;
            try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).cacheMaximumSize(0).open()) {
                exp.check(vault, "round " + round + " (seed " + seed + ")");
                VerifyReport report = vault.verify();
                assertTrue(report.isClean(), "round " + round + " (seed " + seed + "): " + report.problems());
                if (compacting) {
                    checkPreloaded(vault, "round " + round + " (seed " + seed + ")");
                    assertFalse(Files.exists(dir.resolve("crash.db.compacting")),
                            "the open did not delete the unfinished compaction");
                }
            }
        }
        System.out.printf("%s: %d SIGKILLs, %d with a call in flight, %d acknowledged calls checked%s (seed %d)%n",
                name, rounds, inFlightKills, acked,
                compacting ? ", " + unfinishedCopies + " killed during a compaction's copy" : "", seed);
        assertTrue(acked > 0, "no call was acknowledged before the kills: the test checked nothing");
    }

    private static void preload(Path store, MasterKey key) {
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            List<OAuthToken> batch = new ArrayList<>();
            for (int i = 0; i < PRELOADED; i++) {
                batch.add(OAuthToken.builder().userName("pre-" + i).refreshToken("pre-rt-" + i)
                        .accessToken("pre-at-" + i + "-" + "p".repeat(200)).build());
                if (batch.size() == 1_000 || i == PRELOADED - 1) {
                    vault.saveTokens(batch);
                    batch = new ArrayList<>();
                }
            }
        }
    }

    /** The records loaded before the run are all there, whole, and found by each of their values. */
    private static void checkPreloaded(TokenVault vault, String round) {
        assertEquals(PRELOADED, vault.getTokens().stream().filter(t -> t.getUserName().startsWith("pre-")).count(),
                round + ": preloaded records lost");
        for (int i = 0; i < PRELOADED; i += 97) {
            OAuthToken t = vault.findToken(OAuthToken.builder().accessToken("pre-at-" + i + "-" + "p".repeat(200))
                    .build());
            assertNotNull(t, round + ": preloaded record " + i + " not found by its access token");
            assertEquals("pre-" + i, t.getUserName());
            assertEquals("pre-rt-" + i, t.getRefreshToken());
        }
    }

    private static String drain(BufferedReader r) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String line; (line = r.readLine()) != null; ) {
            sb.append('\n').append(line);
        }
        return sb.toString();
    }

    /**
     * The state one round's journal allows: per user, the last acknowledged state, or that plus the in-flight call.
     * State carries across rounds in {@code acknowledged} and {@code history}.
     */
    private static final class Expectation {
        /** user -> access token after the last acknowledged call (null = deleted/absent). */
        final Map<String, String> acknowledged;
        /** every access token ever acknowledged or seen per user, to check that replaced ones find nothing. */
        final Map<String, Set<String>> history;
        /** user -> access token if the in-flight call took effect (null value = a delete). */
        final Map<String, String> inFlight = new HashMap<>();
        long ackedCount;

        Expectation(Map<String, String> acknowledged, Map<String, Set<String>> history) {
            this.acknowledged = acknowledged;
            this.history = history;
        }

        void read(Path journal) throws IOException {
            Map<String, String[]> pendingByThread = new HashMap<>();
            for (String line : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
                String[] p = line.split(" ");
                if (p.length != 7 || !p[6].equals("end")) {
                    // A line torn by the kill (a long one is written in pieces, so even its access token may be cut
                    // short). A torn I line: the call never started. A torn A line: the call returned, but it stays
                    // in flight here, which allows both its before and after state.
                    continue;
                }
                String thread = p[1];
                if (p[0].equals("I")) {
                    pendingByThread.put(thread, p);
                } else {
                    pendingByThread.remove(thread);
                    ackedCount++;
                    String value = p[3].equals("save") ? p[5] : null;
                    acknowledged.put(p[4], value);
                    if (value != null) {
                        history.computeIfAbsent(p[4], u -> new HashSet<>()).add(value);
                    }
                }
            }
            for (String[] p : pendingByThread.values()) {
                inFlight.put(p[4], p[3].equals("save") ? p[5] : null);
            }
        }

        /** Checks the store and folds what it really holds (an in-flight call may have landed) into the state. */
        void check(TokenVault vault, String round) {
            Set<String> users = new HashSet<>(acknowledged.keySet());
            users.addAll(inFlight.keySet());
            for (String user : users) {
                OAuthToken found = vault.findToken(OAuthToken.builder().userName(user).build());
                String actual = found == null ? null : found.getAccessToken();
                String expected = acknowledged.get(user);
                boolean ok = Objects.equals(actual, expected)
                        || (inFlight.containsKey(user) && Objects.equals(actual, inFlight.get(user)));
                if (!ok) {
                    fail(round + ": user " + user + " holds " + describe(actual) + ", expected " + describe(expected)
                            + (inFlight.containsKey(user) ? " or " + describe(inFlight.get(user)) : ""));
                }
                if (actual != null) {
                    OAuthToken byAccess = vault.findToken(OAuthToken.builder().accessToken(actual).build());
                    assertNotNull(byAccess, round + ": user " + user + " not found by its access token");
                    assertEquals(user, byAccess.getUserName());
                    history.computeIfAbsent(user, u -> new HashSet<>()).add(actual);
                }
                for (String old : history.getOrDefault(user, Set.of())) {
                    if (!old.equals(actual)) {
                        assertNull(vault.findToken(OAuthToken.builder().accessToken(old).build()),
                                round + ": a replaced access token of " + user + " still finds a record");
                    }
                }
                acknowledged.put(user, actual);
            }
        }

        private static String describe(String access) {
            return access == null ? "nothing" : "access token " + access.substring(0, Math.min(24, access.length()));
        }
    }
}
