package dev.tokenvault.crypto;

import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/** HKDF-SHA256 (RFC 5869), from BouncyCastle. */
public final class Hkdf {
    /** RFC 5869: at most 255 blocks of the hash length. */
    public static final int MAX_LENGTH = 255 * 32;

    private Hkdf() {
    }

    /**
     * Extract-then-expand.
     *
     * @param salt may be empty, which RFC 5869 treats as 32 zero bytes
     * @throws IllegalArgumentException when {@code length} is not between 1 and {@link #MAX_LENGTH}
     */
    public static byte[] sha256(byte[] ikm, byte[] salt, byte[] info, int length) {
        if (length < 1 || length > MAX_LENGTH) {
            throw new IllegalArgumentException("HKDF-SHA256 output length must be 1 to " + MAX_LENGTH + " bytes");
        }
        HKDFBytesGenerator gen = new HKDFBytesGenerator(new SHA256Digest());
        gen.init(new HKDFParameters(ikm, salt == null || salt.length == 0 ? null : salt, info));
        byte[] out = new byte[length];
        gen.generateBytes(out, 0, length);
        return out;
    }

    static SecretBytes deriveKey(SecretBytes ikm, byte[] salt, String info) {
        return SecretBytes.wrap(sha256(ikm.raw(), salt, Bytes.utf8(info), 32));
    }
}
