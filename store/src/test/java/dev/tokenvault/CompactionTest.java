package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TokenVault#compact()}: after many refreshes of every token the file shrinks, every record, index entry and
 * key survives (across reopen), the store keeps working, and what an interrupted compaction leaves is cleaned up.
 */
class CompactionTest {
    private static final int TOKENS = 1_000;
    private static final int REFRESHES = 10;

    @TempDir
    Path dir;

    private static OAuthToken token(int i, int round) {
        return OAuthToken.builder()
                .userName("user-" + i + "@example.com")
                .clientId("1000.client")
                .clientSecret("client-secret-" + i)
                .refreshToken("1000.refresh-" + i + "-" + "r".repeat(40))
                // access tokens differ in length from one refresh to the next, as real ones do between providers and
                // scopes: a record then rarely fits the space its previous version freed
                .accessToken("1000.access-" + i + "-" + round + "-" + "a".repeat(40 + (round * 53) % 400))
                .expiryTime(Long.toString(1_700_000_000_000L + round * 3_600_000L))
                .apiDomain("https://www.zohoapis.com")
                .build();
    }

    /** Saves every token once per round (a refresh: a new access token and expiry), in batches. */
    private static void refreshAll(TokenVault vault, int round) {
        List<OAuthToken> batch = new ArrayList<>();
        for (int i = 0; i < TOKENS; i++) {
            batch.add(token(i, round));
            if (batch.size() == 500) {
                vault.saveTokens(batch);
                batch = new ArrayList<>();
            }
        }
        if (!batch.isEmpty()) {
            vault.saveTokens(batch);
        }
    }

    @Test
    void compactionShrinksTheFileAndKeepsEveryRecord() throws IOException {
        Path store = dir.resolve("tokens.db");
        MasterKey key = MasterKey.generate();
        List<OAuthToken> before;
        long grown;
        long compacted;
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            for (int round = 0; round <= REFRESHES; round++) {
                refreshAll(vault, round);
            }
            vault.rotateDataKey(); // records under two key versions: the keyring and counters must come across whole
            vault.saveToken(token(0, REFRESHES + 1));
            before = snapshot(vault);
            grown = Files.size(store);

            vault.compact();

            compacted = Files.size(store);
            assertEquals(before, snapshot(vault), "compaction changed the data");
            checkLookups(vault);
            VerifyReport report = vault.verify();
            assertTrue(report.isClean(), report.problems().toString());
            assertEquals(TOKENS, report.recordsChecked());

            // the store keeps working on the new file
            OAuthToken extra = token(TOKENS, 0);
            vault.saveToken(extra);
            assertNotNull(vault.findToken(OAuthToken.builder().accessToken(extra.getAccessToken()).build()));
            vault.deleteToken(extra.getId());
        }
        System.out.printf("CompactionTest: %d tokens after %d refreshes: %d bytes (%d B/token), compacted %d bytes "
                + "(%d B/token)%n", TOKENS, REFRESHES, grown, grown / TOKENS, compacted, compacted / TOKENS);
        assertTrue(compacted < grown, "compaction did not shrink the file: " + grown + " -> " + compacted);
        assertFalse(Files.exists(dir.resolve("tokens.db.compacting")), "the temporary copy was left behind");
        assertEquals(0, Files.size(dir.resolve("tokens.db.redo")), "the redo log was not empty after close");

        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            assertEquals(before, snapshot(vault), "the compacted store reopened with different data");
            checkLookups(vault);
            assertTrue(vault.verify().isClean());
            assertEquals(2, vault.stats().currentKeyVersion(), "the keyring lost a data key version");
            // refreshing again after compaction grows from the compacted size, and a second compaction works too
            refreshAll(vault, REFRESHES + 2);
            vault.compact();
            assertTrue(vault.verify().isClean());
            assertEquals(TOKENS, vault.getTokens().size());
        }
    }

    /** Every token is found by user name and by its current access token; replaced access tokens find nothing. */
    private static void checkLookups(TokenVault vault) {
        Random random = new Random(1);
        for (int n = 0; n < 200; n++) {
            int i = random.nextInt(TOKENS);
            int current = i == 0 ? REFRESHES + 1 : REFRESHES;
            OAuthToken byUser = vault.findToken(OAuthToken.builder().userName("user-" + i + "@example.com").build());
            assertNotNull(byUser, "user " + i + " not found");
            assertEquals(token(i, current).getAccessToken(), byUser.getAccessToken());
            OAuthToken byAccess = vault.findToken(OAuthToken.builder().accessToken(byUser.getAccessToken()).build());
            assertNotNull(byAccess);
            assertEquals(byUser.getId(), byAccess.getId());
            assertEquals(byUser, vault.findTokenById(byUser.getId()));
            assertNull(vault.findToken(OAuthToken.builder().accessToken(token(i, current - 1).getAccessToken())
                    .build()), "a replaced access token finds a record");
            OAuthToken byRefresh = vault.findToken(OAuthToken.builder().refreshToken(byUser.getRefreshToken())
                    .clientId("1000.client").clientSecret("client-secret-" + i).build());
            assertNotNull(byRefresh);
            assertEquals(byUser.getId(), byRefresh.getId());
        }
    }

    @Test
    void anUnfinishedCompactionIsDeletedAtOpenAndTheStoreIsIntact() throws IOException {
        Path store = dir.resolve("tokens.db");
        MasterKey key = MasterKey.generate();
        List<OAuthToken> before;
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            refreshAll(vault, 0);
            before = snapshot(vault);
        }
        // what a kill during compaction, before its rename, leaves: a partial copy and its log
        Path tmp = dir.resolve("tokens.db.compacting");
        Path tmpRedo = dir.resolve("tokens.db.compacting.redo");
        Files.write(tmp, new byte[1 << 16]);
        Files.write(tmpRedo, new byte[] {1, 2, 3});
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            assertFalse(Files.exists(tmp), "the unfinished copy survived the open");
            assertFalse(Files.exists(tmpRedo), "the unfinished copy's log survived the open");
            assertEquals(before, snapshot(vault));
            assertTrue(vault.verify().isClean());
        }
    }

    @Test
    void writesBetweenCompactionsAreDurableAndConcurrentReadersSeeEveryRecord() throws Exception {
        Path store = dir.resolve("tokens.db");
        MasterKey key = MasterKey.generate();
        List<OAuthToken> before;
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).cacheMaximumSize(0).open()) {
            for (int i = 0; i < 200; i++) {
                vault.saveToken(token(i, 0));
            }
            // readers and writers run while the store is compacted again and again: none fails or misses a record
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread[] threads = new Thread[3];
            for (int t = 0; t < threads.length; t++) {
                int id = t;
                threads[t] = new Thread(() -> {
                    try {
                        for (int n = 0; n < 150; n++) {
                            int i = (n * 7 + id) % 200;
                            if (id == 0) {
                                vault.saveToken(token(i, n + 1));
                            } else {
                                assertNotNull(vault.findToken(OAuthToken.builder()
                                        .userName("user-" + i + "@example.com").build()), "user " + i + " missing");
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                threads[t].start();
            }
            for (int c = 0; c < 5; c++) {
                vault.compact();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertTrue(errors.isEmpty(), () -> "calls failed during compaction: " + errors);
            assertEquals(200, vault.getTokens().size());
            assertTrue(vault.verify().isClean());
            before = snapshot(vault);
        }
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            assertEquals(before, snapshot(vault), "a save acknowledged around a compaction was lost");
        }
    }

    @Test
    void inMemoryCompactionKeepsEverythingAndClosedIsClosed() {
        TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open();
        for (int i = 0; i < 50; i++) {
            vault.saveToken(token(i, 0));
        }
        List<OAuthToken> snap = snapshot(vault);
        vault.compact();
        assertEquals(snap, snapshot(vault));
        assertTrue(vault.verify().isClean());
        vault.close();
        expect(ErrorCode.CLOSED, vault::compact);
    }
}
