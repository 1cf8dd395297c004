package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.security.SecureRandom;
import java.util.Random;
import javax.crypto.AEADBadTagException;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.modes.GCMModeCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

/** AesGcm: parameter checks and a differential test against BouncyCastle's GCM. */
class AesGcmTest {
    private static final SecureRandom SEEDS = new SecureRandom();

    private static byte[] bcGcm(boolean encrypt, byte[] key, byte[] nonce, byte[] input, byte[] aad)
            throws InvalidCipherTextException {
        GCMModeCipher gcm = GCMBlockCipher.newInstance(AESEngine.newInstance());
        gcm.init(encrypt, new AEADParameters(new KeyParameter(key), 128, nonce, aad));
        byte[] out = new byte[gcm.getOutputSize(input.length)];
        int n = gcm.processBytes(input, 0, input.length, out, 0);
        n += gcm.doFinal(out, n);
        assertEquals(out.length, n, "BouncyCastle output length");
        return out;
    }

    @Test
    void differentialAgainstBouncyCastle() throws Exception {
        long seed = SEEDS.nextLong();
        Random r = new Random(seed);
        for (int i = 0; i < 300; i++) {
            String ctx = "seed " + seed + ", iteration " + i;
            byte[] key = bytes(r, 32);
            byte[] nonce = bytes(r, 12);
            int ptLen = i < 40 ? i : r.nextInt(1001); // every short length, then 0..1000 at random
            byte[] pt = bytes(r, ptLen);
            byte[] aad = bytes(r, r.nextInt(4) == 0 ? 0 : r.nextInt(100));
            SecretBytes k = SecretBytes.copyOf(key);

            byte[] ours = AesGcm.seal(k, nonce, pt, aad);
            byte[] theirs = bcGcm(true, key, nonce, pt, aad);
            assertEquals(ptLen + AesGcm.TAG_LENGTH, ours.length, ctx);
            assertArrayEquals(theirs, ours, ctx + ": seal differs from BouncyCastle");
            assertArrayEquals(pt, AesGcm.open(k, nonce, theirs, 0, theirs.length, aad), ctx + ": open BC output");
            assertArrayEquals(pt, bcGcm(false, key, nonce, ours, aad), ctx + ": BC opens ours");

            // One random alteration: both implementations reject it.
            byte[] bad = CryptoTestSupport.flipBit(ours, r.nextInt(ours.length * 8));
            assertThrows(AEADBadTagException.class, () -> AesGcm.open(k, nonce, bad, 0, bad.length, aad), ctx);
            assertThrows(InvalidCipherTextException.class, () -> bcGcm(false, key, nonce, bad, aad), ctx);
        }
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    @Test
    void rejectsOtherKeyAndNonceSizes() {
        SecureRandom rnd = new SecureRandom();
        for (int keyLen : new int[] {0, 16, 24, 31, 33, 64}) {
            SecretBytes k = SecretBytes.random(keyLen, rnd);
            assertThrows(IllegalArgumentException.class, () -> AesGcm.seal(k, new byte[12], new byte[1], new byte[0]),
                    "key of " + keyLen + " bytes");
            assertThrows(IllegalArgumentException.class,
                    () -> AesGcm.open(k, new byte[12], new byte[16], 0, 16, new byte[0]), "key of " + keyLen);
        }
        SecretBytes k = SecretBytes.random(32, rnd);
        for (int nonceLen : new int[] {0, 8, 11, 13, 16, 64}) {
            assertThrows(IllegalArgumentException.class,
                    () -> AesGcm.seal(k, new byte[nonceLen], new byte[1], new byte[0]), "nonce " + nonceLen);
            assertThrows(IllegalArgumentException.class,
                    () -> AesGcm.open(k, new byte[nonceLen], new byte[16], 0, 16, new byte[0]), "nonce " + nonceLen);
        }
    }

    @Test
    void shortInputIsAnAuthenticationFailure() {
        SecretBytes k = SecretBytes.random(32, new SecureRandom());
        for (int len = 0; len < AesGcm.TAG_LENGTH; len++) {
            int n = len;
            assertThrows(AEADBadTagException.class, () -> AesGcm.open(k, new byte[12], new byte[n], 0, n, new byte[0]),
                    "length " + len);
        }
    }

    @Test
    void offsetAndLengthSelectTheCiphertext() throws Exception {
        SecureRandom rnd = new SecureRandom();
        SecretBytes k = SecretBytes.random(32, rnd);
        byte[] nonce = new byte[12];
        rnd.nextBytes(nonce);
        byte[] pt = "offset test".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] ct = AesGcm.seal(k, nonce, pt, new byte[0]);
        byte[] buf = new byte[ct.length + 10];
        System.arraycopy(ct, 0, buf, 5, ct.length);
        assertArrayEquals(pt, AesGcm.open(k, nonce, buf, 5, ct.length, new byte[0]));
        try {
            AesGcm.open(k, nonce, buf, 5, ct.length + 1, new byte[0]);
            fail("a trailing byte inside the length must fail");
        } catch (AEADBadTagException expected) {
            // rejected
        }
        assertThrows(AEADBadTagException.class, () -> AesGcm.open(k, nonce, buf, 4, ct.length, new byte[0]));
    }

    @Test
    void destroyedKeyCannotBeUsed() {
        SecretBytes k = SecretBytes.random(32, new SecureRandom());
        k.destroy();
        assertThrows(IllegalStateException.class, () -> AesGcm.seal(k, new byte[12], new byte[1], new byte[0]));
    }
}
