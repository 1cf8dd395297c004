package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** Shared helpers for the crypto tests: loading the known-answer vectors, hex, and a JDK-only reference HKDF. */
final class CryptoTestSupport {
    private static final HexFormat HEX = HexFormat.of();
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Where the vectors sit on the test class path: {@code store/src/test/resources/testvectors}. */
    private static final String VECTORS_RESOURCE_DIR = "/testvectors/";

    private CryptoTestSupport() {
    }

    static byte[] hex(String s) {
        return HEX.parseHex(s);
    }

    static String hex(byte[] b) {
        return HEX.formatHex(b);
    }

    /**
     * Parses the known-answer vector file {@code fileName} from the test class path. A missing or unreadable file
     * fails the calling test, never skips it: a crypto test that silently ran no vectors would prove nothing.
     */
    static JsonNode loadVectors(String fileName) {
        String resource = VECTORS_RESOURCE_DIR + fileName;
        try (InputStream in = CryptoTestSupport.class.getResourceAsStream(resource)) {
            if (in == null) {
                return fail("test vector resource missing from the class path: " + resource
                        + " (expected in store/src/test/resources" + resource + ")");
            }
            return JSON.readTree(in);
        } catch (IOException e) {
            return fail("cannot parse test vector resource " + resource + ": " + e);
        }
    }

    static byte[] hmac(String algorithm, byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance(algorithm);
            mac.init(new SecretKeySpec(key, algorithm));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new AssertionError(algorithm + " unavailable", e);
        }
    }

    /** RFC 5869 HKDF-Extract with the JDK's Mac (independent of BouncyCastle); an empty salt means HashLen zeros. */
    static byte[] referenceExtract(String hmacAlgorithm, byte[] ikm, byte[] salt) {
        int hashLen = hmac(hmacAlgorithm, new byte[] {1}, new byte[0]).length;
        byte[] s = salt == null || salt.length == 0 ? new byte[hashLen] : salt;
        return hmac(hmacAlgorithm, s, ikm);
    }

    /** RFC 5869 HKDF-Expand with the JDK's Mac. */
    static byte[] referenceExpand(String hmacAlgorithm, byte[] prk, byte[] info, int length) {
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        int off = 0;
        for (int i = 1; off < length; i++) {
            byte[] input = new byte[t.length + info.length + 1];
            System.arraycopy(t, 0, input, 0, t.length);
            System.arraycopy(info, 0, input, t.length, info.length);
            input[input.length - 1] = (byte) i;
            t = hmac(hmacAlgorithm, prk, input);
            int n = Math.min(t.length, length - off);
            System.arraycopy(t, 0, out, off, n);
            off += n;
        }
        return out;
    }

    static byte[] referenceHkdfSha256(byte[] ikm, byte[] salt, byte[] info, int length) {
        return referenceExpand("HmacSHA256", referenceExtract("HmacSHA256", ikm, salt), info, length);
    }

    /** Whether {@code needle} occurs as a contiguous run inside {@code haystack}. */
    static boolean containsRun(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    static byte[] flipBit(byte[] in, int bit) {
        byte[] out = in.clone();
        out[bit / 8] ^= (byte) (1 << (bit % 8));
        return out;
    }
}
