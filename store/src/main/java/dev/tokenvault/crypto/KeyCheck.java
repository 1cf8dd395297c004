package dev.tokenvault.crypto;

import java.security.GeneralSecurityException;
import javax.crypto.Mac;

/**
 * The key check: HMAC-SHA256 under the header-MAC key over the store header, compared in constant time at open.
 * A wrong master key fails here, before any record is read. (Never the encryption of a zero block: with GCM that
 * value is the GHASH key.)
 */
public final class KeyCheck {
    public static final int LENGTH = 32;

    private KeyCheck() {
    }

    public static byte[] compute(SecretBytes headerMacKey, byte[] header) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(headerMacKey.hmacKey());
            return mac.doFinal(header);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** Whether {@code expected} is the check value of {@code header}; constant time in the check value. */
    public static boolean verify(SecretBytes headerMacKey, byte[] header, byte[] expected) {
        if (expected == null || expected.length != LENGTH) {
            return false;
        }
        return org.bouncycastle.util.Arrays.constantTimeAreEqual(compute(headerMacKey, header), expected);
    }
}
