package dev.tokenvault;

import dev.tokenvault.crypto.Argon2id;
import dev.tokenvault.crypto.SecretBytes;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.security.auth.Destroyable;

/**
 * The 256-bit master key of a store, or a passphrase that derives it (Argon2id, salt kept in the store header).
 *
 * <p>The master key never seals a record: the store derives its own keys from it at {@code open()}, so the caller
 * may {@link #destroy()} this object right after opening. Every factory copies its input; {@link #toString()}
 * never prints key material.
 */
public final class MasterKey implements Destroyable {
    /** Length of a raw master key in bytes. */
    public static final int LENGTH = 32;

    private final SecretBytes raw;          // null for a passphrase key
    private final char[] passphrase;        // null for a raw key
    private volatile boolean destroyed;

    private MasterKey(SecretBytes raw, char[] passphrase) {
        this.raw = raw;
        this.passphrase = passphrase;
    }

    /** A new random key from {@link SecureRandom}. */
    public static MasterKey generate() {
        return new MasterKey(SecretBytes.random(LENGTH, new SecureRandom()), null);
    }

    /** A key from exactly 32 bytes; the array is copied and may be wiped by the caller. */
    public static MasterKey fromBytes(byte[] key) {
        if (key == null) {
            throw invalid("master key must not be null");
        }
        if (key.length != LENGTH) {
            throw invalid("master key must be 32 bytes, got " + key.length);
        }
        return new MasterKey(SecretBytes.copyOf(key), null);
    }

    /** A key from the standard base64 text of 32 bytes (surrounding white space is ignored). */
    public static MasterKey fromBase64(String base64) {
        if (base64 == null) {
            throw invalid("master key must not be null");
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            throw invalid("master key must be base64 text of 32 bytes");
        }
        try {
            return fromBytes(decoded);
        } finally {
            Arrays.fill(decoded, (byte) 0);
        }
    }

    /**
     * A key from a file. Two formats are accepted:
     * <ul>
     *   <li>the standard base64 text of 32 bytes, with optional white space around it (what {@code tokenvault keygen}
     *       writes; the recommended format);</li>
     *   <li>exactly 32 raw bytes, unless every byte is printable ASCII or white space: such a file is a typed
     *       password, not a random key, and is refused (use {@link #fromPassphrase} for a passphrase).</li>
     * </ul>
     *
     * <p>The file must be a regular file of at most {@value #MAX_KEY_FILE_BYTES} bytes, owned by the user this
     * process runs as, with no permission for group or others ({@code chmod 600}). Symbolic links are resolved once;
     * the resolved file is then opened without following links, and its identity (device, inode) and change time are
     * read before it is opened and again after it is read: a file replaced, renamed, re-linked or re-moded during
     * the read is refused. On a file system without POSIX permissions (for example FAT, or Windows) the file is
     * refused, because nothing would show who can read it: read the key yourself and use {@link #fromBytes}, or use
     * {@link #fromEnvironment}. The file's bytes are wiped after use and never become a {@code String}.
     *
     * @throws TokenStoreException {@code INVALID_ARGUMENT} naming the file and the rule (never its content),
     *         {@code IO} when it cannot be read
     */
    public static MasterKey fromFile(Path file) {
        if (file == null) {
            throw invalid("master key file must not be null");
        }
        byte[] content = KeyFile.read(file);
        try {
            if (content.length == LENGTH) {
                if (KeyFile.looksTyped(content)) {
                    throw invalid("master key file " + file + " holds 32 printable characters, which looks like a"
                            + " password, not a random key; write a key with `tokenvault keygen` (base64 text of"
                            + " 32 random bytes), or use a passphrase store");
                }
                return fromBytes(content);
            }
            byte[] decoded = KeyFile.decodeBase64(content);
            if (decoded != null && decoded.length != LENGTH) {
                Arrays.fill(decoded, (byte) 0);
                decoded = null;
            }
            if (decoded == null) {
                throw invalid("master key file " + file + " must hold the base64 text of 32 bytes (as `tokenvault"
                        + " keygen` writes it) or 32 random raw bytes");
            }
            try {
                return fromBytes(decoded);
            } finally {
                Arrays.fill(decoded, (byte) 0);
            }
        } finally {
            Arrays.fill(content, (byte) 0);
        }
    }

    /** Most bytes a key file may hold: base64 of 32 bytes is 44 characters, plus white space. */
    public static final int MAX_KEY_FILE_BYTES = 1024;

    /** A key from the base64 text in environment variable {@code name}. */
    public static MasterKey fromEnvironment(String name) {
        if (name == null) {
            throw invalid("environment variable name must not be null");
        }
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            throw invalid("environment variable " + name + " is not set");
        }
        try {
            return fromBase64(value);
        } catch (TokenStoreException e) {
            throw invalid("environment variable " + name + " must hold the base64 text of 32 bytes");
        }
    }

    /**
     * A key derived from a passphrase with Argon2id (RFC 9106's second recommendation: 64 MiB, 3 passes, 4 lanes)
     * and the random salt in the store header. The characters are copied; the caller may wipe its array.
     *
     * <p>The passphrase is normalised to Unicode NFC before it is encoded as UTF-8, so the same passphrase typed
     * on systems that compose accents differently ("é" as one character or as "e" and a combining accent) opens the
     * same store. Text that is not valid Unicode (an unpaired surrogate) is refused rather than encoded lossily.
     *
     * @throws TokenStoreException {@code INVALID_ARGUMENT} when the passphrase is null, empty or not valid Unicode
     *         text; the message never holds any of its characters
     */
    public static MasterKey fromPassphrase(char[] passphrase) {
        if (passphrase == null) {
            throw invalid("passphrase must not be null");
        }
        if (passphrase.length == 0) {
            throw invalid("passphrase must not be empty");
        }
        try {
            Arrays.fill(Argon2id.passphraseBytes(passphrase), (byte) 0);
        } catch (IllegalArgumentException e) {
            throw invalid("passphrase must be valid Unicode text: it holds an unpaired surrogate");
        }
        return new MasterKey(null, passphrase.clone());
    }

    /** Whether this key is derived from a passphrase with the salt of the store it opens. */
    boolean isPassphrase() {
        return passphrase != null;
    }

    SecretBytes raw() {
        checkLive();
        return raw;
    }

    char[] passphrase() {
        checkLive();
        return passphrase;
    }

    private void checkLive() {
        if (destroyed) {
            throw invalid("master key was destroyed");
        }
    }

    /** Wipes the key bytes or passphrase; later use of this object fails with {@code INVALID_ARGUMENT}. */
    @Override
    public void destroy() {
        destroyed = true;
        if (raw != null) {
            raw.destroy();
        }
        if (passphrase != null) {
            Arrays.fill(passphrase, '\0');
        }
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public String toString() {
        return "MasterKey[" + (passphrase != null ? "passphrase" : "256-bit") + (destroyed ? ", destroyed]" : "]");
    }

    static TokenStoreException invalid(String message) {
        return new TokenStoreException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
