package dev.tokenvault.crypto;

import static dev.tokenvault.crypto.CryptoTestSupport.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * rfc_kdf_vectors.json: RFC 5869 Appendix A and RFC 9106 section 5.3. Hkdf is SHA-256 only, so A.1-A.3 run through
 * Hkdf.sha256; the SHA-1 cases A.4-A.7 check the transcription against a JDK-only reference HKDF (which also
 * cross-checks the SHA-256 cases and their PRKs).
 */
class RfcKdfVectorsTest {

    @Test
    void rfc5869() {
        JsonNode tests = CryptoTestSupport.loadVectors("rfc_kdf_vectors.json").path("rfc5869_hkdf").path("tests");
        assertEquals(7, tests.size(), "RFC 5869 cases A.1-A.7");
        int sha256 = 0;
        int sha1 = 0;
        for (JsonNode t : tests) {
            String tc = t.path("tc").asText();
            byte[] ikm = hex(t.path("ikm").asText());
            byte[] salt = hex(t.path("salt").asText());
            byte[] info = hex(t.path("info").asText());
            int length = t.path("L").asInt();
            byte[] prk = hex(t.path("prk").asText());
            byte[] okm = hex(t.path("okm").asText());
            assertEquals(length, okm.length, tc + ": L vs okm");
            String hash = t.path("hash").asText();
            if ("SHA-256".equals(hash)) {
                sha256++;
                assertArrayEquals(okm, Hkdf.sha256(ikm, salt, info, length), tc + ": Hkdf.sha256 OKM");
                if (salt.length == 0) {
                    assertArrayEquals(okm, Hkdf.sha256(ikm, null, info, length), tc + ": null salt");
                    assertArrayEquals(okm, Hkdf.sha256(ikm, new byte[32], info, length), tc + ": HashLen zeros");
                }
                assertArrayEquals(prk, CryptoTestSupport.referenceExtract("HmacSHA256", ikm, salt), tc + ": PRK");
                assertArrayEquals(okm, CryptoTestSupport.referenceExpand("HmacSHA256", prk, info, length),
                        tc + ": reference OKM");
            } else if ("SHA-1".equals(hash)) {
                sha1++;
                assertArrayEquals(prk, CryptoTestSupport.referenceExtract("HmacSHA1", ikm, salt), tc + ": PRK");
                assertArrayEquals(okm, CryptoTestSupport.referenceExpand("HmacSHA1", prk, info, length),
                        tc + ": OKM");
            } else {
                throw new AssertionError(tc + ": unknown hash " + hash);
            }
        }
        assertEquals(3, sha256, "SHA-256 cases through Hkdf.sha256");
        assertEquals(4, sha1, "SHA-1 cases through the reference");
    }

    @Test
    void rfc9106Argon2id() {
        JsonNode tests = CryptoTestSupport.loadVectors("rfc_kdf_vectors.json").path("rfc9106_argon2id")
                .path("tests");
        assertEquals(1, tests.size(), "RFC 9106 section 5.3 vector");
        JsonNode t = tests.get(0);
        assertEquals("Argon2id", t.path("type").asText());
        assertEquals(19, t.path("version").asInt());
        byte[] tag = hex(t.path("tag").asText());
        Argon2id.Params params = new Argon2id.Params(t.path("memory_kib").asInt(), t.path("passes").asInt(),
                t.path("parallelism").asInt());
        byte[] out = Argon2id.derive(hex(t.path("password").asText()), hex(t.path("salt").asText()),
                hex(t.path("secret").asText()), hex(t.path("associated_data").asText()), params,
                t.path("tag_length").asInt());
        assertArrayEquals(tag, out, "RFC 9106 5.3 tag");
    }

    @Test
    void hkdfLengthBounds() {
        byte[] ikm = new byte[32];
        assertThrows(IllegalArgumentException.class, () -> Hkdf.sha256(ikm, null, new byte[0], 0));
        assertThrows(IllegalArgumentException.class, () -> Hkdf.sha256(ikm, null, new byte[0], -1));
        assertThrows(IllegalArgumentException.class,
                () -> Hkdf.sha256(ikm, null, new byte[0], Hkdf.MAX_LENGTH + 1));
        byte[] max = Hkdf.sha256(ikm, null, new byte[0], Hkdf.MAX_LENGTH);
        assertArrayEquals(CryptoTestSupport.referenceHkdfSha256(ikm, null, new byte[0], Hkdf.MAX_LENGTH), max);
        assertArrayEquals(CryptoTestSupport.referenceHkdfSha256(ikm, null, new byte[0], 1),
                Hkdf.sha256(ikm, null, new byte[0], 1));
    }

    @Test
    void argon2idParametersAndDeriveKey() {
        assertEquals(new Argon2id.Params(64 * 1024, 3, 4), Argon2id.RFC9106_SECOND, "RFC 9106 second recommendation");
        assertThrows(IllegalArgumentException.class, () -> new Argon2id.Params(31, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> new Argon2id.Params(32, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> new Argon2id.Params(32, 3, 0));

        Argon2id.Params small = new Argon2id.Params(32, 3, 4);
        byte[] salt = hex("02020202020202020202020202020202");
        assertThrows(IllegalArgumentException.class,
                () -> Argon2id.deriveKey("pw".toCharArray(), new byte[15], small));
        SecretBytes a = Argon2id.deriveKey("pässwörd".toCharArray(), salt, small);
        SecretBytes b = Argon2id.deriveKey("pässwörd".toCharArray(), salt, small);
        SecretBytes other = Argon2id.deriveKey("passwörd".toCharArray(), salt, small);
        assertEquals(32, a.length());
        assertTrue(a.sameBytes(b), "deterministic");
        assertFalse(a.sameBytes(other), "different passphrase");
        // deriveKey is derive over the UTF-8 passphrase with no secret and no associated data.
        byte[] expected = Argon2id.derive("pässwörd".getBytes(java.nio.charset.StandardCharsets.UTF_8), salt,
                null, null, small, 32);
        assertTrue(a.sameBytes(SecretBytes.copyOf(expected)), "UTF-8 passphrase, no secret, no AD");
    }
}
