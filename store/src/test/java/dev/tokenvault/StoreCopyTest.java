package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.RecordEngine;
import dev.tokenvault.engine.jdbc.JdbcEngine;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link StoreCopy} between store files: what moves, what the copy opens to, and what it refuses. */
class StoreCopyTest {
    @TempDir
    Path dir;

    /**
     * Fills {@code vault} so that a copy has every kind of metadata to carry: two data key versions (records under
     * each), a deleted record, a rotated index key; returns its records.
     */
    static List<OAuthToken> populate(TokenVault vault) {
        for (int i = 0; i < 30; i++) {
            vault.saveToken(full("a" + i));
        }
        vault.rotateDataKey();
        for (int i = 0; i < 20; i++) {
            vault.saveToken(full("b" + i));
        }
        vault.rotateIndexKey();
        vault.deleteToken(vault.findToken(OAuthToken.builder().userName("user-a0@example.com").build()).getId());
        return snapshot(vault);
    }

    /** Opens the store {@code at} names with {@code key} and checks it holds exactly {@code expected}, verified. */
    static void assertHolds(List<OAuthToken> expected, VaultStats expectedStats, TokenVault.Builder at,
                            MasterKey key) {
        try (TokenVault copy = at.masterKey(key).open()) {
            assertTrue(copy.verify().isClean(), () -> "verify: " + copy.verify());
            assertEquals(expected, snapshot(copy));
            for (OAuthToken t : expected) {
                OAuthToken byUser = copy.findToken(OAuthToken.builder().userName(t.getUserName()).build());
                assertEquals(t.getId(), byUser.getId());
                assertEquals(t.getId(), copy.findToken(OAuthToken.builder().accessToken(t.getAccessToken())
                        .build()).getId());
            }
            VaultStats stats = copy.stats();
            assertEquals(expectedStats.currentKeyVersion(), stats.currentKeyVersion());
            assertEquals(expectedStats.sealsPerKeyVersion(), stats.sealsPerKeyVersion());
        }
    }

    /** The copy keeps working: a new save seals under the copied keys, and the seal is counted. */
    static void assertAcceptsSaves(TokenVault.Builder at, MasterKey key) {
        try (TokenVault copy = at.masterKey(key).open()) {
            long seals = copy.stats().sealsPerKeyVersion().get(copy.stats().currentKeyVersion());
            copy.saveToken(full("after-copy"));
            assertNotNull(copy.findToken(OAuthToken.builder().userName("user-after-copy@example.com").build()));
            assertEquals(seals + 1, copy.stats().sealsPerKeyVersion().get(copy.stats().currentKeyVersion()));
            assertTrue(copy.verify().isClean());
        }
    }

    @Test
    void aCopiedFileOpensWithTheSameKeyAndHoldsEveryRecordVerified() throws Exception {
        MasterKey key = MasterKey.generate();
        Path source = dir.resolve("source.db");
        List<OAuthToken> records;
        VaultStats stats;
        try (TokenVault vault = TokenVault.builder().path(source).masterKey(key).open()) {
            records = populate(vault);
            stats = vault.stats();
        }
        byte[] sourceBytes = Files.readAllBytes(source);
        Path target = dir.resolve("copy.db");

        StoreCopy.Report report = StoreCopy.copy(TokenVault.builder().path(source).readOnly().masterKey(key),
                TokenVault.builder().path(target));

        assertEquals(records.size(), report.records());
        assertEquals(records.size() * 4L, report.indexEntries(), "every record has all four indexed fields");
        assertEquals(5, report.metadataValues(), "header, key check, keyring, two seal counts");
        assertArrayEquals(sourceBytes, Files.readAllBytes(source), "the source is only read");
        assertHolds(records, stats, TokenVault.builder().path(target), key);
        assertAcceptsSaves(TokenVault.builder().path(target), key);
        expect(ErrorCode.WRONG_KEY, () -> TokenVault.builder().path(target).masterKey(MasterKey.generate()).open()
                .close());
    }

    /**
     * A file copied into a database and back: each copy opens with the key, holds every record, and verifies clean;
     * a second copy into the same tables is refused.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void fileToDatabaseAndBackOpensVerifiedWithTheSameKey(TestDatabase db) {
        db.assumeAvailable();
        MasterKey key = MasterKey.generate();
        Path source = dir.resolve("source.db");
        List<OAuthToken> records;
        VaultStats stats;
        try (TokenVault vault = TokenVault.builder().path(source).masterKey(key).open()) {
            records = populate(vault);
            stats = vault.stats();
        }
        String prefix = TestDatabase.freshPrefix();
        try {
            StoreCopy.Report in = StoreCopy.copy(TokenVault.builder().path(source).readOnly().masterKey(key),
                    TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix));
            assertEquals(records.size(), in.records());
            assertHolds(records, stats, TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix), key);

            Path back = dir.resolve("back.db");
            StoreCopy.Report out = StoreCopy.copy(
                    TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key),
                    TokenVault.builder().path(back));
            assertEquals(in, out);
            assertHolds(records, stats, TokenVault.builder().path(back), key);
            assertAcceptsSaves(TokenVault.builder().path(back), key);

            expect(ErrorCode.CONFLICT, () -> StoreCopy.copy(TokenVault.builder().path(source).readOnly()
                    .masterKey(key), TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix)));
            assertHolds(records, stats, TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix), key);
        } finally {
            db.drop(prefix);
        }
    }

    /**
     * A copy into a database interrupted after its first commit leaves records without the key metadata, which comes
     * last. Every open refuses that as {@code CORRUPT} (as a store file in that state is), also an open that may not
     * create a store: {@code NOT_FOUND} would have the CLI say "no store; create one with init". Nothing is written.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void recordsWithoutKeysInADatabaseAreCorruptForEveryOpenAndStayAsTheyWere(TestDatabase db) throws Exception {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        try {
            try (RecordEngine engine = JdbcEngine.open(db.dataSource(), prefix)) {
                engine.commit(new Batch().putRecord("0123456789abcdef0123456789abcdef", new byte[80]));
            }
            MasterKey key = MasterKey.generate();
            for (TokenVault.Builder b : List.of(
                    TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key).readOnly(),
                    TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key)
                            .createIfMissing(false),
                    TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key))) {
                TokenStoreException e = expect(ErrorCode.CORRUPT, () -> b.open().close());
                assertTrue(e.getMessage().contains("no store header"), e.getMessage());
            }
            try (RecordEngine engine = JdbcEngine.open(db.dataSource(), prefix, false)) {
                assertEquals(1, engine.size());
                assertEquals(null, engine.getMeta(KeyMetadata.META_HEADER));
            }
        } finally {
            db.drop(prefix);
        }
    }

    @Test
    void refusesATargetThatHoldsAnythingAndLeavesItAsItWas() {
        MasterKey key = MasterKey.generate();
        Path source = dir.resolve("source.db");
        Path target = dir.resolve("target.db");
        try (TokenVault vault = TokenVault.builder().path(source).masterKey(key).open()) {
            vault.saveToken(full("s"));
        }
        List<OAuthToken> before;
        try (TokenVault other = TokenVault.builder().path(target).masterKey(key).open()) {
            before = snapshot(other); // an empty store, but with its own keys
        }
        TokenStoreException e = expect(ErrorCode.CONFLICT, () -> StoreCopy.copy(
                TokenVault.builder().path(source).readOnly().masterKey(key), TokenVault.builder().path(target)));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
        try (TokenVault other = TokenVault.builder().path(target).masterKey(key).open()) {
            assertEquals(before, snapshot(other));
        }
    }

    @Test
    void aWrongSourceKeyIsRefusedBeforeTheTargetIsCreated() {
        Path source = dir.resolve("source.db");
        try (TokenVault vault = TokenVault.builder().path(source).masterKey(MasterKey.generate()).open()) {
            vault.saveToken(full("s"));
        }
        Path target = dir.resolve("target.db");
        expect(ErrorCode.WRONG_KEY, () -> StoreCopy.copy(
                TokenVault.builder().path(source).readOnly().masterKey(MasterKey.generate()),
                TokenVault.builder().path(target)));
        assertFalse(Files.exists(target));
        expect(ErrorCode.NOT_FOUND, () -> StoreCopy.copy(
                TokenVault.builder().path(dir.resolve("absent.db")).readOnly().masterKey(MasterKey.generate()),
                TokenVault.builder().path(target)));
        expect(ErrorCode.INVALID_ARGUMENT, () -> StoreCopy.copy(TokenVault.builder().path(source).readOnly(),
                TokenVault.builder().path(target)));
        assertFalse(Files.exists(target));
    }
}
