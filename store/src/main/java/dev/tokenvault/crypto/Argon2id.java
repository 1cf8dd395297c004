package dev.tokenvault.crypto;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Arrays;
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

    /** Most memory a derivation may use: 256 MiB, four times {@link #RFC9106_SECOND}'s. */
    public static final int MAX_MEMORY_KIB = 256 * 1024;
    /** Most passes a derivation may make. */
    public static final int MAX_ITERATIONS = 10;
    /** Most lanes a derivation may use. */
    public static final int MAX_PARALLELISM = 16;

    /**
     * Cost parameters: memory in KiB, passes, lanes. The bounds are fixed, because the parameters are read from a
     * store header before anything authenticates them: someone who can write the file must not be able to make
     * {@code open()} allocate gigabytes or run for hours.
     */
    public record Params(int memoryKiB, int iterations, int parallelism) {
        public Params {
            // parallelism first: within its bound, 8 * parallelism cannot overflow
            if (parallelism < 1 || parallelism > MAX_PARALLELISM) {
                throw new IllegalArgumentException("Argon2id parallelism must be 1 to " + MAX_PARALLELISM);
            }
            if (iterations < 1 || iterations > MAX_ITERATIONS) {
                throw new IllegalArgumentException("Argon2id iterations must be 1 to " + MAX_ITERATIONS);
            }
            if (memoryKiB < 8 * parallelism || memoryKiB > MAX_MEMORY_KIB) {
                throw new IllegalArgumentException("Argon2id memory must be 8 KiB per lane to " + MAX_MEMORY_KIB
                        + " KiB");
            }
        }
    }

    /**
     * Derives a 32-byte key from a passphrase and a salt of at least 16 bytes. The passphrase is normalised to
     * Unicode NFC (so a composed and a decomposed "é" derive the same key) and encoded as UTF-8 strictly.
     *
     * @throws IllegalArgumentException when the passphrase is not valid Unicode text (an unpaired surrogate), which a
     *         lenient encoder would have replaced by {@code '?'}
     */
    public static SecretBytes deriveKey(char[] passphrase, byte[] salt, Params params) {
        if (salt.length < 16) {
            throw new IllegalArgumentException("Argon2id salt must be at least 16 bytes");
        }
        byte[] password = passphraseBytes(passphrase);
        try {
            return SecretBytes.wrap(derive(password, salt, null, null, params, 32));
        } finally {
            Arrays.fill(password, (byte) 0);
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

    /**
     * The passphrase as NFC-normalised UTF-8, encoded strictly; the caller wipes the result. A passphrase that is not
     * in NFC passes through a {@code String}, which cannot be wiped.
     *
     * @throws IllegalArgumentException when it is not valid Unicode text; the message holds no character of it
     */
    public static byte[] passphraseBytes(char[] passphrase) {
        CharBuffer chars = CharBuffer.wrap(passphrase);
        if (!Normalizer.isNormalized(chars, Normalizer.Form.NFC)) {
            chars = CharBuffer.wrap(Normalizer.normalize(chars, Normalizer.Form.NFC));
        }
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer bb;
        try {
            bb = encoder.encode(chars);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("passphrase is not valid Unicode text (it holds an unpaired surrogate)");
        }
        byte[] out = new byte[bb.remaining()];
        bb.get(out);
        if (bb.hasArray()) {
            Arrays.fill(bb.array(), (byte) 0);
        }
        return out;
    }
}
