package dev.tokenvault.crypto;

import java.security.GeneralSecurityException;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM with a 96-bit nonce and a 128-bit tag, from the JDK's SunJCE provider (AES-NI, constant time).
 * One {@code Cipher} per thread: a {@code Cipher} is not thread-safe and creating one costs more than a seal.
 *
 * <p>Security guarantees: {@link #open} releases no plaintext unless the tag verifies over the nonce, the
 * ciphertext and the associated data. Callers must never repeat a nonce under one key; {@link RecordSeal} draws
 * them at random and stays far below the 2^32-seal bound of NIST SP 800-38D.
 */
public final class AesGcm {
    public static final int KEY_LENGTH = 32;
    public static final int NONCE_LENGTH = 12;
    public static final int TAG_LENGTH = 16;

    private static final ThreadLocal<Cipher> CIPHER = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding", "SunJCE");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks SunJCE AES/GCM/NoPadding", e);
        }
    });

    private AesGcm() {
    }

    /** Encrypts {@code plaintext}; returns ciphertext followed by the 16-byte tag. */
    public static byte[] seal(SecretBytes key, byte[] nonce, byte[] plaintext, byte[] aad) {
        checkSizes(key, nonce);
        Cipher c = CIPHER.get();
        try {
            c.init(Cipher.ENCRYPT_MODE, key.aesKey(), new GCMParameterSpec(TAG_LENGTH * 8, nonce));
            c.updateAAD(aad);
            return c.doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * Decrypts and authenticates ciphertext-and-tag.
     *
     * @throws AEADBadTagException when the input is shorter than a tag or fails authentication
     */
    public static byte[] open(SecretBytes key, byte[] nonce, byte[] ciphertextAndTag, int offset, int length,
                              byte[] aad) throws AEADBadTagException {
        checkSizes(key, nonce);
        if (length < TAG_LENGTH) {
            throw new AEADBadTagException("ciphertext shorter than the tag");
        }
        Cipher c = CIPHER.get();
        try {
            c.init(Cipher.DECRYPT_MODE, key.aesKey(), new GCMParameterSpec(TAG_LENGTH * 8, nonce));
            c.updateAAD(aad);
            return c.doFinal(ciphertextAndTag, offset, length);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            AEADBadTagException bad = new AEADBadTagException("AES-GCM decryption failed");
            bad.initCause(e);
            throw bad;
        }
    }

    private static void checkSizes(SecretBytes key, byte[] nonce) {
        if (key.length() != KEY_LENGTH) {
            throw new IllegalArgumentException("AES-256-GCM key must be 32 bytes");
        }
        if (nonce.length != NONCE_LENGTH) {
            throw new IllegalArgumentException("AES-GCM nonce must be 12 bytes");
        }
    }
}
