package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.StoreFixtures.ChildResult;
import dev.tokenvault.StoreFixtures.Key;
import dev.tokenvault.StoreFixtures.Variant;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Close and reopen, keys, rotation and locking of a file store. */
class PersistenceTest {
    @TempDir Path dir;

    private Path db() {
        return dir.resolve("tokens.db");
    }

    private TokenVault open(MasterKey key) {
        return TokenVault.builder().path(db()).masterKey(key).open();
    }

    private static List<OAuthToken> variety() {
        List<OAuthToken> list = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            list.add(full("p" + i));
        }
        list.add(OAuthToken.builder().refreshToken("only-refresh").build());
        list.add(OAuthToken.builder().id("../given/id\\x").userName("ünï 😀 \"q\" ' ;--").accessToken("  at  ")
                .expiryTime("0012").build());
        list.add(OAuthToken.builder().grantToken(ContractTest.exact16k("g16_", "😀"))
                .apiDomain(ContractTest.exact16k("d16_", "a")).build());
        return list;
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"FILE_CACHED", "FILE_UNCACHED"})
    void everyFieldSurvivesCloseAndReopen(Variant variant) {
        MasterKey key = MasterKey.generate();
        List<OAuthToken> saved = new ArrayList<>();
        try (TokenVault v = variant.open(dir, key)) {
            for (OAuthToken t : variety()) {
                saved.add(saved(v, t));
            }
            // a refresh and a delete before closing
            OAuthToken first = saved.get(0);
            v.saveToken(OAuthToken.builder().userName(first.getUserName()).accessToken("access-after").build());
            first.setAccessToken("access-after");
            v.deleteToken(saved.remove(1).getId());
        }
        try (TokenVault v = variant.open(dir, key)) {
            assertEquals(saved.size(), v.getTokens().size());
            for (OAuthToken t : saved) {
                assertEquals(t, v.findTokenById(t.getId()));
                ContractTest.lookAllWays(v, t);
            }
            assertNull(v.findToken(OAuthToken.builder().accessToken("access-p0").build()));
            assertNull(v.findToken(OAuthToken.builder().userName("user-p1@example.com").build()));
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            // and the store keeps working after a reopen
            OAuthToken more = saved(v, full("more"));
            assertEquals(more, v.findTokenById(more.getId()));
        }
        // the caller may destroy its key after open
        MasterKey copy = MasterKey.fromBytes(new byte[32]);
        try (TokenVault v = TokenVault.builder().path(dir.resolve("other.db")).masterKey(copy).open()) {
            copy.destroy();
            saved(v, full("x"));
            assertEquals(1, v.getTokens().size());
        }
    }

    @Test
    void deleteTokensSurvivesReopen() {
        MasterKey key = MasterKey.generate();
        try (TokenVault v = open(key)) {
            saved(v, full("a"));
            saved(v, full("b"));
            v.deleteTokens();
        }
        try (TokenVault v = open(key)) {
            assertEquals(List.of(), v.getTokens());
            assertNull(v.findToken(OAuthToken.builder().userName("user-a@example.com").build()));
        }
    }

    @Test
    void wrongMasterKeyIsWrongKeyAtOpenAndChangesNothing() {
        MasterKey key = MasterKey.generate();
        OAuthToken a;
        try (TokenVault v = open(key)) {
            a = saved(v, full("a"));
        }
        TokenStoreException e = expect(ErrorCode.WRONG_KEY, () -> open(MasterKey.generate()));
        assertTrue(e.getMessage().contains(db().toString()) || e.getMessage().contains("tokens.db"),
                e.getMessage());
        // a passphrase against a raw-key store is a wrong key too
        expect(ErrorCode.WRONG_KEY, () -> open(MasterKey.fromPassphrase("guess".toCharArray())));
        // the failed opens released the lock and changed nothing
        try (TokenVault v = open(key)) {
            assertEquals(List.of(a), v.getTokens());
        }
    }

    @Test
    void passphraseStoreReopensWithTheSamePassphraseOnly() {
        OAuthToken a;
        try (TokenVault v = open(MasterKey.fromPassphrase("correct horse battery staple".toCharArray()))) {
            a = saved(v, full("a"));
        }
        expect(ErrorCode.WRONG_KEY, () -> open(MasterKey.fromPassphrase("correct horse battery stapler"
                .toCharArray())));
        // a raw key against a passphrase store: no derivation needed to refuse it
        expect(ErrorCode.WRONG_KEY, () -> open(MasterKey.generate()));
        char[] pass = "correct horse battery staple".toCharArray();
        MasterKey key = MasterKey.fromPassphrase(pass);
        java.util.Arrays.fill(pass, 'x'); // the key copied the characters
        MasterKey raw = MasterKey.generate();
        try (TokenVault v = open(key)) {
            assertEquals(List.of(a), v.getTokens());
            v.rotateMasterKey(raw); // from a passphrase to a raw key: no derivation needed to check below
        }
        expect(ErrorCode.WRONG_KEY, () -> open(MasterKey.fromPassphrase("correct horse battery staple"
                .toCharArray())));
        try (TokenVault v = open(raw)) {
            assertEquals(List.of(a), v.getTokens());
        }
    }

    /**
     * README, Keys and maintenance: "Changing a passphrase is this call [rotateMasterKey] with
     * MasterKey.fromPassphrase(...)" (and the new key gets a new salt): from one passphrase to another, the store
     * reopens with the new passphrase, every record with it. (Three Argon2id derivations: about 2 s.)
     */
    @Test
    void changingThePassphraseIsRotateMasterKeyWithTheNewOne() {
        OAuthToken a;
        try (TokenVault v = open(MasterKey.fromPassphrase("first passphrase".toCharArray()))) {
            a = saved(v, full("a"));
            v.rotateMasterKey(MasterKey.fromPassphrase("second passphrase".toCharArray()));
        }
        try (TokenVault v = open(MasterKey.fromPassphrase("second passphrase".toCharArray()))) {
            assertEquals(List.of(a), v.getTokens());
        }
    }

    @Test
    void secondOpenerInThisProcessIsLockedWithThePath() {
        MasterKey key = MasterKey.generate();
        try (TokenVault v = open(key)) {
            OAuthToken a = saved(v, full("a"));
            TokenStoreException e = expect(ErrorCode.LOCKED, () -> open(key));
            assertTrue(e.getMessage().contains(db().toAbsolutePath().normalize().toString()), e.getMessage());
            // another spelling of the same path
            Path other = dir.resolve("sub").resolve("..").resolve("tokens.db");
            expect(ErrorCode.LOCKED, () -> TokenVault.builder().path(other).masterKey(key).open());
            // the holder is unaffected
            assertEquals(List.of(a), v.getTokens());
        }
        try (TokenVault v = open(key)) {
            assertEquals(1, v.getTokens().size());
        }
    }

    @Test
    void secondProcessIsLockedUntilTheHolderCloses() throws Exception {
        Key key = Key.random();
        TokenVault v = open(key.masterKey());
        try {
            saved(v, full("a"));
            ChildResult r = StoreFixtures.runProbe(Map.of(), "open", db().toString(), key.base64());
            assertEquals(0, r.exit(), r.out());
            assertTrue(r.out().startsWith("LOCKED"), r.out());
            assertTrue(r.out().contains("tokens.db"), r.out());
        } finally {
            v.close();
        }
        ChildResult r = StoreFixtures.runProbe(Map.of(), "open", db().toString(), key.base64());
        assertEquals("OK 1", r.out());
        // and the child released it again
        try (TokenVault again = open(key.masterKey())) {
            assertEquals(1, again.getTokens().size());
        }
    }

    @Test
    void rotateMasterKeyRetiresTheOldKey() {
        MasterKey oldKey = MasterKey.generate();
        MasterKey newKey = MasterKey.generate();
        List<OAuthToken> before;
        try (TokenVault v = open(oldKey)) {
            for (int i = 0; i < 4; i++) {
                saved(v, full("r" + i));
            }
            MasterKey destroyed = MasterKey.generate();
            destroyed.destroy();
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.rotateMasterKey(destroyed));
            v.rotateMasterKey(newKey);
            // still open and usable
            saved(v, full("after"));
            before = snapshot(v);
        }
        expect(ErrorCode.WRONG_KEY, () -> open(oldKey));
        try (TokenVault v = open(newKey)) {
            assertEquals(before, snapshot(v));
            before.forEach(t -> ContractTest.lookAllWays(v, t));
            assertTrue(v.verify().isClean());
        }
    }

    @Test
    void rotateDataKeySealsNewRecordsUnderANewVersionAndKeepsOldOnesReadable() {
        MasterKey key = MasterKey.generate();
        List<OAuthToken> all = new ArrayList<>();
        int v1;
        try (TokenVault v = open(key)) {
            VaultStats s0 = v.stats();
            v1 = s0.currentKeyVersion();
            for (int i = 0; i < 3; i++) {
                all.add(saved(v, full("old" + i)));
            }
            assertEquals(3L, v.stats().sealsPerKeyVersion().get(v1));
            v.rotateDataKey();
            VaultStats s1 = v.stats();
            assertTrue(s1.currentKeyVersion() > v1, s1.toString());
            for (int i = 0; i < 2; i++) {
                all.add(saved(v, full("new" + i)));
            }
            VaultStats s2 = v.stats();
            assertEquals(3L, s2.sealsPerKeyVersion().get(v1));
            assertEquals(2L, s2.sealsPerKeyVersion().get(s1.currentKeyVersion()));
            assertEquals(5, s2.records());
            all.forEach(t -> assertEquals(t, v.findTokenById(t.getId())));
        }
        try (TokenVault v = open(key)) {
            VaultStats s = v.stats();
            assertTrue(s.currentKeyVersion() > v1);
            assertEquals(3L, s.sealsPerKeyVersion().get(v1));
            assertEquals(2L, s.sealsPerKeyVersion().get(s.currentKeyVersion()));
            for (OAuthToken t : all) {
                assertEquals(t, v.findTokenById(t.getId()));
                ContractTest.lookAllWays(v, t);
            }
            // an old record rewritten seals under the new version
            OAuthToken old = all.get(0);
            v.saveToken(OAuthToken.builder().id(old.getId()).expiryTime("7").build());
            assertEquals(3L, v.stats().sealsPerKeyVersion().get(s.currentKeyVersion()));
            assertTrue(v.verify().isClean());
        }
    }
}
