package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class KeyHierarchyTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    private static byte[] storeId() {
        byte[] id = new byte[32];
        RANDOM.nextBytes(id);
        return id;
    }

    @Test
    void deterministicForTheSameInputs() {
        SecretBytes master = SecretBytes.random(32, RANDOM);
        byte[] store = storeId();
        try (KeyHierarchy a = KeyHierarchy.derive(master, store);
             KeyHierarchy b = KeyHierarchy.derive(master.duplicate(), store.clone())) {
            assertTrue(a.wrapKey().sameBytes(b.wrapKey()));
            assertTrue(a.headerMacKey().sameBytes(b.headerMacKey()));
            assertEquals(32, a.wrapKey().length());
            assertEquals(32, a.headerMacKey().length());
            assertFalse(a.wrapKey().sameBytes(a.headerMacKey()), "wrap and header-MAC keys are separate");
            assertFalse(a.wrapKey().sameBytes(master), "the master key is never used directly");
            assertFalse(a.headerMacKey().sameBytes(master), "the master key is never used directly");
        }
    }

    @Test
    void matchesTheDesignedDerivation() {
        // HKDF-SHA256(ikm = master, salt = store id, info = label), checked with a JDK-only HKDF.
        SecretBytes master = SecretBytes.random(32, RANDOM);
        byte[] store = storeId();
        try (KeyHierarchy h = KeyHierarchy.derive(master, store)) {
            assertArrayEquals(CryptoTestSupport.referenceHkdfSha256(master.copy(), store,
                    "tokenvault/v1/keyring-wrap".getBytes(StandardCharsets.UTF_8), 32), h.wrapKey().copy());
            assertArrayEquals(CryptoTestSupport.referenceHkdfSha256(master.copy(), store,
                    "tokenvault/v1/header-mac".getBytes(StandardCharsets.UTF_8), 32), h.headerMacKey().copy());
        }
    }

    @Test
    void differentStoreOrMasterGivesDifferentKeys() {
        SecretBytes master = SecretBytes.random(32, RANDOM);
        byte[] store = storeId();
        byte[] otherStore = store.clone();
        otherStore[31] ^= 1;
        try (KeyHierarchy a = KeyHierarchy.derive(master, store);
             KeyHierarchy b = KeyHierarchy.derive(master, otherStore);
             KeyHierarchy c = KeyHierarchy.derive(SecretBytes.random(32, RANDOM), store)) {
            assertFalse(a.wrapKey().sameBytes(b.wrapKey()), "store id changes the wrap key");
            assertFalse(a.headerMacKey().sameBytes(b.headerMacKey()), "store id changes the header-MAC key");
            assertFalse(a.wrapKey().sameBytes(c.wrapKey()), "master key changes the wrap key");
            assertFalse(a.headerMacKey().sameBytes(c.headerMacKey()), "master key changes the header-MAC key");
        }
    }

    @Test
    void rejectsMasterKeysThatAreNot256Bits() {
        for (int len : new int[] {0, 16, 31, 33, 64}) {
            SecretBytes k = SecretBytes.random(len, RANDOM);
            assertThrows(IllegalArgumentException.class, () -> KeyHierarchy.derive(k, storeId()), len + " bytes");
        }
    }

    @Test
    void closeDestroysDerivedKeys() {
        SecretBytes master = SecretBytes.random(32, RANDOM);
        KeyHierarchy h = KeyHierarchy.derive(master, storeId());
        h.close();
        assertTrue(h.wrapKey().isDestroyed());
        assertTrue(h.headerMacKey().isDestroyed());
        assertFalse(master.isDestroyed(), "the caller's master key is the caller's to destroy");
    }
}
