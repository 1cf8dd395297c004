package dev.tokenvault.crypto;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;

/**
 * Blind indexes: HMAC-SHA256 under a per-field subkey, truncated to 16 bytes.
 *
 * <p>Each field's subkey is HKDF-SHA256 of the index key with info {@code "tokenvault/v1/blind-index/" + field}, so
 * equal values in different fields give unrelated index keys. Security guarantees: without the index key an index
 * entry reveals nothing of its value; with the file alone an attacker learns only which records share nothing (the
 * values are unique per field). Equality of values within a field is visible to anyone holding the index key.
 */
public final class BlindIndex implements AutoCloseable {
    public static final int LENGTH = 16;
    private static final String INFO_PREFIX = "tokenvault/v1/blind-index/";

    private final SecretBytes[] fieldKeys;
    private final ThreadLocal<Mac[]> macs;

    /** One subkey for each of {@code fieldNames}; later calls name the field by its position. */
    public BlindIndex(SecretBytes indexKey, String... fieldNames) {
        fieldKeys = new SecretBytes[fieldNames.length];
        for (int i = 0; i < fieldNames.length; i++) {
            fieldKeys[i] = Hkdf.deriveKey(indexKey, new byte[0], INFO_PREFIX + fieldNames[i]);
        }
        macs = ThreadLocal.withInitial(() -> new Mac[fieldKeys.length]);
    }

    /** The 16-byte index key of {@code value} (UTF-8) in field number {@code field}. */
    public byte[] compute(int field, String value) {
        if (fieldKeys[field].isDestroyed()) {
            // a thread's Mac keeps the JDK's copy of the subkey: it would go on computing
            throw new IllegalStateException("the blind index was closed");
        }
        Mac[] perThread = macs.get();
        Mac mac = perThread[field];
        try {
            if (mac == null) {
                mac = Mac.getInstance("HmacSHA256");
                mac.init(fieldKeys[field].hmacKey());
                perThread[field] = mac;
            }
            byte[] full = mac.doFinal(value.getBytes(StandardCharsets.UTF_8));
            return Arrays.copyOf(full, LENGTH);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** Wipes the subkeys; threads that already made a {@code Mac} keep the JDK's copy until they end. */
    @Override
    public void close() {
        for (SecretBytes k : fieldKeys) {
            k.destroy();
        }
    }
}
