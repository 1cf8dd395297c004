package dev.tokenvault.crypto;

import static dev.tokenvault.crypto.CryptoTestSupport.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;

/**
 * Every case of Wycheproof's aes_gcm_test.json. Our suite is AES-256 with a 96-bit nonce and a 128-bit tag: those
 * groups must give exactly the expected output (valid) or an authentication failure (invalid); every other group's
 * parameters must be refused with IllegalArgumentException.
 */
class WycheproofAesGcmTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @Test
    void everyCase() {
        JsonNode root = CryptoTestSupport.loadVectors("aes_gcm_test.json");
        assertEquals("AES-GCM", root.path("algorithm").asText());
        int declared = root.path("numberOfTests").asInt(-1);
        assertEquals(316, declared, "numberOfTests in aes_gcm_test.json");

        int valid = 0;
        int invalid = 0;
        int rejectedParameters = 0;
        List<String> failures = new ArrayList<>();
        for (JsonNode group : root.path("testGroups")) {
            int keySize = group.path("keySize").asInt();
            int ivSize = group.path("ivSize").asInt();
            int tagSize = group.path("tagSize").asInt();
            boolean ours = keySize == 256 && ivSize == 96 && tagSize == 128;
            for (JsonNode t : group.path("tests")) {
                String id = "tcId " + t.path("tcId").asInt() + " (" + t.path("comment").asText() + ", key "
                        + keySize + ", iv " + ivSize + ", tag " + tagSize + ")";
                byte[] key = hex(t.path("key").asText());
                byte[] iv = hex(t.path("iv").asText());
                byte[] aad = hex(t.path("aad").asText());
                byte[] msg = hex(t.path("msg").asText());
                byte[] ctTag = hex(t.path("ct").asText() + t.path("tag").asText());
                String result = t.path("result").asText();
                assertEquals(keySize, key.length * 8, id + ": key length vs group");
                assertEquals(ivSize, iv.length * 8, id + ": iv length vs group");
                SecretBytes k = SecretBytes.copyOf(key);
                if (!ours) {
                    rejectedParameters++;
                    if (!rejects(() -> AesGcm.seal(k, iv, msg, aad))) {
                        failures.add(id + ": seal accepted parameters outside AES-256/96-bit nonce");
                    }
                    if (!rejects(() -> AesGcm.open(k, iv, ctTag, 0, ctTag.length, aad))) {
                        failures.add(id + ": open accepted parameters outside AES-256/96-bit nonce");
                    }
                    continue;
                }
                if ("valid".equals(result)) {
                    valid++;
                    freshSealState();
                    byte[] sealed = AesGcm.seal(k, iv, msg, aad);
                    if (!Arrays.equals(ctTag, sealed)) {
                        failures.add(id + ": seal output differs from ct||tag");
                    }
                    // Open from inside a larger buffer to exercise offset and length.
                    byte[] buf = new byte[ctTag.length + 7];
                    System.arraycopy(ctTag, 0, buf, 3, ctTag.length);
                    try {
                        byte[] opened = AesGcm.open(k, iv, buf, 3, ctTag.length, aad);
                        if (!Arrays.equals(msg, opened)) {
                            failures.add(id + ": open returned the wrong plaintext");
                        }
                    } catch (AEADBadTagException e) {
                        failures.add(id + ": open rejected a valid ciphertext: " + e.getMessage());
                    }
                } else if ("invalid".equals(result)) {
                    invalid++;
                    byte[] released = null;
                    try {
                        released = AesGcm.open(k, iv, ctTag, 0, ctTag.length, aad);
                    } catch (AEADBadTagException expected) {
                        // rejected, nothing released
                    } catch (RuntimeException e) {
                        failures.add(id + ": open threw " + e + " instead of AEADBadTagException");
                        continue;
                    }
                    if (released != null) {
                        failures.add(id + ": open accepted an invalid ciphertext and released "
                                + released.length + " bytes");
                    }
                    freshSealState();
                    if (Arrays.equals(ctTag, AesGcm.seal(k, iv, msg, aad))) {
                        failures.add(id + ": seal produced the invalid ct||tag");
                    }
                } else {
                    failures.add(id + ": unknown result " + result);
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failing cases:\n" + String.join("\n", failures));
        assertEquals(declared, valid + invalid + rejectedParameters, "every case processed");
        // Counts for our suite's groups in the pinned Wycheproof commit: 39 valid, 27 invalid (modified tags).
        assertEquals(39, valid, "valid AES-256/96/128 cases");
        assertEquals(27, invalid, "invalid AES-256/96/128 cases");
        assertEquals(250, rejectedParameters, "cases with parameters outside our suite");
    }

    private interface Call {
        Object run() throws Exception;
    }

    private static boolean rejects(Call c) {
        try {
            c.run();
            return false;
        } catch (IllegalArgumentException e) {
            return true;
        } catch (Exception e) {
            throw new AssertionError("expected IllegalArgumentException, got " + e, e);
        }
    }

    /**
     * SunJCE refuses to encrypt twice in a row with the same key and IV on one Cipher (and AesGcm keeps one per
     * thread); several Wycheproof cases share key and IV, so seal once under a random key and nonce first.
     */
    private static void freshSealState() {
        byte[] nonce = new byte[AesGcm.NONCE_LENGTH];
        RANDOM.nextBytes(nonce);
        AesGcm.seal(SecretBytes.random(32, RANDOM), nonce, new byte[0], new byte[0]);
    }
}
