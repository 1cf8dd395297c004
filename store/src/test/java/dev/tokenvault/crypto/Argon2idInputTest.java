package dev.tokenvault.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What Argon2id accepts: parameters within fixed bounds, passphrases as strict NFC UTF-8. */
class Argon2idInputTest {
    private static final byte[] SALT = new byte[16];
    private static final Argon2id.Params SMALL = new Argon2id.Params(32, 1, 1);

    @Test
    void parametersOutsideTheFixedBoundsAreRefusedBeforeAnyAllocation() {
        new Argon2id.Params(Argon2id.MAX_MEMORY_KIB, Argon2id.MAX_ITERATIONS, Argon2id.MAX_PARALLELISM);
        int[][] bad = {
            {Argon2id.MAX_MEMORY_KIB + 1, 3, 4},
            {4 * 1024 * 1024, 3, 4},                 // 4 GiB
            {64 * 1024, Argon2id.MAX_ITERATIONS + 1, 4},
            {64 * 1024, Integer.MAX_VALUE, 4},
            {64 * 1024, 3, Argon2id.MAX_PARALLELISM + 1},
            {0, 3, 0x2000_0000},                     // 8 * p would overflow to 0
            {64 * 1024, 3, Integer.MIN_VALUE},
        };
        for (int[] p : bad) {
            assertThrows(IllegalArgumentException.class, () -> new Argon2id.Params(p[0], p[1], p[2]));
        }
    }

    @Test
    void anUnpairedSurrogateIsRefusedNotTurnedIntoAQuestionMark() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Argon2id.deriveKey("Zq\uD800".toCharArray(), SALT, SMALL));
        assertFalse(e.getMessage().contains("Zq"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Argon2id.passphraseBytes("\uDC00".toCharArray()));
        assertArrayEquals("x?".getBytes(StandardCharsets.UTF_8), Argon2id.passphraseBytes("x?".toCharArray()));
    }

    @Test
    void composedAndDecomposedFormsDeriveTheSameKey() {
        char[] composed = "\u00c5ngstr\u00f6m".toCharArray();
        char[] decomposed = "A\u030angstro\u0308m".toCharArray();
        assertArrayEquals(Argon2id.passphraseBytes(composed), Argon2id.passphraseBytes(decomposed));
        assertTrue(Argon2id.deriveKey(composed, SALT, SMALL).sameBytes(Argon2id.deriveKey(decomposed, SALT, SMALL)));
        assertFalse(Argon2id.deriveKey(composed, SALT, SMALL)
                .sameBytes(Argon2id.deriveKey("Angstrom".toCharArray(), SALT, SMALL)));
    }
}
