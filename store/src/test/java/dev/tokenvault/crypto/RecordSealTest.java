package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The sealed record format and its associated data: every alteration is rejected and releases no plaintext. */
class RecordSealTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int KEY_VERSION = 0x01020304;
    private static final String RECORD_ID = "rec-7f3a9c2e-tokenvault";

    private SecretBytes dataKey;
    private byte[] storeId;
    private byte[] plaintext;
    private byte[] sealed;

    @BeforeEach
    void seal() {
        dataKey = SecretBytes.random(32, RANDOM);
        storeId = new byte[32];
        RANDOM.nextBytes(storeId);
        plaintext = ("\u0001user=alice;refresh=r-ZXhhbXBsZS1yZWZyZXNo;access=a-QUNDRVNTLVRPS0VO;scope=read write;"
                + "ünïcödé").getBytes(StandardCharsets.UTF_8);
        sealed = RecordSeal.seal(KEY_VERSION, dataKey, plaintext, storeId, RECORD_ID);
    }

    /** Asserts that opening fails with AEADBadTagException (so no plaintext is returned). */
    private static void assertRejected(byte[] candidate, SecretBytes key, byte[] store, String record, String what) {
        try {
            byte[] released = RecordSeal.open(candidate, key, store, record);
            fail(what + ": accepted, released " + released.length + " bytes");
        } catch (AEADBadTagException expected) {
            // rejected
        }
    }

    @Test
    void roundTripAndLayout() throws Exception {
        assertEquals(RecordSeal.OVERHEAD + plaintext.length, sealed.length);
        assertEquals(34, RecordSeal.OVERHEAD);
        assertEquals(RecordSeal.FORMAT_VERSION, sealed[0]);
        assertEquals(RecordSeal.SUITE_AES256_GCM, sealed[1]);
        assertArrayEquals(new byte[] {1, 2, 3, 4}, Arrays.copyOfRange(sealed, 2, 6), "keyVersion big-endian");
        assertEquals(KEY_VERSION, RecordSeal.keyVersion(sealed));
        assertArrayEquals(plaintext, RecordSeal.open(sealed, dataKey, storeId, RECORD_ID));
    }

    @Test
    void associatedDataMatchesTheDesign() throws Exception {
        // AAD = header(6) | storeId | len(recordId UTF-8, 4 bytes BE) | recordId; check with a plain AesGcm.open.
        byte[] id = RECORD_ID.getBytes(StandardCharsets.UTF_8);
        byte[] aad = new byte[6 + storeId.length + 4 + id.length];
        System.arraycopy(sealed, 0, aad, 0, 6);
        System.arraycopy(storeId, 0, aad, 6, storeId.length);
        aad[6 + storeId.length + 3] = (byte) id.length;
        System.arraycopy(id, 0, aad, 6 + storeId.length + 4, id.length);
        byte[] nonce = Arrays.copyOfRange(sealed, 6, 18);
        assertArrayEquals(plaintext, AesGcm.open(dataKey, nonce, sealed, 18, sealed.length - 18, aad));
    }

    @Test
    void emptyPlaintextRoundTrips() throws Exception {
        byte[] s = RecordSeal.seal(1, dataKey, new byte[0], storeId, "");
        assertEquals(RecordSeal.OVERHEAD, s.length);
        assertArrayEquals(new byte[0], RecordSeal.open(s, dataKey, storeId, ""));
        assertRejected(s, dataKey, storeId, "x", "empty record id replaced");
    }

    @Test
    void everyBitFlipIsRejected() {
        int bits = sealed.length * 8;
        for (int bit = 0; bit < bits; bit++) {
            assertRejected(CryptoTestSupport.flipBit(sealed, bit), dataKey, storeId, RECORD_ID, "bit " + bit);
        }
    }

    @Test
    void everyTruncationIsRejected() {
        for (int len = 0; len < sealed.length; len++) {
            assertRejected(Arrays.copyOf(sealed, len), dataKey, storeId, RECORD_ID, "truncated to " + len);
        }
        assertRejected(null, dataKey, storeId, RECORD_ID, "null");
    }

    @Test
    void everyExtensionIsRejected() {
        for (int extra = 1; extra <= 32; extra++) {
            byte[] zeros = Arrays.copyOf(sealed, sealed.length + extra);
            assertRejected(zeros, dataKey, storeId, RECORD_ID, "extended by " + extra + " zero bytes");
            byte[] random = zeros.clone();
            for (int i = sealed.length; i < random.length; i++) {
                random[i] = (byte) RANDOM.nextInt(256);
            }
            assertRejected(random, dataKey, storeId, RECORD_ID, "extended by " + extra + " random bytes");
        }
    }

    @Test
    void wrongContextIsRejected() {
        byte[] otherStore = storeId.clone();
        otherStore[0] ^= 1;
        assertRejected(sealed, dataKey, otherStore, RECORD_ID, "other store id");
        byte[] freshStore = new byte[32];
        RANDOM.nextBytes(freshStore);
        assertRejected(sealed, dataKey, freshStore, RECORD_ID, "random store id");
        assertRejected(sealed, dataKey, Arrays.copyOf(storeId, 31), RECORD_ID, "store id shortened");
        assertRejected(sealed, dataKey, Arrays.copyOf(storeId, 33), RECORD_ID, "store id extended");
        assertRejected(sealed, dataKey, storeId, RECORD_ID + "x", "other record id");
        assertRejected(sealed, dataKey, storeId, RECORD_ID.substring(1), "record id shortened");
        assertRejected(sealed, dataKey, storeId, "", "empty record id");
        assertRejected(sealed, SecretBytes.random(32, RANDOM), storeId, RECORD_ID, "other data key");
    }

    @Test
    void movedBetweenRecordsOrStoresIsRejected() throws Exception {
        byte[] b = RecordSeal.seal(KEY_VERSION, dataKey, plaintext, storeId, "other-record");
        assertArrayEquals(plaintext, RecordSeal.open(b, dataKey, storeId, "other-record"));
        assertRejected(b, dataKey, storeId, RECORD_ID, "record sealed for another id");
    }

    @Test
    void modifiedKeyVersionIsRejected() throws Exception {
        for (int i = 2; i < 6; i++) {
            for (int delta : new int[] {1, 0x80, 0xff}) {
                byte[] s = sealed.clone();
                s[i] = (byte) (s[i] + delta);
                assertNotEquals(KEY_VERSION, RecordSeal.keyVersion(s), "keyVersion still parses, but differs");
                assertRejected(s, dataKey, storeId, RECORD_ID, "keyVersion byte " + i + " + " + delta);
            }
        }
        byte[] s = sealed.clone();
        s[1] = 2;
        assertThrows(AEADBadTagException.class, () -> RecordSeal.keyVersion(s), "unknown suite");
        byte[] v = sealed.clone();
        v[0] = 2;
        assertThrows(AEADBadTagException.class, () -> RecordSeal.keyVersion(v), "unknown format version");
        assertThrows(AEADBadTagException.class,
                () -> RecordSeal.keyVersion(Arrays.copyOf(sealed, RecordSeal.OVERHEAD - 1)), "too short");
    }

    @Test
    void storeIdBitFlipsAtOpenAreRejected() {
        for (int bit = 0; bit < storeId.length * 8; bit++) {
            assertRejected(sealed, dataKey, CryptoTestSupport.flipBit(storeId, bit), RECORD_ID, "store id bit " + bit);
        }
    }

    @Test
    void recordIdBitFlipsAtOpenAreRejected() {
        byte[] id = RECORD_ID.getBytes(StandardCharsets.UTF_8);
        int checked = 0;
        for (int i = 0; i < RECORD_ID.length(); i++) {
            for (int bit = 0; bit < 16; bit++) {
                char[] chars = RECORD_ID.toCharArray();
                chars[i] ^= (char) (1 << bit);
                if (Character.isSurrogate(chars[i])) {
                    continue; // a lone surrogate has no UTF-8 form; the 14 other bits of this char cover it
                }
                String flipped = new String(chars);
                assertFalse(Arrays.equals(id, flipped.getBytes(StandardCharsets.UTF_8)), "flip changes the bytes");
                assertRejected(sealed, dataKey, storeId, flipped, "record id char " + i + " bit " + bit);
                checked++;
            }
        }
        // Flip each bit of the UTF-8 bytes too, where the result is still valid UTF-8 (ASCII ids: bits 0-6).
        for (int bit = 0; bit < id.length * 8; bit++) {
            byte[] f = CryptoTestSupport.flipBit(id, bit);
            String flipped = new String(f, StandardCharsets.UTF_8);
            if (Arrays.equals(f, flipped.getBytes(StandardCharsets.UTF_8))) {
                assertRejected(sealed, dataKey, storeId, flipped, "record id byte bit " + bit);
                checked++;
            }
        }
        assertTrue(checked >= RECORD_ID.length() * 14 + id.length * 7, "checked " + checked + " variants");
    }

    @Test
    void nonceIsFreshForEverySeal() {
        byte[] again = RecordSeal.seal(KEY_VERSION, dataKey, plaintext, storeId, RECORD_ID);
        assertFalse(Arrays.equals(sealed, again), "two seals of the same plaintext must differ");
        assertFalse(Arrays.equals(Arrays.copyOfRange(sealed, 6, 18), Arrays.copyOfRange(again, 6, 18)),
                "nonces must differ");
    }

    @Test
    void plaintextDoesNotAppearInTheSealedBytes() {
        assertFalse(CryptoTestSupport.containsRun(sealed, plaintext), "whole plaintext");
        assertFalse(CryptoTestSupport.containsRun(sealed, "refresh=r-ZXhhbXBsZS1yZWZyZXNo".getBytes(
                StandardCharsets.UTF_8)), "a token");
        assertFalse(CryptoTestSupport.containsRun(sealed, RECORD_ID.getBytes(StandardCharsets.UTF_8)),
                "the record id is associated data, never stored");
        assertFalse(CryptoTestSupport.containsRun(sealed, storeId), "the store id is never stored");
    }

    @Test
    void rejectsKeysOfTheWrongSize() {
        assertThrows(IllegalArgumentException.class,
                () -> RecordSeal.seal(1, SecretBytes.random(16, RANDOM), plaintext, storeId, RECORD_ID));
        assertThrows(IllegalArgumentException.class,
                () -> RecordSeal.open(sealed, SecretBytes.random(24, RANDOM), storeId, RECORD_ID));
    }
}
