package dev.tokenvault.crypto;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.AEADBadTagException;

/**
 * The store's keyring: random 256-bit data keys, one per version, the version that seals new records, and one random
 * index key. Immutable: rotation returns a new keyring that shares the old keys.
 *
 * <p>Wrapped form, kept in the store's metadata: {@code format(1) | nonce(12) | AES-256-GCM(wrapKey, plaintext)}
 * with associated data {@code "tokenvault/v1/keyring" | storeId}; the plaintext is
 * {@code format(1) | currentVersion(4) | indexKey(32) | count(4) | count x (version(4) | dataKey(32))}.
 */
public final class Keyring {
    private static final byte FORMAT = 1;
    private static final byte[] AAD_PREFIX = "tokenvault/v1/keyring".getBytes(StandardCharsets.UTF_8);

    private final int currentVersion;
    private final SecretBytes indexKey;
    private final TreeMap<Integer, SecretBytes> dataKeys;

    private Keyring(int currentVersion, SecretBytes indexKey, TreeMap<Integer, SecretBytes> dataKeys) {
        this.currentVersion = currentVersion;
        this.indexKey = indexKey;
        this.dataKeys = dataKeys;
    }

    /** A new keyring: data key version 1 and an index key, from {@code random}. */
    public static Keyring generate(SecureRandom random) {
        TreeMap<Integer, SecretBytes> keys = new TreeMap<>();
        keys.put(1, SecretBytes.random(32, random));
        return new Keyring(1, SecretBytes.random(32, random), keys);
    }

    /** This keyring plus a new data key that seals from now on, under the version after its last. */
    public Keyring withNewDataKey(SecureRandom random) {
        return withNewDataKey(random, 0);
    }

    /**
     * This keyring plus a new data key that seals from now on, under the version after its last or {@code atLeast},
     * whichever is higher: a caller that published a version and then abandoned it (its commit failed) must not give
     * that number to another key, as a reader may still hold the abandoned one under it.
     */
    public Keyring withNewDataKey(SecureRandom random, int atLeast) {
        TreeMap<Integer, SecretBytes> keys = new TreeMap<>(dataKeys);
        int next = Math.max(keys.lastKey() + 1, atLeast);
        keys.put(next, SecretBytes.random(32, random));
        return new Keyring(next, indexKey, keys);
    }

    /**
     * This keyring with a new random index key in place of the old one; the data keys are shared. Every blind index
     * computed under the old index key must be rebuilt under the new one.
     */
    public Keyring withNewIndexKey(SecureRandom random) {
        return new Keyring(currentVersion, SecretBytes.random(32, random), new TreeMap<>(dataKeys));
    }

    /** This keyring's data keys with the index key of {@code other} (shared, not copied). */
    public Keyring withIndexKeyOf(Keyring other) {
        return new Keyring(currentVersion, other.indexKey, new TreeMap<>(dataKeys));
    }

    /**
     * This keyring without the data keys of {@code versions}; the keys themselves are shared, not wiped.
     *
     * @throws IllegalArgumentException when {@code versions} holds the current version
     */
    public Keyring withoutDataKeys(Collection<Integer> versions) {
        if (versions.contains(currentVersion)) {
            throw new IllegalArgumentException("the current data key version cannot be removed");
        }
        TreeMap<Integer, SecretBytes> keys = new TreeMap<>(dataKeys);
        keys.keySet().removeAll(versions);
        return new Keyring(currentVersion, indexKey, keys);
    }

    public int currentVersion() {
        return currentVersion;
    }

    /** The data key that seals new records. */
    public SecretBytes currentDataKey() {
        return dataKeys.get(currentVersion);
    }

    /** The data key of {@code version}, or {@code null} when the keyring has none. */
    public SecretBytes dataKey(int version) {
        return dataKeys.get(version);
    }

    public Map<Integer, SecretBytes> dataKeys() {
        return Collections.unmodifiableMap(dataKeys);
    }

    public SecretBytes indexKey() {
        return indexKey;
    }

    /** Seals this keyring under {@code wrapKey} for the store {@code storeId}. */
    public byte[] wrap(SecretBytes wrapKey, byte[] storeId, SecureRandom random) {
        int n = dataKeys.size();
        byte[] plain = new byte[1 + 4 + 32 + 4 + n * 36];
        try {
            plain[0] = FORMAT;
            Bytes.putInt(plain, 1, currentVersion);
            System.arraycopy(indexKey.raw(), 0, plain, 5, 32);
            Bytes.putInt(plain, 37, n);
            int off = 41;
            for (Map.Entry<Integer, SecretBytes> e : dataKeys.entrySet()) {
                Bytes.putInt(plain, off, e.getKey());
                System.arraycopy(e.getValue().raw(), 0, plain, off + 4, 32);
                off += 36;
            }
            byte[] nonce = new byte[AesGcm.NONCE_LENGTH];
            random.nextBytes(nonce);
            byte[] body = AesGcm.seal(wrapKey, nonce, plain, Bytes.concat(AAD_PREFIX, storeId));
            return Bytes.concat(new byte[] {FORMAT}, nonce, body);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * Opens a wrapped keyring.
     *
     * @throws AEADBadTagException when the wrap key or store id is wrong or the bytes were altered
     */
    public static Keyring unwrap(byte[] wrapped, SecretBytes wrapKey, byte[] storeId) throws AEADBadTagException {
        if (wrapped == null || wrapped.length < 1 + AesGcm.NONCE_LENGTH + AesGcm.TAG_LENGTH || wrapped[0] != FORMAT) {
            throw new AEADBadTagException("wrapped keyring malformed");
        }
        byte[] nonce = Arrays.copyOfRange(wrapped, 1, 1 + AesGcm.NONCE_LENGTH);
        int off = 1 + AesGcm.NONCE_LENGTH;
        byte[] plain = AesGcm.open(wrapKey, nonce, wrapped, off, wrapped.length - off,
                Bytes.concat(AAD_PREFIX, storeId));
        try {
            if (plain.length < 41 || plain[0] != FORMAT) {
                throw new AEADBadTagException("keyring plaintext malformed");
            }
            int current = Bytes.getInt(plain, 1);
            int n = Bytes.getInt(plain, 37);
            if (n < 1 || plain.length != 41 + n * 36) {
                throw new AEADBadTagException("keyring plaintext malformed");
            }
            TreeMap<Integer, SecretBytes> keys = new TreeMap<>();
            for (int i = 0, p = 41; i < n; i++, p += 36) {
                keys.put(Bytes.getInt(plain, p), SecretBytes.wrap(Arrays.copyOfRange(plain, p + 4, p + 36)));
            }
            if (!keys.containsKey(current) || keys.size() != n) {
                keys.values().forEach(SecretBytes::destroy);
                throw new AEADBadTagException("keyring names an absent current version or a version twice");
            }
            return new Keyring(current, SecretBytes.wrap(Arrays.copyOfRange(plain, 5, 37)), keys);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** Wipes every key of this keyring (and of any keyring that shares them). */
    public void destroy() {
        indexKey.destroy();
        dataKeys.values().forEach(SecretBytes::destroy);
    }

    @Override
    public String toString() {
        return "Keyring[current=" + currentVersion + ", versions=" + dataKeys.keySet() + "]";
    }
}
