package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class KeyCheckTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SecretBytes macKey = SecretBytes.random(32, RANDOM);
    private final byte[] header = header();

    private static byte[] header() {
        byte[] h = new byte[72];
        RANDOM.nextBytes(h);
        return h;
    }

    @Test
    void computeIsHmacSha256OverTheHeader() {
        byte[] check = KeyCheck.compute(macKey, header);
        assertEquals(KeyCheck.LENGTH, check.length);
        assertArrayEquals(CryptoTestSupport.hmac("HmacSHA256", macKey.copy(), header), check);
        assertArrayEquals(check, KeyCheck.compute(macKey, header.clone()), "deterministic");
        assertTrue(KeyCheck.verify(macKey, header, check));
    }

    @Test
    void wrongKeyIsRejected() {
        byte[] check = KeyCheck.compute(macKey, header);
        assertFalse(KeyCheck.verify(SecretBytes.random(32, RANDOM), header, check));
        byte[] k = macKey.copy();
        k[0] ^= 1;
        assertFalse(KeyCheck.verify(SecretBytes.copyOf(k), header, check), "key differing in one bit");
    }

    @Test
    void everyHeaderBitFlipIsRejected() {
        byte[] check = KeyCheck.compute(macKey, header);
        for (int bit = 0; bit < header.length * 8; bit++) {
            assertFalse(KeyCheck.verify(macKey, CryptoTestSupport.flipBit(header, bit), check), "header bit " + bit);
        }
        assertFalse(KeyCheck.verify(macKey, Arrays.copyOf(header, header.length - 1), check), "truncated header");
        assertFalse(KeyCheck.verify(macKey, Arrays.copyOf(header, header.length + 1), check), "extended header");
    }

    @Test
    void everyCheckValueBitFlipIsRejected() {
        byte[] check = KeyCheck.compute(macKey, header);
        for (int bit = 0; bit < check.length * 8; bit++) {
            assertFalse(KeyCheck.verify(macKey, header, CryptoTestSupport.flipBit(check, bit)), "check bit " + bit);
        }
    }

    @Test
    void nullShortOrLongExpectedValueIsRejected() {
        byte[] check = KeyCheck.compute(macKey, header);
        assertFalse(KeyCheck.verify(macKey, header, null));
        assertFalse(KeyCheck.verify(macKey, header, new byte[0]));
        for (int len = 1; len < KeyCheck.LENGTH; len++) {
            assertFalse(KeyCheck.verify(macKey, header, Arrays.copyOf(check, len)), "prefix of " + len + " bytes");
        }
        assertFalse(KeyCheck.verify(macKey, header, Arrays.copyOf(check, KeyCheck.LENGTH + 1)), "33 bytes");
    }
}
