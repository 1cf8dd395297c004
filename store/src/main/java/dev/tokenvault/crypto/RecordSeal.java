package dev.tokenvault.crypto;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;

/**
 * The sealed record format:
 * {@code version(1) | suite(1) | keyVersion(4, big-endian) | nonce(12) | ciphertext | tag(16)}.
 *
 * <p>The associated data is rebuilt when opening and never stored: the 6 header bytes, the store's 32-byte id, and
 * the record id as a 4-byte big-endian length followed by its UTF-8 bytes.
 *
 * <p>Security guarantees: a sealed record opens only under the data key it names, in the store it was sealed in,
 * under the record id it was sealed for, with every byte as written; any other input fails with
 * {@link AEADBadTagException} and releases no plaintext. The nonce is 96 random bits per seal.
 */
public final class RecordSeal {
    public static final byte FORMAT_VERSION = 1;
    public static final byte SUITE_AES256_GCM = 1;
    public static final int HEADER_LENGTH = 6;
    public static final int OVERHEAD = HEADER_LENGTH + AesGcm.NONCE_LENGTH + AesGcm.TAG_LENGTH;

    private static final SecureRandom RANDOM = new SecureRandom();

    private RecordSeal() {
    }

    /** Seals {@code plaintext} for {@code recordId} in the store {@code storeId} under data key {@code keyVersion}. */
    public static byte[] seal(int keyVersion, SecretBytes dataKey, byte[] plaintext, byte[] storeId, String recordId) {
        byte[] header = header(keyVersion);
        byte[] nonce = new byte[AesGcm.NONCE_LENGTH];
        RANDOM.nextBytes(nonce);
        byte[] body = AesGcm.seal(dataKey, nonce, plaintext, aad(header, storeId, recordId));
        byte[] out = new byte[HEADER_LENGTH + nonce.length + body.length];
        System.arraycopy(header, 0, out, 0, HEADER_LENGTH);
        System.arraycopy(nonce, 0, out, HEADER_LENGTH, nonce.length);
        System.arraycopy(body, 0, out, HEADER_LENGTH + nonce.length, body.length);
        return out;
    }

    /**
     * The data key version a sealed record names.
     *
     * @throws AEADBadTagException when the bytes are too short or name an unknown format or suite
     */
    public static int keyVersion(byte[] sealed) throws AEADBadTagException {
        if (sealed == null || sealed.length < OVERHEAD) {
            throw new AEADBadTagException("sealed record too short");
        }
        if (sealed[0] != FORMAT_VERSION || sealed[1] != SUITE_AES256_GCM) {
            throw new AEADBadTagException("unknown sealed record format or suite");
        }
        return Bytes.getInt(sealed, 2);
    }

    /** Opens a record sealed by {@link #seal}; {@code dataKey} must be the key of {@link #keyVersion}. */
    public static byte[] open(byte[] sealed, SecretBytes dataKey, byte[] storeId, String recordId)
            throws AEADBadTagException {
        keyVersion(sealed);
        byte[] header = Arrays.copyOfRange(sealed, 0, HEADER_LENGTH);
        byte[] nonce = Arrays.copyOfRange(sealed, HEADER_LENGTH, HEADER_LENGTH + AesGcm.NONCE_LENGTH);
        int bodyOffset = HEADER_LENGTH + AesGcm.NONCE_LENGTH;
        return AesGcm.open(dataKey, nonce, sealed, bodyOffset, sealed.length - bodyOffset,
                aad(header, storeId, recordId));
    }

    private static byte[] header(int keyVersion) {
        byte[] h = new byte[HEADER_LENGTH];
        h[0] = FORMAT_VERSION;
        h[1] = SUITE_AES256_GCM;
        Bytes.putInt(h, 2, keyVersion);
        return h;
    }

    static byte[] aad(byte[] header, byte[] storeId, String recordId) {
        byte[] id = recordId.getBytes(StandardCharsets.UTF_8);
        byte[] aad = new byte[header.length + storeId.length + 4 + id.length];
        System.arraycopy(header, 0, aad, 0, header.length);
        System.arraycopy(storeId, 0, aad, header.length, storeId.length);
        Bytes.putInt(aad, header.length + storeId.length, id.length);
        System.arraycopy(id, 0, aad, header.length + storeId.length + 4, id.length);
        return aad;
    }
}
