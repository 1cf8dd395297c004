package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class KeyringTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    private SecretBytes wrapKey;
    private byte[] storeId;

    @BeforeEach
    void keys() {
        wrapKey = SecretBytes.random(32, RANDOM);
        storeId = new byte[32];
        RANDOM.nextBytes(storeId);
    }

    private static void assertSameKeys(Keyring expected, Keyring actual) {
        assertEquals(expected.currentVersion(), actual.currentVersion(), "current version");
        assertTrue(expected.indexKey().sameBytes(actual.indexKey()), "index key");
        assertTrue(expected.currentDataKey().sameBytes(actual.currentDataKey()), "current data key");
        assertEquals(expected.dataKeys().keySet(), actual.dataKeys().keySet(), "versions");
        for (Map.Entry<Integer, SecretBytes> e : expected.dataKeys().entrySet()) {
            assertTrue(e.getValue().sameBytes(actual.dataKey(e.getKey())), "data key " + e.getKey());
        }
    }

    private void assertUnwrapRejected(byte[] wrapped, SecretBytes key, byte[] store, String what) {
        try {
            Keyring k = Keyring.unwrap(wrapped, key, store);
            fail(what + ": accepted, gave " + k);
        } catch (AEADBadTagException expected) {
            // rejected
        }
    }

    @Test
    void generateWrapUnwrap() throws Exception {
        Keyring ring = Keyring.generate(RANDOM);
        assertEquals(1, ring.currentVersion());
        assertEquals(32, ring.currentDataKey().length());
        assertEquals(32, ring.indexKey().length());
        assertFalse(ring.currentDataKey().sameBytes(ring.indexKey()), "data and index keys are independent");
        byte[] wrapped = ring.wrap(wrapKey, storeId, RANDOM);
        assertEquals(1 + 12 + 41 + 36 + 16, wrapped.length, "format | nonce | sealed plaintext for one version");
        Keyring back = Keyring.unwrap(wrapped, wrapKey, storeId);
        assertSameKeys(ring, back);
        // The wrapped form holds no key in the clear.
        assertFalse(CryptoTestSupport.containsRun(wrapped, ring.currentDataKey().copy()), "data key in clear");
        assertFalse(CryptoTestSupport.containsRun(wrapped, ring.indexKey().copy()), "index key in clear");
        assertFalse(Arrays.equals(wrapped, ring.wrap(wrapKey, storeId, RANDOM)), "fresh nonce per wrap");
    }

    @Test
    void rotationKeepsOldVersions() throws Exception {
        Keyring v1 = Keyring.generate(RANDOM);
        Keyring v2 = v1.withNewDataKey(RANDOM);
        Keyring v3 = v2.withNewDataKey(RANDOM);
        assertEquals(1, v1.currentVersion(), "the old keyring is unchanged");
        assertEquals(1, v1.dataKeys().size());
        assertEquals(2, v2.currentVersion());
        assertEquals(3, v3.currentVersion());
        assertEquals(java.util.Set.of(1, 2, 3), v3.dataKeys().keySet());
        assertTrue(v1.currentDataKey().sameBytes(v3.dataKey(1)), "version 1 kept");
        assertTrue(v2.currentDataKey().sameBytes(v3.dataKey(2)), "version 2 kept");
        assertTrue(v3.currentDataKey().sameBytes(v3.dataKey(3)));
        assertFalse(v3.dataKey(1).sameBytes(v3.dataKey(3)), "a new data key");
        assertFalse(v3.dataKey(2).sameBytes(v3.dataKey(3)), "a new data key");
        assertTrue(v1.indexKey().sameBytes(v3.indexKey()), "the index key does not rotate with data keys");
        assertNull(v3.dataKey(4));
        assertNull(v3.dataKey(0));
        assertThrows(UnsupportedOperationException.class, () -> v3.dataKeys().put(9, v3.indexKey()));

        // A record sealed under version 1 still opens with the rotated, re-wrapped keyring.
        byte[] rec = RecordSeal.seal(1, v1.currentDataKey(), new byte[] {42}, storeId, "r");
        Keyring back = Keyring.unwrap(v3.wrap(wrapKey, storeId, RANDOM), wrapKey, storeId);
        assertSameKeys(v3, back);
        assertEquals(1, RecordSeal.keyVersion(rec));
        assertEquals(42, RecordSeal.open(rec, back.dataKey(RecordSeal.keyVersion(rec)), storeId, "r")[0]);
    }

    @Test
    void masterKeyRotationRewrapsOnly() throws Exception {
        Keyring ring = Keyring.generate(RANDOM).withNewDataKey(RANDOM);
        SecretBytes newWrapKey = SecretBytes.random(32, RANDOM);
        byte[] rewrapped = Keyring.unwrap(ring.wrap(wrapKey, storeId, RANDOM), wrapKey, storeId)
                .wrap(newWrapKey, storeId, RANDOM);
        assertSameKeys(ring, Keyring.unwrap(rewrapped, newWrapKey, storeId));
        assertUnwrapRejected(rewrapped, wrapKey, storeId, "old wrap key");
    }

    @Test
    void wrongWrapKeyOrStoreIdIsRejected() {
        Keyring ring = Keyring.generate(RANDOM);
        byte[] wrapped = ring.wrap(wrapKey, storeId, RANDOM);
        assertUnwrapRejected(wrapped, SecretBytes.random(32, RANDOM), storeId, "other wrap key");
        for (int bit = 0; bit < storeId.length * 8; bit++) {
            assertUnwrapRejected(wrapped, wrapKey, CryptoTestSupport.flipBit(storeId, bit), "store id bit " + bit);
        }
        assertUnwrapRejected(wrapped, wrapKey, Arrays.copyOf(storeId, 31), "shortened store id");
        assertUnwrapRejected(wrapped, wrapKey, new byte[0], "empty store id");
        assertUnwrapRejected(null, wrapKey, storeId, "null");
    }

    @Test
    void everyBitFlipTruncationAndExtensionIsRejected() {
        Keyring ring = Keyring.generate(RANDOM).withNewDataKey(RANDOM);
        byte[] wrapped = ring.wrap(wrapKey, storeId, RANDOM);
        for (int bit = 0; bit < wrapped.length * 8; bit++) {
            assertUnwrapRejected(CryptoTestSupport.flipBit(wrapped, bit), wrapKey, storeId, "bit " + bit);
        }
        for (int len = 0; len < wrapped.length; len++) {
            assertUnwrapRejected(Arrays.copyOf(wrapped, len), wrapKey, storeId, "truncated to " + len);
        }
        for (int extra = 1; extra <= 32; extra++) {
            assertUnwrapRejected(Arrays.copyOf(wrapped, wrapped.length + extra), wrapKey, storeId,
                    "extended by " + extra);
        }
    }

    @Test
    void toStringAndDestroy() {
        Keyring ring = Keyring.generate(RANDOM);
        String s = ring.toString();
        byte[] dk = ring.currentDataKey().copy();
        byte[] ik = ring.indexKey().copy();
        assertFalse(s.contains(CryptoTestSupport.hex(dk)) || s.toUpperCase().contains(CryptoTestSupport.hex(dk)
                .toUpperCase()), "data key hex in toString");
        assertFalse(s.toLowerCase().contains(CryptoTestSupport.hex(ik)), "index key hex in toString");
        assertFalse(s.contains(java.util.Base64.getEncoder().encodeToString(dk)), "data key base64 in toString");
        ring.destroy();
        assertTrue(ring.currentDataKey().isDestroyed());
        assertTrue(ring.indexKey().isDestroyed());
        assertThrows(IllegalStateException.class, () -> ring.wrap(wrapKey, storeId, RANDOM));
        assertNotNull(ring.toString());
    }

    private static final byte[] KEYRING_AAD = "tokenvault/v1/keyring".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    /**
     * SECURITY.md's wrapped form, opened with AesGcm alone: {@code format(1) = 1 | nonce(12) | AES-256-GCM(wrapKey,
     * plaintext, aad = "tokenvault/v1/keyring" | storeId)}, plaintext {@code format(1) | currentVersion(4) |
     * indexKey(32) | count(4) | count x (version(4) | key(32))}.
     */
    @Test
    void theWrappedFormIsTheDocumentedOne() throws Exception {
        Keyring ring = Keyring.generate(RANDOM).withNewDataKey(RANDOM).withNewDataKey(RANDOM);
        byte[] wrapped = ring.wrap(wrapKey, storeId, RANDOM);
        assertEquals(1, wrapped[0], "format");
        byte[] nonce = Arrays.copyOfRange(wrapped, 1, 13);
        byte[] plain = AesGcm.open(wrapKey, nonce, wrapped, 13, wrapped.length - 13,
                Bytes.concat(KEYRING_AAD, storeId));
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(plain);
        assertEquals(1, b.get(), "plaintext format");
        assertEquals(3, b.getInt(), "current version");
        byte[] index = new byte[32];
        b.get(index);
        assertTrue(ring.indexKey().sameBytes(SecretBytes.copyOf(index)), "index key");
        assertEquals(3, b.getInt(), "count");
        for (int v = 1; v <= 3; v++) {
            assertEquals(v, b.getInt(), "version");
            byte[] k = new byte[32];
            b.get(k);
            assertTrue(ring.dataKey(v).sameBytes(SecretBytes.copyOf(k)), "data key " + v);
        }
        assertFalse(b.hasRemaining(), "nothing after the keys");
    }

    /** A keyring wrapped properly under the wrap key whose plaintext breaks the layout: refused, never half-read. */
    @Test
    void anAuthenticKeyringWithAMalformedPlaintextIsRejected() {
        byte[] k1 = new byte[32];
        byte[] k2 = new byte[32];
        RANDOM.nextBytes(k1);
        RANDOM.nextBytes(k2);
        java.util.Map<String, byte[]> cases = new java.util.LinkedHashMap<>();
        cases.put("current version absent", plaintext(1, 7, 1, k1));
        cases.put("a version twice", plaintext(1, 1, 1, k1, 1, k2));
        cases.put("no data key", plaintext(1, 1));
        cases.put("inner format 2", plaintext(2, 1, 1, k1));
        byte[] good = plaintext(1, 1, 1, k1);
        cases.put("one byte more", Arrays.copyOf(good, good.length + 1));
        cases.put("one byte less", Arrays.copyOf(good, good.length - 1));
        byte[] countTooHigh = good.clone();
        countTooHigh[40] = 2;
        cases.put("count says 2, one key", countTooHigh);
        byte[] countNegative = good.clone();
        countNegative[37] = (byte) 0x80;
        cases.put("count negative", countNegative);
        for (java.util.Map.Entry<String, byte[]> c : cases.entrySet()) {
            assertUnwrapRejected(sealKeyring(c.getValue()), wrapKey, storeId, c.getKey());
        }
        // the same construction with a well-formed plaintext opens: the cases above fail for their layout alone
        try {
            Keyring ok = Keyring.unwrap(sealKeyring(good), wrapKey, storeId);
            assertTrue(ok.currentDataKey().sameBytes(SecretBytes.copyOf(k1)));
        } catch (AEADBadTagException e) {
            fail("a well-formed keyring was refused: " + e);
        }
    }

    private byte[] sealKeyring(byte[] plain) {
        byte[] nonce = new byte[12];
        RANDOM.nextBytes(nonce);
        return Bytes.concat(new byte[] {1}, nonce, AesGcm.seal(wrapKey, nonce, plain, Bytes.concat(KEYRING_AAD,
                storeId)));
    }

    /** format, current version, a fixed index key, then (version, key) pairs as given. */
    private static byte[] plaintext(int format, int current, Object... versionsAndKeys) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(41);
        head.put((byte) format).putInt(current).put(new byte[32]).putInt(versionsAndKeys.length / 2);
        out.writeBytes(head.array());
        for (int i = 0; i < versionsAndKeys.length; i += 2) {
            out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt((Integer) versionsAndKeys[i]).array());
            out.writeBytes((byte[]) versionsAndKeys[i + 1]);
        }
        return out.toByteArray();
    }
}
