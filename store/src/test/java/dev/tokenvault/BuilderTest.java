package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.StoreFixtures.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The builder's rules, and the cache settings it passes on. */
class BuilderTest {
    @TempDir Path dir;

    @Test
    void negativeCacheMaximumSize() {
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT,
                () -> TokenVault.builder().cacheMaximumSize(-1));
        assertTrue(e.getMessage().contains("cacheMaximumSize must not be negative"), e.getMessage());
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().cacheMaximumSize(Long.MIN_VALUE));
    }

    @Test
    void cacheExpireAfterWriteMustBePositive() {
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofMillis(-1), Duration.ofDays(-3), null}) {
            TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT,
                    () -> TokenVault.builder().cacheExpireAfterWrite(d));
            assertTrue(e.getMessage().contains("cacheExpireAfterWrite"), e.getMessage());
        }
        TokenVault.builder().cacheExpireAfterWrite(Duration.ofNanos(1)); // the smallest positive value is fine
    }

    @Test
    void aPathOrInMemoryIsRequiredButNotBoth() {
        MasterKey k = MasterKey.generate();
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().masterKey(k).open());
        expect(ErrorCode.INVALID_ARGUMENT,
                () -> TokenVault.builder().masterKey(k).path(dir.resolve("a.db")).inMemory().open());
        expect(ErrorCode.INVALID_ARGUMENT,
                () -> TokenVault.builder().inMemory().path(dir.resolve("a.db")).masterKey(k).open());
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().path(null));
        // nothing was created by the refused opens
        assertTrue(Files.notExists(dir.resolve("a.db")));
    }

    @Test
    void aMasterKeyIsRequired() {
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().inMemory().open());
        assertTrue(e.getMessage().contains("masterKey"), e.getMessage());
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().path(dir.resolve("b.db")).open());
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().masterKey(null));
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().clock(null));
        assertTrue(Files.notExists(dir.resolve("b.db")));
    }

    @Test
    void aMissingDirectoryIsAnIoError() {
        expect(ErrorCode.IO, () -> TokenVault.builder().path(dir.resolve("no-such-dir").resolve("c.db"))
                .masterKey(MasterKey.generate()).open());
    }

    @Test
    void aFileThatIsNotAStoreIsRefused() throws Exception {
        Path junk = dir.resolve("junk.db");
        byte[] bytes = new byte[64 * 1024];
        new java.util.Random(1).nextBytes(bytes);
        Files.write(junk, bytes);
        TokenStoreException e = assertThrowsStore(() -> TokenVault.builder().path(junk)
                .masterKey(MasterKey.generate()).open());
        assertTrue(Set.of(ErrorCode.CORRUPT, ErrorCode.UNSUPPORTED_FORMAT).contains(e.code()), e.toString());
        // and the refused open released its lock: a second attempt says the same, not LOCKED
        TokenStoreException again = assertThrowsStore(() -> TokenVault.builder().path(junk)
                .masterKey(MasterKey.generate()).open());
        assertEquals(e.code(), again.code());
    }

    private static TokenStoreException assertThrowsStore(org.junit.jupiter.api.function.Executable call) {
        return org.junit.jupiter.api.Assertions.assertThrows(TokenStoreException.class, call);
    }

    @Test
    void cacheIsOnByDefaultAndOffAtZero() {
        try (TokenVault on = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open();
             TokenVault off = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).cacheMaximumSize(0)
                     .open()) {
            for (TokenVault v : new TokenVault[] {on, off}) {
                OAuthToken t = saved(v, full("c"));
                for (int i = 0; i < 4; i++) {
                    assertEquals(t.getId(), v.findToken(OAuthToken.builder().userName(t.getUserName()).build())
                            .getId());
                }
            }
            assertEquals(0.75, on.stats().cacheHitRate(), 1e-9); // one miss, three hits
            assertTrue(on.stats().cacheSize() >= 1);
            assertEquals(0.0, off.stats().cacheHitRate());
            assertEquals(0, off.stats().cacheSize());
        }
    }

    @Test
    void cacheEntriesExpireByTheGivenClock() {
        MutableClock clock = new MutableClock();
        try (TokenVault v = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).clock(clock)
                .cacheExpireAfterWrite(Duration.ofMinutes(1)).open()) {
            OAuthToken t = saved(v, full("e"));
            OAuthToken q = OAuthToken.builder().userName(t.getUserName()).build();
            v.findToken(q.copy());                       // miss: loaded
            v.findToken(q.copy());                       // hit
            assertEquals(0.5, v.stats().cacheHitRate(), 1e-9);
            clock.advance(Duration.ofSeconds(59));
            v.findToken(q.copy());                       // still fresh: hit
            assertEquals(2.0 / 3, v.stats().cacheHitRate(), 1e-9);
            clock.advance(Duration.ofSeconds(2));        // 61 s after the load
            assertEquals(t, v.findToken(q.copy()));      // expired: a miss, loaded again
            assertEquals(2.0 / 4, v.stats().cacheHitRate(), 1e-9);
            v.findToken(q.copy());                       // fresh again: hit
            assertEquals(3.0 / 5, v.stats().cacheHitRate(), 1e-9);
            clock.advance(Duration.ofHours(1));
            v.findToken(OAuthToken.builder().userName("nobody").build()); // a miss that triggers clean-up
            assertEquals(3.0 / 6, v.stats().cacheHitRate(), 1e-9);
        }
    }

    /** The hit rate counts each lookup through the cache once: a hit, or a miss that loads (found or not). */
    @Test
    void cacheHitRateIsZeroBeforeAnyLookupAndCountsHitsAndMisses() {
        try (TokenVault v = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            assertEquals(0.0, v.stats().cacheHitRate()); // "0 with the cache off or unused" (Caffeine's said 1)
            OAuthToken t = saved(v, full("s"));
            v.findTokenById(t.getId());                                            // miss
            v.findTokenById(t.getId());                                            // hit
            OAuthToken q = OAuthToken.builder().userName(t.getUserName()).build();
            v.findToken(q.copy());                                                 // miss
            v.findToken(q.copy());                                                 // hit
            v.findToken(q.copy());                                                 // hit
            assertEquals(3.0 / 5, v.stats().cacheHitRate(), 1e-9);
            v.findToken(OAuthToken.builder().userName("nobody").build());          // miss, nothing found
            assertEquals(3.0 / 6, v.stats().cacheHitRate(), 1e-9);
        }
    }

    /** A save evicts the cached lookups of its record: the next lookup is a miss that reads the new record. */
    @Test
    void aSaveEvictsTheCachedLookupOfItsRecord() {
        try (TokenVault v = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            OAuthToken t = saved(v, full("v"));
            OAuthToken q = OAuthToken.builder().userName(t.getUserName()).build();
            v.findToken(q.copy());                                                 // miss
            assertEquals(t, v.findToken(q.copy()));                                // hit
            v.saveToken(OAuthToken.builder().id(t.getId()).accessToken("access-2").build());
            OAuthToken after = v.findToken(q.copy());                              // evicted: a miss
            assertEquals("access-2", after.getAccessToken());
            assertEquals(1.0 / 3, v.stats().cacheHitRate(), 1e-9);
            assertEquals(after, v.findToken(q.copy()));                            // and cached again
            assertEquals(2.0 / 4, v.stats().cacheHitRate(), 1e-9);
        }
    }
}
