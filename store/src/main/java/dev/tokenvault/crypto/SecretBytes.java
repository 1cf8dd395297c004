package dev.tokenvault.crypto;

import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.spec.SecretKeySpec;

/**
 * Key material: the one type in tokenvault that holds key bytes.
 *
 * <p>Security guarantees: the bytes are copied in and out, never shared with the caller; {@link #toString()} names
 * only the length; {@link #destroy()} overwrites them with zeros and makes every later use fail. Wiping on the JVM is
 * best effort: the garbage collector may have copied the array before, and the JDK's {@code SecretKeySpec} keeps its
 * own copy that cannot be wiped.
 */
public final class SecretBytes implements AutoCloseable {
    private final byte[] bytes;
    private volatile boolean destroyed;
    private volatile SecretKeySpec aesKey;
    private volatile SecretKeySpec hmacKey;

    private SecretBytes(byte[] owned) {
        this.bytes = owned;
    }

    /** A copy of {@code source}; the caller may wipe its array afterwards. */
    public static SecretBytes copyOf(byte[] source) {
        if (source == null) {
            throw new IllegalArgumentException("key bytes must not be null");
        }
        return new SecretBytes(source.clone());
    }

    /** Takes ownership of {@code owned} without copying; for arrays this package created. */
    static SecretBytes wrap(byte[] owned) {
        return new SecretBytes(owned);
    }

    /** {@code length} bytes from {@code random}. */
    public static SecretBytes random(int length, SecureRandom random) {
        byte[] b = new byte[length];
        random.nextBytes(b);
        return new SecretBytes(b);
    }

    public int length() {
        return bytes.length;
    }

    /** A copy of the key bytes; the caller owns and should wipe it. */
    public byte[] copy() {
        return raw().clone();
    }

    /** An independent copy, destroyed separately. */
    public SecretBytes duplicate() {
        return new SecretBytes(raw().clone());
    }

    /** Whether both hold the same bytes, compared in constant time. */
    public boolean sameBytes(SecretBytes other) {
        return org.bouncycastle.util.Arrays.constantTimeAreEqual(raw(), other.raw());
    }

    byte[] raw() {
        if (destroyed) {
            throw new IllegalStateException("key material was destroyed");
        }
        return bytes;
    }

    /**
     * The key as a JCA key, made once. It is made under the same monitor as {@link #destroy}: made outside it, a key
     * could pass the destroyed check, then be built from the bytes {@code destroy} had just zeroed and be cached, and
     * every later seal would use the all-zero key.
     */
    SecretKeySpec aesKey() {
        SecretKeySpec k = aesKey;
        if (k != null && !destroyed) {
            return k;
        }
        synchronized (this) {
            byte[] b = raw();
            if (aesKey == null) {
                aesKey = new SecretKeySpec(b, "AES");
            }
            return aesKey;
        }
    }

    /** As {@link #aesKey}, for HMAC-SHA256. */
    SecretKeySpec hmacKey() {
        SecretKeySpec k = hmacKey;
        if (k != null && !destroyed) {
            return k;
        }
        synchronized (this) {
            byte[] b = raw();
            if (hmacKey == null) {
                hmacKey = new SecretKeySpec(b, "HmacSHA256");
            }
            return hmacKey;
        }
    }

    /** Overwrites the bytes with zeros; idempotent. */
    public synchronized void destroy() {
        destroyed = true;
        Arrays.fill(bytes, (byte) 0);
        aesKey = null;
        hmacKey = null;
    }

    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public void close() {
        destroy();
    }

    @Override
    public String toString() {
        return "SecretBytes[" + bytes.length + " bytes" + (destroyed ? ", destroyed]" : "]");
    }
}
