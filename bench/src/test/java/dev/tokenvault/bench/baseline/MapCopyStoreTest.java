package dev.tokenvault.bench.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.bench.TokenData;
import org.junit.jupiter.api.Test;

/** map-copy is not a contract store, but each lookup path must return a fresh copy of the right token. */
class MapCopyStoreTest {
    @Test
    void everyPathReturnsAFreshCopyOfTheToken() {
        MapCopyStore store = new MapCopyStore();
        store.bulkLoad(10, TokenData::token);
        for (int i = 0; i < 10; i++) {
            OAuthToken expected = TokenData.token(i);
            for (OAuthToken query : new OAuthToken[] {
                OAuthToken.builder().userName(expected.getUserName()).build(),
                OAuthToken.builder().accessToken(expected.getAccessToken()).build(),
                OAuthToken.builder().refreshToken(expected.getRefreshToken()).clientId(TokenData.CLIENT_ID)
                        .clientSecret(TokenData.CLIENT_SECRET).build(),
                OAuthToken.builder().grantToken(expected.getGrantToken()).clientId(TokenData.CLIENT_ID)
                        .clientSecret(TokenData.CLIENT_SECRET).build(),
                OAuthToken.builder().id(expected.getId()).build()}) {
                OAuthToken found = store.findToken(query);
                assertEquals(expected, found);
                found.setAccessToken("changed");
                assertEquals(expected, store.findToken(query));
            }
            assertEquals(expected, store.findTokenById(expected.getId()));
            assertNotSame(store.findTokenById(expected.getId()), store.findTokenById(expected.getId()));
        }
        assertNull(store.findToken(OAuthToken.builder().userName("nobody").build()));
        assertThrows(TokenStoreException.class, () -> store.findTokenById("nobody"));
        assertThrows(UnsupportedOperationException.class, () -> store.saveToken(TokenData.token(11)));
        assertEquals(10, store.getTokens().size());
    }
}
