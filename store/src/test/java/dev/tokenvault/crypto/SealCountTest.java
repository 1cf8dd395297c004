package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** A stored seal count opens only for its own version, store and wrap key, and only unaltered. */
class SealCountTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @Test
    void aCountOpensOnlyWhereItWasWritten() {
        SecretBytes wrap = SecretBytes.random(32, RANDOM);
        byte[] store = new byte[32];
        RANDOM.nextBytes(store);
        byte[] otherStore = store.clone();
        otherStore[0] ^= 1;
        try (SealCount counts = new SealCount(wrap, store);
             SealCount sameKeys = new SealCount(wrap.duplicate(), store);
             SealCount otherWrap = new SealCount(SecretBytes.random(32, RANDOM), store);
             SealCount elsewhere = new SealCount(wrap, otherStore)) {
            byte[] stored = counts.encode(7, 1_000_000_007L);
            assertEquals(SealCount.LENGTH, stored.length);
            assertEquals(1_000_000_007L, sameKeys.decode(7, stored));
            assertEquals(-1, counts.decode(8, stored));
            assertEquals(-1, otherWrap.decode(7, stored));
            assertEquals(-1, elsewhere.decode(7, stored));
            assertEquals(-1, counts.decode(7, null));
            assertEquals(-1, counts.decode(7, new byte[8]));
            for (int bit = 0; bit < stored.length * 8; bit++) {
                byte[] flipped = stored.clone();
                flipped[bit / 8] ^= (byte) (1 << (bit % 8));
                assertEquals(-1, counts.decode(7, flipped), "bit " + bit);
            }
        }
    }

    /** The Mac keeps the JDK's copy of the key: a closed SealCount must not go on making authentic counts. */
    @Test
    void aClosedSealCountMakesAndAcceptsNoCount() {
        SealCount counts = new SealCount(SecretBytes.random(32, new SecureRandom()), new byte[32]);
        byte[] stored = counts.encode(1, 7);
        counts.close();
        assertThrows(IllegalStateException.class, () -> counts.encode(1, 8));
        assertThrows(IllegalStateException.class, () -> counts.decode(1, stored));
    }

    /**
     * SECURITY.md's stored form, rebuilt with the JDK alone: {@code count(8, big-endian) | tag(16)}, tag = the first 16
     * bytes of HMAC-SHA256(HKDF-SHA256(ikm = wrap key, salt = storeId, info = "tokenvault/v1/seal-count-mac"),
     * "tokenvault/v1/seal-count" | storeId | version(4) | count(8)). A count stored so is accepted; a negative one,
     * authentic or not, is not.
     */
    @Test
    void theStoredFormIsTheDocumentedConstruction() {
        SecretBytes wrap = SecretBytes.random(32, RANDOM);
        byte[] store = new byte[32];
        RANDOM.nextBytes(store);
        byte[] key = CryptoTestSupport.referenceHkdfSha256(wrap.copy(), store,
                "tokenvault/v1/seal-count-mac".getBytes(java.nio.charset.StandardCharsets.UTF_8), 32);
        try (SealCount counts = new SealCount(wrap, store)) {
            for (long count : new long[] {0, 1, 1L << 30, 0x0102030405060708L, Long.MAX_VALUE, -1, Long.MIN_VALUE}) {
                int version = (int) (count ^ 0x5A5A5A5A);
                java.nio.ByteBuffer fields = java.nio.ByteBuffer.allocate(24 + 32 + 12);
                fields.put("tokenvault/v1/seal-count".getBytes(java.nio.charset.StandardCharsets.UTF_8)).put(store)
                        .putInt(version).putLong(count);
                byte[] tag = java.util.Arrays.copyOf(CryptoTestSupport.hmac("HmacSHA256", key, fields.array()), 16);
                byte[] expected = java.nio.ByteBuffer.allocate(24).putLong(count).put(tag).array();
                if (count >= 0) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, counts.encode(version, count),
                            "count " + count);
                }
                assertEquals(count >= 0 ? count : -1, counts.decode(version, expected), "decode " + count);
            }
        }
    }
}
