package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TokenVault#saveTokens}: one atomic, durable commit for many upserts, applied in list order. */
class SaveTokensTest {
    @TempDir
    Path dir;

    private static OAuthToken token(String user, String access) {
        return OAuthToken.builder().userName(user).accessToken(access).refreshToken("rt-" + user).build();
    }

    @Test
    void savesEveryTokenAndSetsIdsDurably() {
        MasterKey key = MasterKey.generate();
        Path p = dir.resolve("bulk.db");
        List<OAuthToken> tokens = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            tokens.add(token("user" + i, "at-" + i));
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            vault.saveTokens(tokens);
            tokens.forEach(t -> assertNotNull(t.getId()));
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            assertEquals(500, vault.getTokens().size());
            for (OAuthToken t : tokens) {
                assertEquals(t, vault.findTokenById(t.getId()));
                assertEquals(t.getId(), vault.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build())
                        .getId());
            }
            assertTrue(vault.verify().isClean());
        }
    }

    /**
     * README, Errors: CLOSED for "any call after close()" (ContractTest's list of calls after close has no
     * saveTokens): the list is refused whole, no token gets an id, and the store holds nothing of it after reopen.
     */
    @Test
    void saveTokensAfterCloseIsClosedAndWritesNothing() {
        MasterKey key = MasterKey.generate();
        Path p = dir.resolve("closed.db");
        TokenVault vault = TokenVault.builder().path(p).masterKey(key).open();
        vault.saveToken(token("first", "at-first"));
        vault.close();
        List<OAuthToken> late = List.of(token("late1", "at-late1"), token("late2", "at-late2"));
        TokenStoreException e = assertThrows(TokenStoreException.class, () -> vault.saveTokens(late));
        assertEquals(ErrorCode.CLOSED, e.code(), e.getMessage());
        late.forEach(t -> assertNull(t.getId()));
        try (TokenVault reopened = TokenVault.builder().path(p).masterKey(key).open()) {
            assertEquals(1, reopened.getTokens().size());
            assertNull(reopened.findToken(OAuthToken.builder().userName("late1").build()));
        }
    }

    @Test
    void laterTokensSeeEarlierOnesInTheSameCall() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            OAuthToken first = token("ada", "at-1");
            OAuthToken refresh = OAuthToken.builder().userName("ada").accessToken("at-2").build();
            vault.saveTokens(Arrays.asList(first, refresh));
            assertEquals(first.getId(), refresh.getId(), "the second token updates the record the first inserted");
            assertEquals("rt-ada", refresh.getRefreshToken());
            assertNull(vault.findToken(OAuthToken.builder().accessToken("at-1").build()));
            assertEquals(1, vault.getTokens().size());
        }
    }

    @Test
    void aConflictAnywhereWritesNothing() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            vault.saveToken(token("existing", "at-existing"));
            List<OAuthToken> before = vault.getTokens();
            List<OAuthToken> batch = List.of(token("a", "at-a"), token("b", "at-b"), token("c", "at-existing"));
            TokenStoreException e = assertThrows(TokenStoreException.class, () -> vault.saveTokens(batch));
            assertEquals(ErrorCode.CONFLICT, e.code());
            assertTrue(e.getMessage().startsWith("tokens[2]: accessToken"), e.getMessage());
            assertTrue(!e.getMessage().contains("at-existing"), "the message must not hold the token");
            assertEquals(before, vault.getTokens());
            assertNull(vault.findToken(OAuthToken.builder().userName("a").build()));
        }
    }

    @Test
    void twoTokensClaimingOneValueConflict() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            List<OAuthToken> batch = List.of(token("a", "shared"), token("b", "shared"));
            assertEquals(ErrorCode.CONFLICT, assertThrows(TokenStoreException.class,
                    () -> vault.saveTokens(batch)).code());
            assertEquals(0, vault.getTokens().size());
        }
    }

    @Test
    void badInputNamesThePositionAndWritesNothing() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            List<OAuthToken> batch = List.of(token("a", "at-a"), OAuthToken.builder().userName("b")
                    .accessToken("x").expiryTime("soon").build());
            TokenStoreException e = assertThrows(TokenStoreException.class, () -> vault.saveTokens(batch));
            assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains("tokens[1]") && e.getMessage().contains("expiryTime"), e.getMessage());
            assertEquals(0, vault.getTokens().size());
            assertEquals(ErrorCode.INVALID_ARGUMENT, assertThrows(TokenStoreException.class,
                    () -> vault.saveTokens(null)).code());
            assertEquals(ErrorCode.INVALID_ARGUMENT, assertThrows(TokenStoreException.class,
                    () -> vault.saveTokens(Arrays.asList(token("c", "at-c"), null))).code());
            List<OAuthToken> tooMany = new ArrayList<>();
            for (int i = 0; i <= TokenVault.MAX_TOKENS_PER_SAVE; i++) {
                tooMany.add(token("u" + i, "a" + i));
            }
            assertEquals(ErrorCode.INVALID_ARGUMENT, assertThrows(TokenStoreException.class,
                    () -> vault.saveTokens(tooMany)).code());
        }
    }

    /** The checks a tool runs before writing: the field rules, and for a token it knows is new, the save's own rule. */
    @Test
    void validateAndValidateNewApplyTheSavesRulesWithoutAStore() {
        OAuthToken noToken = OAuthToken.builder().userName("ada").clientId("1000.CLIENT").build();
        TokenVault.validate(noToken); // an update needs no token: the field rules alone pass it
        TokenStoreException e = assertThrows(TokenStoreException.class, () -> TokenVault.validateNew(noToken));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("a new token needs at least one of accessToken, refreshToken or grantToken", e.getMessage());
        TokenVault.validateNew(token("ada", "at-1"));

        OAuthToken badExpiry = token("ada", "at-1");
        badExpiry.setExpiryTime("soon");
        for (var check : List.<java.util.function.Consumer<OAuthToken>>of(TokenVault::validate, TokenVault::validateNew)) {
            TokenStoreException bad = assertThrows(TokenStoreException.class, () -> check.accept(badExpiry));
            assertTrue(bad.getMessage().contains("expiryTime"), bad.getMessage());
        }
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            TokenStoreException same = assertThrows(TokenStoreException.class, () -> vault.saveToken(noToken));
            assertEquals(e.getMessage(), same.getMessage(), "validateNew says what the save says");
        }
    }
}
