package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A store written by tokenvault before the slot layout (records in a {@code records} map, index entries naming ids)
 * opens with this one: the first writable open upgrades it in one commit, after which every lookup path finds every
 * record, and a failure at any step of that commit leaves a store that the next open upgrades or has upgraded.
 *
 * <p>The fixture {@code first-layout-200.db.gz} was written by tokenvault's first layout: 200 tokens
 * {@code StoreFixtures.full("t0")} to {@code full("t199")}, each saved with {@code saveToken}, then closed, under the
 * master key of 32 bytes of {@code new Random(1)}; {@code StructureDamageRegressionTest} uses it too.
 */
class LayoutUpgradeTest {
    private static final int TOKENS = 200;

    @TempDir
    Path dir;

    private byte[] firstLayout;
    private MasterKey key;

    @BeforeEach
    void load() throws IOException {
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("first-layout-200.db.gz"))) {
            firstLayout = in.readAllBytes();
        }
        byte[] raw = new byte[32];
        new Random(1).nextBytes(raw);
        key = MasterKey.fromBytes(raw);
    }

    private Path fixture(String name) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, firstLayout);
        return p;
    }

    @Test
    void aFirstLayoutStoreIsUpgradedAtOpenAndEveryPathFindsEveryRecord() throws IOException {
        Path p = fixture("old.db");
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            assertEveryRecordOnEveryPath(vault, TOKENS);
            assertTrue(vault.verify().isClean(), vault.verify().problems().toString());
            vault.compact(); // moves every record to a new slot: the index entries must follow
            assertEveryRecordOnEveryPath(vault, TOKENS);
            OAuthToken fresh = StoreFixtures.saved(vault, full("after-upgrade"));
            assertEquals(fresh, vault.findToken(OAuthToken.builder().userName(fresh.getUserName()).build()));
        }
        // A read-only open refuses a store of the first layout (below): this one opens, so the upgrade is on disk.
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).readOnly().open()) {
            assertEquals(TOKENS + 1, vault.getTokens().size());
            assertTrue(vault.verify().isClean());
        }
    }

    @Test
    void aReadOnlyOpenOfAFirstLayoutStoreIsRefusedAndWritesNothing() throws IOException {
        Path p = fixture("old.db");
        FileTime modified = Files.getLastModifiedTime(p);
        TokenStoreException e = expect(ErrorCode.READ_ONLY,
                () -> TokenVault.builder().path(p).masterKey(key).readOnly().open());
        assertTrue(e.getMessage().contains("open it once with write access"), e.getMessage());
        assertArrayEquals(firstLayout, Files.readAllBytes(p));
        assertEquals(modified, Files.getLastModifiedTime(p));
    }

    /**
     * README, Errors: UNSUPPORTED_FORMAT for "a newer format version": a store whose map layout is newer than this
     * tokenvault's (written by a later one) is refused by a writer and a reader, never opened, downgraded or upgraded,
     * and its bytes are left as they were.
     */
    @Test
    void aStoreOfANewerMapLayoutIsUnsupportedFormatAndLeftAlone() throws IOException {
        Path p = dir.resolve("newer.db");
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            StoreFixtures.saved(vault, full("n"));
        }
        int newer;
        try (org.mapdb.DB db = org.mapdb.DBMaker.fileDB(p.toFile()).make()) {
            org.mapdb.Atomic.Integer layout = db.atomicInteger("layout").open();
            newer = layout.get() + 1;
            layout.set(newer);
            db.commit();
        }
        byte[] bytes = Files.readAllBytes(p);
        TokenStoreException e = expect(ErrorCode.UNSUPPORTED_FORMAT,
                () -> TokenVault.builder().path(p).masterKey(key).open());
        assertTrue(e.getMessage().contains("map layout " + newer), e.getMessage());
        expect(ErrorCode.UNSUPPORTED_FORMAT, () -> TokenVault.builder().path(p).masterKey(key).readOnly().open());
        assertArrayEquals(bytes, Files.readAllBytes(p));
    }

    /**
     * The upgrade's commit fails at each step of the commit path: before its redo record is written the open fails
     * with {@code IO} and the store stays in the first layout; after it (the main file half written or whole) the
     * commit counts as durable, and the open goes on from the files. Either way the next open finds the store whole.
     */
    @ParameterizedTest
    @ValueSource(strings = {"volume.beforeLog", "volume.logged", "volume.applying", "volume.applied"})
    void aFailureDuringTheUpgradeLeavesAStoreThatOpensWhole(String step) throws IOException {
        Path p = fixture("crash.db");
        AtomicBoolean fired = new AtomicBoolean();
        TokenVault.Builder failing = TokenVault.builder().path(p).masterKey(key).commitProbe(s -> {
            if (s.equals(step) && fired.compareAndSet(false, true)) {
                throw new OutOfMemoryError("injected at " + s);
            }
        });
        if (step.equals("volume.beforeLog")) {
            expect(ErrorCode.IO, failing::open);
        } else {
            failing.open().close();
        }
        assertTrue(fired.get(), "the upgrade never reached " + step);
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            assertEveryRecordOnEveryPath(vault, TOKENS);
            assertTrue(vault.verify().isClean(), vault.verify().problems().toString());
        }
    }

    /** The fixture's 200 tokens, each found by user name, access token, refresh and grant token with client, and id. */
    static void assertEveryRecordOnEveryPath(TokenVault vault, int tokens) {
        List<OAuthToken> all = vault.getTokens();
        Set<String> users = new TreeSet<>();
        for (OAuthToken t : all) {
            users.add(t.getUserName());
            assertEquals(t, vault.findToken(OAuthToken.builder().userName(t.getUserName()).build()));
            assertEquals(t, vault.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build()));
            assertEquals(t, vault.findToken(OAuthToken.builder().refreshToken(t.getRefreshToken())
                    .clientId(t.getClientId()).clientSecret(t.getClientSecret()).build()));
            assertEquals(t, vault.findToken(OAuthToken.builder().grantToken(t.getGrantToken())
                    .clientId(t.getClientId()).clientSecret(t.getClientSecret()).build()));
            assertEquals(t, vault.findTokenById(t.getId()));
        }
        for (int i = 0; i < tokens; i++) {
            OAuthToken expected = full("t" + i);
            assertTrue(users.contains(expected.getUserName()), "missing " + expected.getUserName());
            OAuthToken found = vault.findToken(OAuthToken.builder().userName(expected.getUserName()).build());
            assertEquals(expected.getAccessToken(), found.getAccessToken());
            assertEquals(expected.getClientSecret(), found.getClientSecret());
        }
    }
}
