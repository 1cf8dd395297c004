package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class CacheTickerTest {
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
