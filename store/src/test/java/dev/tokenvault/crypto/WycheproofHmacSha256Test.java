package dev.tokenvault.crypto;

import static dev.tokenvault.crypto.CryptoTestSupport.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every case of Wycheproof's hmac_sha256_test.json, with the JDK's HmacSHA256 keyed the way KeyCheck and BlindIndex
 * key it (SecretKeySpec over the raw bytes); a tagSize below 256 compares the first tagSize/8 bytes, as BlindIndex
 * truncates. The full-length cases also go through KeyCheck.compute and KeyCheck.verify.
 */
class WycheproofHmacSha256Test {

    @Test
    void everyCase() {
        JsonNode root = CryptoTestSupport.loadVectors("hmac_sha256_test.json");
        assertEquals("HMACSHA256", root.path("algorithm").asText());
        int declared = root.path("numberOfTests").asInt(-1);
        assertEquals(174, declared, "numberOfTests in hmac_sha256_test.json");

        int processed = 0;
        int keyCheckValid = 0;
        int keyCheckInvalid = 0;
        List<String> failures = new ArrayList<>();
        for (JsonNode group : root.path("testGroups")) {
            int keySize = group.path("keySize").asInt();
            int tagSize = group.path("tagSize").asInt();
            for (JsonNode t : group.path("tests")) {
                processed++;
                String id = "tcId " + t.path("tcId").asInt() + " (" + t.path("comment").asText() + ", key "
                        + keySize + ", tag " + tagSize + ")";
                byte[] key = hex(t.path("key").asText());
                byte[] msg = hex(t.path("msg").asText());
                byte[] tag = hex(t.path("tag").asText());
                boolean valid = "valid".equals(t.path("result").asText());
                if (!valid && !"invalid".equals(t.path("result").asText())) {
                    failures.add(id + ": unknown result");
                    continue;
                }
                if (key.length * 8 != keySize || tag.length * 8 != tagSize) {
                    failures.add(id + ": sizes disagree with the group");
                    continue;
                }
                byte[] full = CryptoTestSupport.hmac("HmacSHA256", key, msg);
                byte[] truncated = Arrays.copyOf(full, tagSize / 8);
                boolean matches = MessageDigest.isEqual(truncated, tag);
                if (matches != valid) {
                    failures.add(id + ": expected " + (valid ? "a match" : "a mismatch"));
                }
                if (tagSize == 256) {
                    SecretBytes k = SecretBytes.copyOf(key);
                    boolean computedMatches = Arrays.equals(KeyCheck.compute(k, msg), tag);
                    boolean verified = KeyCheck.verify(k, msg, tag);
                    if (computedMatches != valid || verified != valid) {
                        failures.add(id + ": KeyCheck " + (valid ? "rejected a valid" : "accepted an invalid")
                                + " tag");
                    }
                    if (valid) {
                        keyCheckValid++;
                    } else {
                        keyCheckInvalid++;
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failing cases:\n" + String.join("\n", failures));
        assertEquals(declared, processed, "every case processed");
        assertEquals(33, keyCheckValid, "full-length valid vectors run through KeyCheck");
        assertEquals(54, keyCheckInvalid, "full-length invalid vectors run through KeyCheck.verify");
    }
}
