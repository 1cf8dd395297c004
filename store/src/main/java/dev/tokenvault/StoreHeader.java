package dev.tokenvault;

import dev.tokenvault.crypto.Argon2id;
import dev.tokenvault.crypto.SecretBytes;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The store header, kept in plaintext in the store's metadata and authenticated by the key check:
 * {@code magic "TVLT"(4) | formatVersion(1) | storeId(32) | kdf(1)} and, for {@code kdf = 1} (Argon2id),
 * {@code salt(16) | memoryKiB(4) | iterations(4) | parallelism(4)}.
 */
final class StoreHeader {
    static final int FORMAT_VERSION = 1;
    private static final int MAGIC = 0x54564C54; // "TVLT"
    private static final byte KDF_RAW = 0;
    private static final byte KDF_ARGON2ID = 1;

    final byte[] storeId;
    final byte[] salt;             // null for a raw key
    final Argon2id.Params params;  // null for a raw key

    private StoreHeader(byte[] storeId, byte[] salt, Argon2id.Params params) {
        this.storeId = storeId;
        this.salt = salt;
        this.params = params;
    }

    /** A header for a new store (or a master-key rotation) keyed by {@code key}. */
    static StoreHeader create(byte[] storeId, MasterKey key, SecureRandom random) {
        if (!key.isPassphrase()) {
            return new StoreHeader(storeId, null, null);
        }
        byte[] salt = new byte[16];
        random.nextBytes(salt);
        return new StoreHeader(storeId, salt, Argon2id.RFC9106_SECOND);
    }

    /** The 32-byte master key: the raw key, or Argon2id of the passphrase with this header's salt. */
    SecretBytes masterKeyBytes(MasterKey key) {
        if (key.isPassphrase() != (salt != null)) {
            throw new TokenStoreException(ErrorCode.WRONG_KEY, key.isPassphrase()
                    ? "this store is keyed by a 256-bit master key, not a passphrase"
                    : "this store is keyed by a passphrase, not a 256-bit master key");
        }
        return key.isPassphrase() ? Argon2id.deriveKey(key.passphrase(), salt, params)
                : key.raw().duplicate(); // one copy, owned and wiped by the caller
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 32 + 1 + (salt == null ? 0 : 28));
        b.putInt(MAGIC).put((byte) FORMAT_VERSION).put(storeId);
        if (salt == null) {
            b.put(KDF_RAW);
        } else {
            b.put(KDF_ARGON2ID).put(salt).putInt(params.memoryKiB()).putInt(params.iterations())
                    .putInt(params.parallelism());
        }
        return b.array();
    }

    static StoreHeader decode(byte[] bytes, String where) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            if (b.getInt() != MAGIC) {
                throw new TokenStoreException(ErrorCode.UNSUPPORTED_FORMAT, where + " is not a tokenvault store");
            }
            int version = b.get();
            if (version != FORMAT_VERSION) {
                throw new TokenStoreException(ErrorCode.UNSUPPORTED_FORMAT, where + " has format version " + version
                        + "; this tokenvault reads version " + FORMAT_VERSION);
            }
            byte[] storeId = new byte[32];
            b.get(storeId);
            byte kdf = b.get();
            if (kdf == KDF_RAW && !b.hasRemaining()) {
                return new StoreHeader(storeId, null, null);
            }
            if (kdf == KDF_ARGON2ID && b.remaining() == 28) {
                byte[] salt = new byte[16];
                b.get(salt);
                return new StoreHeader(storeId, salt, boundedParams(b.getInt(), b.getInt(), b.getInt(), where));
            }
        } catch (BufferUnderflowException e) {
            // fall through
        }
        throw new TokenStoreException(ErrorCode.CORRUPT, where + " has a malformed store header");
    }

    /** Argon2id parameters within fixed bounds, checked before anything is allocated for them. */
    private static Argon2id.Params boundedParams(int memoryKiB, int iterations, int parallelism, String where) {
        try {
            return new Argon2id.Params(memoryKiB, iterations, parallelism);
        } catch (IllegalArgumentException e) {
            throw new TokenStoreException(ErrorCode.CORRUPT, where + " has a store header with Argon2id parameters"
                    + " out of bounds: " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "StoreHeader[kdf=" + (salt == null ? "raw" : "argon2id") + ", storeId="
                + Arrays.hashCode(storeId) + "]";
    }
}
