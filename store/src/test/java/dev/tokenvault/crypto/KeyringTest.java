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
}
