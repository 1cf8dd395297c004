package dev.tokenvault;

import dev.tokenvault.crypto.SecretBytes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Set;
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
     * A key from a file holding 32 raw bytes or the base64 text of 32 bytes. On POSIX file systems the file must not
     * be readable or writable by group or others.
     */
    public static MasterKey fromFile(Path file) {
        if (file == null) {
            throw invalid("master key file must not be null");
        }
        checkPermissions(file);
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TokenStoreException(ErrorCode.INVALID_ARGUMENT, "master key file " + file + " does not exist");
        } catch (IOException e) {
            throw new TokenStoreException(ErrorCode.IO, "cannot read master key file " + file, e);
        }
        try {
            if (content.length == LENGTH) {
                return fromBytes(content);
            }
            String text = new String(content, StandardCharsets.US_ASCII);
            try {
                return fromBase64(text);
            } catch (TokenStoreException e) {
                throw invalid("master key file " + file + " must hold 32 raw bytes or their base64 text");
            }
        } finally {
            Arrays.fill(content, (byte) 0);
        }
    }

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
     */
    public static MasterKey fromPassphrase(char[] passphrase) {
        if (passphrase == null) {
            throw invalid("passphrase must not be null");
        }
        if (passphrase.length == 0) {
            throw invalid("passphrase must not be empty");
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

    private static void checkPermissions(Path file) {
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(file); // follows links: the target's mode is what matters
        } catch (UnsupportedOperationException e) {
            return; // not a POSIX file system: nothing to check
        } catch (NoSuchFileException e) {
            throw invalid("master key file " + file + " does not exist");
        } catch (IOException e) {
            throw new TokenStoreException(ErrorCode.IO, "cannot read permissions of master key file " + file, e);
        }
        for (PosixFilePermission p : perms) {
            switch (p) {
                case GROUP_READ, GROUP_WRITE, OTHERS_READ, OTHERS_WRITE ->
                        throw invalid("master key file " + file + " must not be readable or writable by group or"
                                + " others; run: chmod 600 " + file);
                default -> { }
            }
        }
    }

    private static TokenStoreException invalid(String message) {
        return new TokenStoreException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
