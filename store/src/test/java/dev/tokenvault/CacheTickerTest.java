package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheTickerTest {
    @TempDir
    Path dir;

    @Test
    void theSharedThreadRunsOnlyWhileAVaultWithACacheIsOpen() throws Exception {
        int before = CacheTicker.sharedUsers();
        MasterKey key = MasterKey.generate();
        TokenVault first = TokenVault.builder().path(dir.resolve("a.db")).masterKey(key).open();
        TokenVault second = TokenVault.builder().path(dir.resolve("b.db")).masterKey(key).open();
        try (TokenVault uncached = TokenVault.builder().path(dir.resolve("c.db")).masterKey(key)
                .cacheMaximumSize(0).open()) {
            assertEquals(before + 2, CacheTicker.sharedUsers(), "a vault without a cache needs no clock");
            assertTrue(clockThread() != null);
        }
        first.close();
        first.close(); // idempotent: releases once
        assertEquals(before + 1, CacheTicker.sharedUsers());
        second.close();
        assertEquals(before, CacheTicker.sharedUsers());
        if (before == 0) {
            Thread thread = clockThread();
            if (thread != null) {
                thread.join(5_000);
            }
            assertTrue(clockThread() == null, "the last close stops " + CacheTicker.THREAD_NAME);
        }
    }

    private static Thread clockThread() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(CacheTicker.THREAD_NAME) && t.isAlive()).findFirst().orElse(null);
    }

    @Test
    void onlyTheSystemClockIsReadThroughTheSharedThread() {
        assertTrue(CacheTicker.readsSharedTime(Clock.systemUTC()));
        assertTrue(CacheTicker.readsSharedTime(Clock.system(ZoneId.of("Europe/Paris"))));
        assertFalse(CacheTicker.readsSharedTime(Clock.offset(Clock.systemUTC(), Duration.ofHours(1))));
        assertFalse(CacheTicker.readsSharedTime(Clock.fixed(Instant.EPOCH, ZoneOffset.UTC)));
    }

    @Test
    void anyOtherClockIsReadOnEveryCall() {
        Clock fixed = Clock.fixed(Instant.ofEpochMilli(1234), ZoneOffset.UTC);
        assertEquals(1_234_000_000L, CacheTicker.of(fixed).read());
    }
}
