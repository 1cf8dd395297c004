package dev.tokenvault;

import static dev.tokenvault.LayoutUpgradeTest.assertEveryRecordOnEveryPath;
import static dev.tokenvault.StoreFixtures.full;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store of map layout 2 (the slot layout, its maps {@code HTreeMap}s with MapDB's default 128-slot nodes) is
 * upgraded to layout 3 (index and slot tables) at its first open: it reads every path, writes, verifies and compacts,
 * and still finds every record.
 *
 * <p>The fixture {@code slot-layout-128x4-200.db.gz} was written by the slot layout with the default map layout
 * (commit {@code d2e6fa9}): 200 tokens {@code StoreFixtures.full("t0")} to {@code full("t199")}, each saved with
 * {@code saveToken}, then closed, under the master key of 32 bytes of {@code new Random(1)}.
 */
class MapLayoutTest {
    private static final int TOKENS = 200;

    @TempDir
    Path dir;

    private Path fixture() throws IOException {
        Path p = dir.resolve("default-layout.db");
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("slot-layout-128x4-200.db.gz"))) {
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    private static MasterKey fixtureKey() {
        byte[] raw = new byte[32];
        new Random(1).nextBytes(raw);
        return MasterKey.fromBytes(raw);
    }

    @Test
    void aStoreWithDefaultLayoutMapsReadsWritesAndCompacts() throws IOException {
        Path p = fixture();
        MasterKey key = fixtureKey();
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            assertEveryRecordOnEveryPath(vault, TOKENS);
            // refreshes: each moves an access token's entry inside the old maps
            for (int i = 0; i < 20; i++) {
                OAuthToken t = vault.findToken(OAuthToken.builder().userName(full("t" + i).getUserName()).build());
                t.setAccessToken("refreshed-" + i);
                vault.saveToken(t);
            }
            vault.saveToken(full("added"));
            assertTrue(vault.verify().isClean(), vault.verify().problems().toString());
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            assertRefreshed(vault);
            vault.compact();
            assertRefreshed(vault);
            assertEquals(TOKENS + 1, vault.getTokens().size());
            assertTrue(vault.verify().isClean(), vault.verify().problems().toString());
        }
    }

    /** Only a writer may upgrade: a read-only open of a layout 2 store is refused and leaves every byte as it was. */
    @Test
    void aReadOnlyOpenOfALayoutTwoStoreIsRefusedAndWritesNothing() throws IOException {
        Path p = fixture();
        byte[] before = Files.readAllBytes(p);
        TokenStoreException e = StoreFixtures.expect(ErrorCode.READ_ONLY,
                () -> TokenVault.builder().path(p).masterKey(fixtureKey()).readOnly().open());
        assertTrue(e.getMessage().contains("map layout 2") && e.getMessage().contains("open it once with write access"),
                e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(p));
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(fixtureKey()).open()) {
            assertEquals(TOKENS, vault.getTokens().size()); // the writer upgrades it
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(fixtureKey()).readOnly().cacheMaximumSize(0)
                .open()) {
            assertEveryRecordOnEveryPath(vault, TOKENS); // and then it opens read-only
        }
    }

    @Test
    void aNewStoreFindsEveryRecordOnEveryPathBeforeAndAfterCompaction() {
        try (TokenVault vault = TokenVault.builder().path(dir.resolve("new.db")).masterKey(MasterKey.generate())
                .cacheMaximumSize(0).open()) {
            for (int i = 0; i < TOKENS; i++) {
                vault.saveToken(full("t" + i));
            }
            assertEveryRecordOnEveryPath(vault, TOKENS);
            vault.compact();
            assertEveryRecordOnEveryPath(vault, TOKENS);
        }
    }

    private static void assertRefreshed(TokenVault vault) {
        for (int i = 0; i < TOKENS; i++) {
            OAuthToken expected = full("t" + i);
            OAuthToken found = vault.findToken(OAuthToken.builder().userName(expected.getUserName()).build());
            String access = i < 20 ? "refreshed-" + i : expected.getAccessToken();
            assertEquals(access, found.getAccessToken());
            assertEquals(found, vault.findToken(OAuthToken.builder().accessToken(access).build()));
            assertEquals(found, vault.findTokenById(found.getId()));
            if (i < 20) {
                assertNull(vault.findToken(OAuthToken.builder().accessToken(expected.getAccessToken()).build()),
                        "the old access token of t" + i + " no longer finds it");
            }
        }
        OAuthToken added = full("added");
        OAuthToken found = vault.findToken(OAuthToken.builder().userName(added.getUserName()).build());
        assertEquals(added.getAccessToken(), found == null ? null : found.getAccessToken(),
                "the token saved after the refreshes");
    }
}
