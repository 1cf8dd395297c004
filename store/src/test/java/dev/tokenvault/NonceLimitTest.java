package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The nonce limit: a data key seals at most {@code sealLimit} records (2^30 by default, a quarter of NIST SP
 * 800-38D's 2^32 for random 96-bit nonces), then a new version begins. The limit is lowered here through the
 * package-private {@code Builder.sealLimit} seam.
 */
class NonceLimitTest {
    private static final int LIMIT = 5;

    @TempDir
    Path dir;

    private TokenVault open(MasterKey key) {
        return TokenVault.builder().path(dir.resolve("nonce.db")).masterKey(key).sealLimit(LIMIT).open();
    }

    @Test
    void theDefaultLimitIsAQuarterOfTheNistBound() {
        assertEquals(1L << 30, TokenVault.DEFAULT_SEAL_LIMIT);
        assertEquals((1L << 32) / 4, TokenVault.DEFAULT_SEAL_LIMIT);
    }

    @Test
    void aNewVersionBeginsAfterLimitSealsAndTheCountSurvivesReopen() {
        MasterKey key = MasterKey.generate();
        List<OAuthToken> all = new ArrayList<>();
        int v1;
        try (TokenVault v = open(key)) {
            v1 = v.stats().currentKeyVersion();
            for (int i = 0; i < LIMIT; i++) {
                all.add(saved(v, full("n" + i)));
            }
            assertEquals(v1, v.stats().currentKeyVersion(), "rolled over before the limit");
            assertEquals(Map.of(v1, (long) LIMIT), v.stats().sealsPerKeyVersion());
            all.add(saved(v, full("sixth"))); // seal number 6: a new version
            VaultStats s = v.stats();
            int v2 = s.currentKeyVersion();
            assertTrue(v2 > v1);
            assertEquals(Map.of(v1, (long) LIMIT, v2, 1L), s.sealsPerKeyVersion());
            assertEquals(Map.of(v1, (long) LIMIT, v2, 1L), s.recordsPerKeyVersion());
            // an update is a seal too
            v.saveToken(OAuthToken.builder().id(all.get(0).getId()).expiryTime("1").build());
            all.get(0).setExpiryTime("1");
            assertEquals(2L, v.stats().sealsPerKeyVersion().get(v2));
        }
        try (TokenVault v = open(key)) {
            VaultStats s = v.stats();
            int v2 = s.currentKeyVersion();
            assertEquals(Map.of(v1, (long) LIMIT, v2, 2L), s.sealsPerKeyVersion(), "the counts did not survive");
            // three more seals fill v2 (2 + 3 = 5); the next one begins v3
            for (int i = 0; i < 3; i++) {
                all.add(saved(v, full("more" + i)));
            }
            assertEquals(v2, v.stats().currentKeyVersion(), "the count restarted at reopen");
            all.add(saved(v, full("last")));
            int v3 = v.stats().currentKeyVersion();
            assertTrue(v3 > v2);
            assertEquals(Map.of(v1, (long) LIMIT, v2, (long) LIMIT, v3, 1L), v.stats().sealsPerKeyVersion());
            for (OAuthToken t : all) {
                assertEquals(t, v.findTokenById(t.getId()));
            }
            assertTrue(v.verify().isClean());
        }
    }

    @Test
    void oneCommitOfManySealsRollsOverInsideTheCommit() {
        MasterKey key = MasterKey.generate();
        try (TokenVault v = open(key)) {
            List<OAuthToken> batch = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                batch.add(full("bulk" + i));
            }
            v.saveTokens(batch);
            VaultStats s = v.stats();
            assertEquals(3, s.sealsPerKeyVersion().size(), s.toString()); // 5 + 5 + 2
            s.sealsPerKeyVersion().values().forEach(n -> assertTrue(n <= LIMIT));
            assertEquals(12L, s.sealsPerKeyVersion().values().stream().mapToLong(Long::longValue).sum());
        }
        try (TokenVault v = open(key)) {
            assertEquals(12, v.getTokens().size());
        }
    }

    @Test
    void resealAllCountsItsSealsAgainstTheLimit() {
        MasterKey key = MasterKey.generate();
        try (TokenVault v = open(key)) {
            for (int i = 0; i < 4; i++) {
                saved(v, full("r" + i));
            }
            v.rotateDataKey();
            ResealReport r = v.resealAll(); // 4 seals under the new version: within its limit
            assertEquals(4, r.recordsResealed());
            assertEquals(Map.of(r.currentKeyVersion(), 4L), v.stats().sealsPerKeyVersion());
            saved(v, full("fifth"));
            saved(v, full("sixth")); // over the limit: another version
            assertTrue(v.stats().currentKeyVersion() > r.currentKeyVersion());
        }
    }

    /** How a batch that carries a data-key rollover can fail before it is staged. */
    enum BatchFailure {
        CONFLICT_LATER_IN_THE_BATCH(ErrorCode.CONFLICT),
        INVALID_TOKEN_LATER_IN_THE_BATCH(ErrorCode.INVALID_ARGUMENT),
        IO_WHILE_STAGING(ErrorCode.IO);

        final ErrorCode code;

        BatchFailure(ErrorCode code) {
            this.code = code;
        }
    }

    /**
     * The seal that fills the current version rolls the data key over inside a batch that then fails; the saves
     * after it must seal under a version that a committed keyring holds, so that after reopen every acknowledged
     * token opens and {@code verify()} is clean.
     */
    @ParameterizedTest
    @EnumSource(BatchFailure.class)
    void aRolloverInABatchThatFailsIsForgottenWithTheBatch(BatchFailure failure) {
        MasterKey key = MasterKey.generate();
        Path file = dir.resolve("rollover-" + failure + ".db");
        FailingEngine[] engine = new FailingEngine[1];
        List<OAuthToken> acked = new ArrayList<>();
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).sealLimit(2)
                .engineWrapper(e -> engine[0] = new FailingEngine(e)).open()) {
            acked.add(saved(v, full("u1")));
            acked.add(saved(v, full("u2"))); // version 1 is full: the next seal rolls over
            int before = v.stats().currentKeyVersion();
            List<OAuthToken> batch = new ArrayList<>(List.of(full("u3")));
            switch (failure) {
                case CONFLICT_LATER_IN_THE_BATCH -> batch.add(
                        OAuthToken.builder().userName("someone-else").accessToken("access-u1").build());
                case INVALID_TOKEN_LATER_IN_THE_BATCH -> batch.add(
                        OAuthToken.builder().userName("no-token-yet").build());
                case IO_WHILE_STAGING -> engine[0].failNextStage();
            }
            assertEquals(failure.code, StoreFixtures.expect(failure.code, () -> v.saveTokens(batch)).code());
            assertEquals(before, v.stats().currentKeyVersion(), "the abandoned rollover is still current");
            assertEquals(Map.of(before, 2L), v.stats().sealsPerKeyVersion());
            acked.add(saved(v, full("u5")));
            acked.add(saved(v, full("u6")));
        }
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).sealLimit(2).open()) {
            VerifyReport report = v.verify();
            assertTrue(report.isClean(), report.problems().toString());
            for (OAuthToken t : acked) {
                assertEquals(t, v.findTokenById(t.getId()));
            }
            assertEquals(acked.size(), v.getTokens().size());
        }
    }

    /**
     * A child JVM saves with the limit lowered and is killed with SIGKILL; the persisted counts must cover every seal
     * that reached the file: each version's count is at least its records, no version exceeds the limit, and every
     * version but the current one is full.
     */
    @Test
    void theCountSurvivesACrash() throws Exception {
        byte[] raw = new byte[32];
        new java.security.SecureRandom().nextBytes(raw);
        String keyB64 = java.util.Base64.getEncoder().encodeToString(raw);
        Path store = dir.resolve("nonce-crash.db");
        long acked = 0;
        for (int round = 0; round < 3; round++) {
            Path journal = dir.resolve("journal-" + round + ".txt");
            Process child = new ProcessBuilder(ChildJvm.command(KeyRotationCrashWorker.class, "seal",
                    store.toString(), keyB64, journal.toString(), Integer.toString(LIMIT), "r" + round))
                    .redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            String first = out.readLine();
            if (!"READY".equals(first)) {
                child.destroyForcibly();
                fail("worker did not start: " + first);
            }
            // kill once it has sealed past a few rollovers
            while (child.isAlive() && Files.readAllLines(journal).stream().filter(l -> l.startsWith("A ")).count()
                    < 3L * LIMIT + round) {
                Thread.sleep(5);
            }
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            long roundAcked = Files.readAllLines(journal).stream().filter(l -> l.startsWith("A ")).count();
            acked += roundAcked;
            try (TokenVault v = TokenVault.builder().path(store).masterKey(MasterKey.fromBase64(keyB64))
                    .sealLimit(LIMIT).cacheMaximumSize(0).open()) {
                VaultStats s = v.stats();
                long seals = 0;
                for (Map.Entry<Integer, Long> e : s.sealsPerKeyVersion().entrySet()) {
                    int version = e.getKey();
                    long count = e.getValue();
                    seals += count;
                    assertTrue(count <= LIMIT, "version " + version + " sealed " + count + " times: " + s);
                    assertTrue(count >= s.recordsPerKeyVersion().getOrDefault(version, 0L),
                            "version " + version + " holds more records than its count: " + s);
                    if (version != s.currentKeyVersion()) {
                        assertEquals(LIMIT, count, "a version was left before its limit: " + s);
                    }
                }
                assertTrue(seals >= acked, "seals " + seals + " < acknowledged saves " + acked + ": " + s);
                assertTrue(s.records() >= acked, s.toString());
                assertTrue(v.verify().isClean(), v.verify().problems().toString());
                // the counting carries on from the persisted count
                int current = s.currentKeyVersion();
                long room = LIMIT - s.sealsPerKeyVersion().get(current);
                for (long i = 0; i < room; i++) {
                    saved(v, full("after-" + round + "-" + i));
                }
                assertEquals(current, v.stats().currentKeyVersion());
                saved(v, full("over-" + round));
                assertTrue(v.stats().currentKeyVersion() > current);
                acked += room + 1;
            }
        }
    }
}
