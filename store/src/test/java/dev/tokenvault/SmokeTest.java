package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
    @TempDir Path dir;

    @Test
    void saveFindReopen() {
        MasterKey key = MasterKey.generate();
        Path p = dir.resolve("t.db");
        String id;
        try (TokenVault v = TokenVault.builder().path(p).masterKey(key).open()) {
            OAuthToken t = OAuthToken.builder().userName("u1").refreshToken("r1").accessToken("a1").build();
            v.saveToken(t);
            id = t.getId();
            assertNotNull(id);
            OAuthToken q = OAuthToken.builder().userName("u1").build();
            assertSame(q, v.findToken(q));
            assertEquals("a1", q.getAccessToken());
        }
        try (TokenVault v = TokenVault.builder().path(p).masterKey(key).open()) {
            assertEquals("r1", v.findTokenById(id).getRefreshToken());
            assertEquals(1, v.getTokens().size());
            assertTrue(v.verify().isClean());
        }
        TokenStoreException e = assertThrows(TokenStoreException.class,
                () -> TokenVault.builder().path(p).masterKey(MasterKey.generate()).open());
        assertEquals(ErrorCode.WRONG_KEY, e.code());
    }
}
