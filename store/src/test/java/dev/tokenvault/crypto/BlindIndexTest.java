package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BlindIndexTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String[] FIELDS = {"userName", "refreshToken", "accessToken"};

    private final SecretBytes indexKey = SecretBytes.random(32, RANDOM);

    @Test
    void deterministicAnd16Bytes() {
        try (BlindIndex a = new BlindIndex(indexKey, FIELDS);
             BlindIndex b = new BlindIndex(indexKey.duplicate(), FIELDS)) {
            for (int f = 0; f < FIELDS.length; f++) {
                byte[] x = a.compute(f, "alice@example.com");
                assertEquals(BlindIndex.LENGTH, x.length);
                assertEquals(16, x.length);
                assertArrayEquals(x, a.compute(f, "alice@example.com"), "same instance");
                assertArrayEquals(x, b.compute(f, "alice@example.com"), "another instance, same key");
                assertFalse(Arrays.equals(x, a.compute(f, "alice@example.org")), "different value");
                assertFalse(Arrays.equals(x, a.compute(f, "Alice@example.com")), "case matters");
            }
        }
    }

    @Test
    void matchesTheDesignedConstruction() {
        // HMAC-SHA256(HKDF-SHA256(indexKey, no salt, "tokenvault/v1/blind-index/" + field), UTF-8 value)[0..16)
        try (BlindIndex bi = new BlindIndex(indexKey, FIELDS)) {
            for (int f = 0; f < FIELDS.length; f++) {
                byte[] sub = CryptoTestSupport.referenceHkdfSha256(indexKey.copy(), new byte[0],
                        ("tokenvault/v1/blind-index/" + FIELDS[f]).getBytes(StandardCharsets.UTF_8), 32);
                for (String v : new String[] {"", "x", "jöhn.døe", "r-" + "z".repeat(500)}) {
                    byte[] full = CryptoTestSupport.hmac("HmacSHA256", sub, v.getBytes(StandardCharsets.UTF_8));
                    assertArrayEquals(Arrays.copyOf(full, 16), bi.compute(f, v), FIELDS[f] + " / " + v.length());
                }
            }
        }
    }

    @Test
    void fieldsAndKeysSeparate() {
        try (BlindIndex a = new BlindIndex(indexKey, FIELDS);
             BlindIndex other = new BlindIndex(SecretBytes.random(32, RANDOM), FIELDS)) {
            Set<String> seen = new HashSet<>();
            for (int f = 0; f < FIELDS.length; f++) {
                assertTrue(seen.add(CryptoTestSupport.hex(a.compute(f, "same-value"))), "field " + f + " repeats");
                assertFalse(Arrays.equals(a.compute(f, "same-value"), other.compute(f, "same-value")),
                        "other index key, field " + f);
            }
            // The field name, not its position, selects the subkey.
            try (BlindIndex reordered = new BlindIndex(indexKey, FIELDS[2], FIELDS[0])) {
                assertArrayEquals(a.compute(2, "v"), reordered.compute(0, "v"));
                assertArrayEquals(a.compute(0, "v"), reordered.compute(1, "v"));
            }
        }
    }

    @Test
    void concurrentUseGivesTheSameResults() throws Exception {
        int values = 200;
        try (BlindIndex bi = new BlindIndex(indexKey, FIELDS)) {
            byte[][][] expected = new byte[FIELDS.length][values][];
            for (int f = 0; f < FIELDS.length; f++) {
                for (int v = 0; v < values; v++) {
                    expected[f][v] = bi.compute(f, "value-" + v);
                }
            }
            int threads = 8;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Integer>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int seed = t;
                    results.add(pool.submit(() -> {
                        start.await();
                        int checked = 0;
                        for (int round = 0; round < 5; round++) {
                            for (int i = 0; i < values * FIELDS.length; i++) {
                                int k = (i * 7 + seed * 13 + round) % (values * FIELDS.length);
                                int f = k % FIELDS.length;
                                int v = k / FIELDS.length;
                                if (!Arrays.equals(expected[f][v], bi.compute(f, "value-" + v))) {
                                    throw new AssertionError("thread " + seed + ": field " + f + " value " + v);
                                }
                                checked++;
                            }
                        }
                        return checked;
                    }));
                }
                start.countDown();
                int total = 0;
                for (Future<Integer> r : results) {
                    total += r.get(30, TimeUnit.SECONDS);
                }
                assertEquals(threads * 5 * values * FIELDS.length, total);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void closeWipesTheSubkeys() throws Exception {
        BlindIndex bi = new BlindIndex(indexKey, FIELDS);
        bi.compute(0, "warm");
        bi.close();
        assertFalse(indexKey.isDestroyed(), "the index key itself belongs to the keyring");
        // A thread that never made a Mac for this index cannot compute after close.
        ExecutorService one = Executors.newSingleThreadExecutor();
        try {
            Future<byte[]> f = one.submit(() -> bi.compute(1, "after close"));
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, f::get);
            assertInstanceOf(IllegalStateException.class, e.getCause());
        } finally {
            one.shutdownNow();
        }
    }

    /** A thread's Mac keeps the JDK's copy of the subkey: a closed index must not go on computing on that thread. */
    @Test
    void aClosedIndexComputesNothingEvenOnAThreadThatUsedIt() {
        BlindIndex index = new BlindIndex(SecretBytes.random(32, new SecureRandom()), "userName");
        index.compute(0, "alice");
        index.close();
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> index.compute(0, "alice"));
    }
}
