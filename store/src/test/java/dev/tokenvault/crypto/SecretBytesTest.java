package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class SecretBytesTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    private static byte[] keyBytes() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return b;
    }

    @Test
    void copyOfCopiesIn() {
        byte[] source = keyBytes();
        byte[] original = source.clone();
        SecretBytes s = SecretBytes.copyOf(source);
        source[0] ^= 0x55;
        java.util.Arrays.fill(source, 5, 20, (byte) 0);
        assertArrayEquals(original, s.copy(), "mutating the source must not change the secret");
        assertNotSame(source, s.raw());
        assertThrows(IllegalArgumentException.class, () -> SecretBytes.copyOf(null));
    }

    @Test
    void copyAndDuplicateCopyOut() {
        byte[] original = keyBytes();
        SecretBytes s = SecretBytes.copyOf(original);
        byte[] out = s.copy();
        out[3] ^= 1;
        assertArrayEquals(original, s.copy(), "mutating a copy must not change the secret");
        SecretBytes dup = s.duplicate();
        assertTrue(dup.sameBytes(s));
        s.destroy();
        assertFalse(dup.isDestroyed(), "a duplicate is destroyed separately");
        assertArrayEquals(original, dup.copy());
    }

    @Test
    void sameBytes() {
        byte[] k = keyBytes();
        assertTrue(SecretBytes.copyOf(k).sameBytes(SecretBytes.copyOf(k.clone())));
        byte[] other = k.clone();
        other[31] ^= (byte) 0x80;
        assertFalse(SecretBytes.copyOf(k).sameBytes(SecretBytes.copyOf(other)));
        assertFalse(SecretBytes.copyOf(k).sameBytes(SecretBytes.copyOf(java.util.Arrays.copyOf(k, 31))),
                "prefix");
    }

    @Test
    void destroyZeroesAndLaterUseThrows() {
        SecretBytes s = SecretBytes.copyOf(keyBytes());
        s.aesKey();
        s.hmacKey();
        byte[] internal = s.raw();
        assertFalse(java.util.Arrays.equals(new byte[32], internal));
        s.destroy();
        assertTrue(s.isDestroyed());
        assertArrayEquals(new byte[32], internal, "destroy overwrites the bytes with zeros");
        assertThrows(IllegalStateException.class, s::copy);
        assertThrows(IllegalStateException.class, s::duplicate);
        assertThrows(IllegalStateException.class, s::raw);
        assertThrows(IllegalStateException.class, s::aesKey, "no cached AES key survives destroy");
        assertThrows(IllegalStateException.class, s::hmacKey, "no cached HMAC key survives destroy");
        assertThrows(IllegalStateException.class, () -> s.sameBytes(SecretBytes.copyOf(new byte[32])));
        assertThrows(IllegalStateException.class, () -> SecretBytes.copyOf(new byte[32]).sameBytes(s));
        assertThrows(IllegalStateException.class, () -> KeyCheck.compute(s, new byte[1]));
        s.destroy(); // idempotent
        assertTrue(s.isDestroyed());
    }

    @Test
    void closeDestroys() {
        SecretBytes s = SecretBytes.random(32, RANDOM);
        byte[] internal = s.raw();
        try (SecretBytes auto = s) {
            assertEquals(32, auto.length());
        }
        assertTrue(s.isDestroyed());
        assertArrayEquals(new byte[32], internal);
    }

    @Test
    void toStringNamesOnlyTheLength() {
        for (int i = 0; i < 20; i++) {
            byte[] k = keyBytes();
            SecretBytes s = SecretBytes.copyOf(k);
            assertNoKeyIn(s.toString(), k);
            s.destroy();
            assertNoKeyIn(s.toString(), k);
        }
        assertTrue(SecretBytes.random(32, RANDOM).toString().contains("32"), "names the length");
    }

    private static void assertNoKeyIn(String text, byte[] key) {
        String hex = CryptoTestSupport.hex(key);
        String lower = text.toLowerCase(Locale.ROOT);
        assertFalse(lower.contains(hex), "hex of the key in toString");
        assertFalse(lower.contains(hex.substring(0, 8)), "hex of the key's first 4 bytes in toString");
        String b64 = Base64.getEncoder().encodeToString(key);
        assertFalse(text.contains(b64), "base64 of the key in toString");
        assertFalse(text.contains(b64.substring(0, 8)), "base64 of the key's first 6 bytes in toString");
        assertFalse(text.contains(Base64.getUrlEncoder().withoutPadding().encodeToString(key).substring(0, 8)),
                "base64url of the key in toString");
        assertFalse(text.contains(java.util.Arrays.toString(key)), "decimal bytes of the key in toString");
    }

    @Test
    void randomHasTheRequestedLength() {
        assertEquals(32, SecretBytes.random(32, RANDOM).length());
        assertEquals(0, SecretBytes.random(0, RANDOM).length());
        assertFalse(SecretBytes.random(32, RANDOM).sameBytes(SecretBytes.random(32, RANDOM)));
    }

    /**
     * A key made while another thread destroys it must never be built from the zeroed bytes and cached: every later
     * seal would then use the all-zero key. A race, so many rounds (a review caught it in about 17 s of them on the
     * code before the fix); a destroyed key either refuses or, for a seal that began before the destroy, seals under
     * the real key.
     */
    @Test
    void aKeyBeingDestroyedNeverSealsUnderTheZeroKey() throws Exception {
        SecureRandom random = new SecureRandom();
        java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
        SecretBytes zero = SecretBytes.copyOf(new byte[32]);
        byte[] nonce = new byte[12];
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(3);
        int rounds = 0;
        while (System.nanoTime() < deadline) {
            rounds++;
            SecretBytes key = SecretBytes.random(32, random);
            Thread user = new Thread(() -> {
                try {
                    go.await();
                    key.aesKey();
                } catch (Exception | Error ignored) {
                    // a destroyed key refuses: what this test allows
                }
            });
            user.start();
            go.await();
            key.destroy();
            user.join();
            byte[] sealed;
            try {
                sealed = AesGcm.seal(key, nonce, new byte[] {1, 2, 3}, new byte[0]);
            } catch (IllegalStateException destroyed) {
                continue;
            }
            try {
                AesGcm.open(zero, nonce, sealed, 0, sealed.length, new byte[0]);
                org.junit.jupiter.api.Assertions.fail("a destroyed key sealed under the all-zero key, round " + rounds);
            } catch (javax.crypto.AEADBadTagException expected) {
                org.junit.jupiter.api.Assertions.fail("a destroyed key still sealed, round " + rounds);
            }
        }
    }
}
