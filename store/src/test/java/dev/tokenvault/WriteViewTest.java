package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.tokenvault.engine.RecordEngine;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A save reads each lookup value from the store once: the contract rules ask for the same value several times (row
 * selection, then uniqueness of the merged record), and the write's view keeps what it loaded, so each value costs one
 * HMAC and one index read, and each record one decryption.
 */
class WriteViewTest {
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    /** {@code inner}, counting every call by method name. */
    private RecordEngine counting(RecordEngine inner) {
        return EngineProxy.of(inner, (method, args, proceed) -> {
            calls.computeIfAbsent(method.getName(), k -> new AtomicInteger()).incrementAndGet();
            return proceed.with(args);
        });
    }

    private int indexReads() {
        AtomicInteger n = calls.get("getByIndex");
        return n == null ? 0 : n.get();
    }

    @Test
    void aSaveReadsEachLookupValueOnce() {
        try (TokenVault v = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).cacheMaximumSize(0)
                .engineWrapper(this::counting).open()) {
            calls.clear();
            // new: selection looks up the user name, the access and the refresh token; uniqueness asks again
            v.saveToken(OAuthToken.builder().userName("u@example.com").accessToken("a1").refreshToken("r1").build());
            assertEquals(3, indexReads(), calls.toString());

            calls.clear();
            // update: the user name selects the record; uniqueness looks up only the new access token (the user name
            // and the refresh token are the record's own values, which need no lookup)
            v.saveToken(OAuthToken.builder().userName("u@example.com").accessToken("a2").build());
            assertEquals(2, indexReads(), calls.toString());
            assertEquals(null, calls.get("get"), "no read by id: " + calls);

            OAuthToken found = v.findToken(OAuthToken.builder().accessToken("a2").build());
            assertNotNull(found);
            assertEquals("r1", found.getRefreshToken());
        }
    }
}
