package dev.tokenvault.crypto;

import static dev.tokenvault.crypto.CryptoTestSupport.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every case of Wycheproof's hkdf_sha256_test.json through Hkdf.sha256. */
class WycheproofHkdfSha256Test {

    @Test
    void everyCase() {
        JsonNode root = CryptoTestSupport.loadVectors("hkdf_sha256_test.json");
        assertEquals("HKDF-SHA-256", root.path("algorithm").asText());
        int declared = root.path("numberOfTests").asInt(-1);
        assertEquals(86, declared, "numberOfTests in hkdf_sha256_test.json");

        int valid = 0;
        int invalid = 0;
        List<String> failures = new ArrayList<>();
        for (JsonNode group : root.path("testGroups")) {
            for (JsonNode t : group.path("tests")) {
                String id = "tcId " + t.path("tcId").asInt() + " (" + t.path("comment").asText() + ")";
                byte[] ikm = hex(t.path("ikm").asText());
                byte[] salt = hex(t.path("salt").asText());
                byte[] info = hex(t.path("info").asText());
                int size = t.path("size").asInt();
                String result = t.path("result").asText();
                if ("valid".equals(result)) {
                    valid++;
                    byte[] okm = hex(t.path("okm").asText());
                    if (okm.length != size) {
                        failures.add(id + ": okm length disagrees with size");
                    } else if (!Arrays.equals(okm, Hkdf.sha256(ikm, salt, info, size))) {
                        failures.add(id + ": wrong output");
                    }
                } else if ("invalid".equals(result)) {
                    invalid++;
                    if (size <= Hkdf.MAX_LENGTH) {
                        failures.add(id + ": invalid case with an allowed size " + size + "; not understood");
                        continue;
                    }
                    try {
                        byte[] out = Hkdf.sha256(ikm, salt, info, size);
                        failures.add(id + ": accepted size " + size + " and returned " + out.length + " bytes");
                    } catch (IllegalArgumentException expected) {
                        // rejected
                    }
                } else {
                    failures.add(id + ": unknown result " + result);
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failing cases:\n" + String.join("\n", failures));
        assertEquals(declared, valid + invalid, "every case processed");
        assertEquals(3, invalid, "invalid (size too large) cases");
    }
}
