package dev.tokenvault.bench.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.bench.Stores;
import dev.tokenvault.bench.TokenData;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The same small contract smoke test for tokenvault and every baseline, so that the benchmarks compare stores that
 * work: save, find by each lookup path, find by id, a refresh (the save the benchmark times), delete.
 */
class StoreContractSmokeTest {
    @TempDir Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tokenvault", "tokenvault-nocache", "seed-sqlite", "tuned-sqlite", "csv-file", "map"})
    void saveFindRefreshDelete(String name) {
        TokenStore store = Stores.openEmpty(name, dir);
        try {
            check(store);
        } finally {
            Stores.close(store);
        }
    }

    /** The smoke test on an empty {@code store}: {@code JdbcStoreContractSmokeTest} runs it on the JDBC stores. */
    static void check(TokenStore store) {
        OAuthToken a = TokenData.token(1);
        OAuthToken b = TokenData.token(2);
        a.setId(null);
        store.saveToken(a);
        store.saveToken(b);
        assertNotNull(a.getId(), "saveToken sets the id of an insert");
        assertEquals(TokenData.id(2), b.getId(), "an insert keeps a given id");
        assertEquals(2, store.getTokens().size());

        for (int i : new int[] {1, 2}) {
            String expected = TokenData.accessToken(i);
            assertFound(expected, store, OAuthToken.builder().userName(TokenData.userName(i)).build());
            assertFound(expected, store, OAuthToken.builder().accessToken(TokenData.accessToken(i)).build());
            assertFound(expected, store, OAuthToken.builder().refreshToken(TokenData.refreshToken(i))
                    .clientId(TokenData.CLIENT_ID).clientSecret(TokenData.CLIENT_SECRET).build());
            assertFound(expected, store, OAuthToken.builder().grantToken(TokenData.grantToken(i))
                    .clientId(TokenData.CLIENT_ID).clientSecret(TokenData.CLIENT_SECRET).build());
        }
        OAuthToken byId = store.findTokenById(a.getId());
        assertEquals(TokenData.refreshToken(1), byId.getRefreshToken());
        assertEquals(TokenData.userName(1), byId.getUserName());
        assertEquals(TokenData.API_DOMAIN, byId.getApiDomain());
        assertNull(store.findToken(OAuthToken.builder().userName("nobody@example.com").build()));

        // the refresh that SaveTokenBenchmark times: an existing user, a new access token and expiry
        OAuthToken refresh = OAuthToken.builder().userName(TokenData.userName(2))
                .accessToken(TokenData.refreshedAccessToken(1, 1)).expiryTime("1767229200001").build();
        store.saveToken(refresh);
        assertEquals(b.getId(), refresh.getId() == null ? b.getId() : refresh.getId());
        assertEquals(2, store.getTokens().size(), "a refresh updates, never inserts");
        OAuthToken after = store.findTokenById(b.getId());
        assertEquals(TokenData.refreshedAccessToken(1, 1), after.getAccessToken());
        assertEquals("1767229200001", after.getExpiryTime());
        assertEquals(TokenData.refreshToken(2), after.getRefreshToken());
        assertFound(TokenData.refreshedAccessToken(1, 1), store,
                OAuthToken.builder().accessToken(TokenData.refreshedAccessToken(1, 1)).build());

        store.deleteToken(a.getId());
        TokenStoreException e = assertThrows(TokenStoreException.class, () -> store.findTokenById(a.getId()));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertEquals(1, store.getTokens().size());
        store.deleteTokens();
        assertEquals(0, store.getTokens().size());
    }

    private static void assertFound(String expectedAccessToken, TokenStore store, OAuthToken query) {
        OAuthToken found = store.findToken(query);
        assertSame(query, found, "findToken returns the query, filled");
        assertEquals(expectedAccessToken, found.getAccessToken());
        assertNotNull(found.getId());
        assertEquals(TokenData.CLIENT_SECRET, found.getClientSecret());
    }
}
