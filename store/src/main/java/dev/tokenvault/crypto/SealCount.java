package dev.tokenvault.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;

/**
 * A data key version's seal count as the store keeps it, authenticated so that someone who can write the file cannot
 * lower it to stretch a key's nonce budget: {@code count(8) | tag(16)}, where tag is the first 16 bytes of
 * HMAC-SHA256(seal-count key, {@code "tokenvault/v1/seal-count" | storeId | version(4) | count(8)}) and the
 * seal-count key is HKDF-SHA256(ikm = keyring wrap key, salt = storeId, info = {@code "tokenvault/v1/seal-count-mac"}).
 *
 * <p>Security guarantees: a count cannot be forged or moved to another version or store without the wrap key. It
 * can be replaced by an older authentic count of the same version (from a backup, freed space or the redo log):
 * nothing inside one file can tell an old value from the current one. Not thread-safe.
 */
public final class SealCount implements AutoCloseable {
    public static final int LENGTH = 8 + 16;
    static final String INFO = "tokenvault/v1/seal-count-mac";
    private static final byte[] LABEL = "tokenvault/v1/seal-count".getBytes(StandardCharsets.UTF_8);

    private final SecretBytes key;
    private final byte[] storeId;
    private final Mac mac;

    /** The counts of the store {@code storeId} whose keyring is wrapped under {@code wrapKey}. */
    public SealCount(SecretBytes wrapKey, byte[] storeId) {
        this.key = Hkdf.deriveKey(wrapKey, storeId, INFO);
        this.storeId = storeId.clone();
        try {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(key.hmacKey());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** The stored form of {@code count} seals under {@code version}. */
    public byte[] encode(int version, long count) {
        byte[] out = new byte[LENGTH];
        Bytes.putLong(out, 0, count);
        System.arraycopy(tag(version, count), 0, out, 8, 16);
        return out;
    }

    /** The count {@code stored} holds for {@code version}, or -1 when it is absent, malformed or not authentic. */
    public long decode(int version, byte[] stored) {
        if (stored == null || stored.length != LENGTH) {
            return -1;
        }
        long count = Bytes.getLong(stored, 0);
        boolean authentic = org.bouncycastle.util.Arrays.constantTimeAreEqual(tag(version, count),
                Arrays.copyOfRange(stored, 8, LENGTH));
        return authentic && count >= 0 ? count : -1;
    }

    private byte[] tag(int version, long count) {
        if (key.isDestroyed()) {
            // the Mac keeps the JDK's copy of the key: it would go on making authentic tags
            throw new IllegalStateException("the seal counts' key was wiped (closed)");
        }
        byte[] fields = new byte[12];
        Bytes.putInt(fields, 0, version);
        Bytes.putLong(fields, 4, count);
        mac.update(LABEL);
        mac.update(storeId);
        return Arrays.copyOf(mac.doFinal(fields), 16);
    }

    /** Wipes the seal-count key (the JDK's {@code Mac} keeps its own copy, which cannot be wiped). */
    @Override
    public void close() {
        key.destroy();
    }
}
