package dev.tokenvault.crypto;

import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Argon2id (RFC 9106), from BouncyCastle, for master keys derived from passphrases.
 * {@link #RFC9106_SECOND} are the RFC's second recommended parameters, the ones tokenvault uses.
 */
public final class Argon2id {
    /** RFC 9106 section 4, second recommendation: 64 MiB, 3 passes, 4 lanes. */
    public static final Params RFC9106_SECOND = new Params(64 * 1024, 3, 4);

    private Argon2id() {
    }

    /** Cost parameters: memory in KiB, passes, lanes. */
    public record Params(int memoryKiB, int iterations, int parallelism) {
        public Params {
            if (parallelism < 1 || iterations < 1 || memoryKiB < 8 * parallelism) {
                throw new IllegalArgumentException("Argon2id parameters out of range");
            }
        }
    }

    /** Derives a 32-byte key from a passphrase (UTF-8 encoded) and a salt of at least 16 bytes. */
    public static SecretBytes deriveKey(char[] passphrase, byte[] salt, Params params) {
        if (salt.length < 16) {
            throw new IllegalArgumentException("Argon2id salt must be at least 16 bytes");
        }
        byte[] password = utf8(passphrase);
        try {
            return SecretBytes.wrap(derive(password, salt, null, null, params, 32));
        } finally {
            java.util.Arrays.fill(password, (byte) 0);
        }
    }

    /** The full function with optional secret and associated data, as RFC 9106 defines it. */
    public static byte[] derive(byte[] password, byte[] salt, byte[] secret, byte[] associatedData, Params params,
                                int length) {
        Argon2Parameters.Builder b = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withSalt(salt)
                .withMemoryAsKB(params.memoryKiB())
                .withIterations(params.iterations())
                .withParallelism(params.parallelism());
        if (secret != null) {
            b.withSecret(secret);
        }
        if (associatedData != null) {
            b.withAdditional(associatedData);
        }
        Argon2BytesGenerator gen = new Argon2BytesGenerator();
        gen.init(b.build());
        byte[] out = new byte[length];
        gen.generateBytes(password, out);
        return out;
    }

    private static byte[] utf8(char[] chars) {
        java.nio.ByteBuffer bb = java.nio.charset.StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(chars));
        byte[] out = new byte[bb.remaining()];
        bb.get(out);
        if (bb.hasArray()) {
            java.util.Arrays.fill(bb.array(), (byte) 0);
        }
        return out;
    }
}
