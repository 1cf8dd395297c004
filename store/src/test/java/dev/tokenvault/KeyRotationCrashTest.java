package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kills a child JVM ({@link KeyRotationCrashWorker}) with SIGKILL while it rotates keys, and checks the store after
 * each kill: after {@code rotateMasterKey}, exactly one of the two keys opens it and every record is there; after
 * {@code resealAll} and {@code rotateIndexKey} (each racing a thread of saves), every record reads back and is found
 * by every value, every returned save is there, and {@code verify()} is clean.
 *
 * <p>Rounds per mode: {@code -Dtokenvault.rotationCrashRounds=N} (CI default 4).
 */
class KeyRotationCrashTest {
    private static final int ROUNDS = Integer.getInteger("tokenvault.rotationCrashRounds", 4);
    private static final int RECORDS = 2_500; // three commits per reseal or index build

    @TempDir
    Path dir;


    private static String randomKey(Random random) {
        byte[] raw = new byte[32];
        random.nextBytes(raw);
        return Base64.getEncoder().encodeToString(raw);
    }

    private static Map<String, OAuthToken> byId(List<OAuthToken> tokens) {
        Map<String, OAuthToken> out = new HashMap<>();
        tokens.forEach(t -> out.put(t.getId(), t));
        return out;
    }

    /** Starts the worker, waits for READY, sleeps, kills it; returns the journal's lines. */
    private static List<String> runAndKill(Path journal, long sleepMillis, String... args)
            throws IOException, InterruptedException {
        Process child = new ProcessBuilder(ChildJvm.command(KeyRotationCrashWorker.class, args)).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        if (!"READY".equals(first)) {
            child.destroyForcibly();
            fail("worker did not start: " + first + drain(out));
        }
        Thread.sleep(sleepMillis);
        if (!child.isAlive()) {
            fail("worker failed before the kill:" + drain(out));
        }
        child.destroyForcibly(); // SIGKILL on Linux
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "worker did not die");
        return Files.exists(journal) ? Files.readAllLines(journal, StandardCharsets.UTF_8) : List.of();
    }

    private static String drain(BufferedReader r) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String line; (line = r.readLine()) != null; ) {
            sb.append('\n').append(line);
        }
        return sb.toString();
    }

    @Test
    void aKillDuringRotateMasterKeyLeavesExactlyOneKeyAndAllData() throws Exception {
        long seed = Long.getLong("tokenvault.crashSeed", System.nanoTime());
        Random random = new Random(seed);
        String a = randomKey(random);
        String b = randomKey(random);
        Map<String, String> keys = Map.of("A", a, "B", b);
        Path store = dir.resolve("master.db");
        List<OAuthToken> all = new ArrayList<>();
        try (TokenVault v = TokenVault.builder().path(store).masterKey(MasterKey.fromBase64(a)).open()) {
            for (int i = 0; i < 200; i++) {
                all.add(saved(v, full("m" + i)));
            }
        }
        all.sort(Comparator.comparing(OAuthToken::getId));
        String holder = "A";
        int inFlight = 0;
        int acked = 0;
        for (int round = 0; round < ROUNDS * 3; round++) {
            String where = "round " + round + " (seed " + seed + ")";
            Path journal = dir.resolve("master-" + round + ".txt");
            List<String> lines = runAndKill(journal, 20 + random.nextInt(400), "master", store.toString(), a, b,
                    journal.toString());
            String pending = null;
            for (String line : lines) {
                String[] p = line.split(" ");
                if (p.length != 3) {
                    continue; // torn by the kill
                }
                if (p[0].equals("I")) {
                    pending = p[2];
                } else {
                    holder = p[2];
                    pending = null;
                    acked++;
                }
            }
            Set<String> allowed = new HashSet<>(Set.of(holder));
            if (pending != null) {
                allowed.add(pending);
                inFlight++;
            }
            List<String> opening = new ArrayList<>();
            for (String name : List.of("A", "B")) {
                try (TokenVault v = TokenVault.builder().path(store).masterKey(MasterKey.fromBase64(keys.get(name)))
                        .cacheMaximumSize(0).open()) {
                    opening.add(name);
                    List<OAuthToken> now = new ArrayList<>(v.getTokens());
                    now.sort(Comparator.comparing(OAuthToken::getId));
                    assertEquals(all, now, where + ": data changed");
                    assertTrue(v.verify().isClean(), where);
                } catch (TokenStoreException e) {
                    assertEquals(ErrorCode.WRONG_KEY, e.code(), where + ": " + e.getMessage());
                }
            }
            assertEquals(1, opening.size(), where + ": keys that open the store: " + opening);
            assertTrue(allowed.contains(opening.get(0)), where + ": " + opening + " opens, expected one of " + allowed);
            holder = opening.get(0);
        }
        System.out.printf("KeyRotationCrashTest master: %d SIGKILLs, %d during a rotation, %d rotations acknowledged"
                + " (seed %d)%n", ROUNDS * 3, inFlight, acked, seed);
        assertTrue(acked > 0, "no rotation finished before the kills: the test checked nothing");
        assertTrue(inFlight > 0, "no kill landed during a rotation");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"reseal", "index"})
    void aKillDuringAStoreWideRotationLosesNothing(String mode) throws Exception {
        long seed = Long.getLong("tokenvault.crashSeed", System.nanoTime());
        Random random = new Random(seed);
        String key = randomKey(random);
        Path store = dir.resolve(mode + ".db");
        Map<String, OAuthToken> base;
        try (TokenVault v = TokenVault.builder().path(store).masterKey(MasterKey.fromBase64(key)).open()) {
            List<OAuthToken> all = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++) {
                all.add(full(mode + i));
                if (all.size() == 500) {
                    v.saveTokens(all);
                    all.clear();
                }
            }
            base = byId(v.getTokens());
        }
        assertEquals(RECORDS, base.size());
        Map<String, String> acknowledged = new HashMap<>(); // writer user -> access token
        int inFlightRotations = 0;
        int rotations = 0;
        long saves = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String where = mode + " round " + round + " (seed " + seed + ")";
            Path journal = dir.resolve(mode + "-" + round + ".txt");
            List<String> lines = runAndKill(journal, 500 + random.nextInt(3_000), mode, store.toString(), key,
                    journal.toString());
            Map<String, String> inFlight = new HashMap<>();
            boolean rotating = false;
            for (String line : lines) {
                String[] p = line.split(" ");
                if (p.length == 3 && p[1].equals("rotate")) {
                    rotating = p[0].equals("I");
                    rotations += p[0].equals("A") ? 1 : 0;
                } else if (p.length == 4 && p[1].equals("save")) {
                    if (p[0].equals("I")) {
                        inFlight.put(p[2], p[3]);
                    } else {
                        acknowledged.put(p[2], p[3]);
                        inFlight.remove(p[2]);
                        saves++;
                    }
                }
            }
            inFlightRotations += rotating ? 1 : 0;
            try (TokenVault v = TokenVault.builder().path(store).masterKey(MasterKey.fromBase64(key))
                    .cacheMaximumSize(0).open()) {
                Map<String, OAuthToken> now = byId(v.getTokens()); // opens every record
                for (OAuthToken t : base.values()) {
                    assertEquals(t, now.get(t.getId()), where);
                }
                int n = 0;
                for (OAuthToken t : base.values()) {
                    if (n++ % 25 == 0) {
                        ContractTest.lookAllWays(v, t);
                    }
                }
                for (String user : new HashSet<>(acknowledged.keySet())) {
                    OAuthToken found = v.findToken(OAuthToken.builder().userName(user).build());
                    assertNotNull(found, where + ": " + user + " lost");
                    String access = found.getAccessToken();
                    assertTrue(access.equals(acknowledged.get(user)) || access.equals(inFlight.get(user)),
                            where + ": " + user + " holds neither its last returned save nor the one in flight");
                    assertEquals(user, v.findToken(OAuthToken.builder().accessToken(access).build()).getUserName(),
                            where);
                    acknowledged.put(user, access);
                }
                assertTrue(v.verify().isClean(), () -> where + ": " + v.verify().problems());
                VaultStats s = v.stats();
                assertTrue(s.sealsPerKeyVersion().keySet().containsAll(s.recordsPerKeyVersion().keySet()),
                        where + ": a record names a data key version the keyring lacks: " + s);
            }
            try (MapDbEngine engine = MapDbEngine.open(store, Field.INDEXED.length)) {
                assertEquals(1, engine.indexGenerations().size(),
                        where + ": an unfinished or old index generation survived the reopen");
            }
        }
        System.out.printf("KeyRotationCrashTest %s: %d SIGKILLs, %d during a rotation, %d rotations and %d saves"
                + " acknowledged (seed %d)%n", mode, ROUNDS, inFlightRotations, rotations, saves, seed);
        assertTrue(inFlightRotations > 0, "no kill landed during a rotation: the test checked nothing");
    }
}
