package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/**
 * The known-answer vectors come from the test class path (store/src/test/resources/testvectors), with their licence,
 * and a missing file fails the test that wanted it instead of skipping it.
 */
class TestVectorResourcesTest {

    @Test
    void aMissingVectorFileFailsTheTestAndNamesTheResource() {
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> CryptoTestSupport.loadVectors("no_such_vectors.json"));
        assertTrue(e.getMessage().contains("/testvectors/no_such_vectors.json"), e.getMessage());
    }

    @Test
    void theWycheproofLicenceShipsWithTheVectors() {
        assertTrue(CryptoTestSupport.class.getResource("/testvectors/LICENSE-wycheproof-Apache-2.0.txt") != null,
                "the Apache-2.0 licence of the Wycheproof vectors is on the test class path");
        assertTrue(CryptoTestSupport.class.getResource("/testvectors/README.md") != null,
                "the README naming the source and version of each vector file is on the test class path");
    }
}
