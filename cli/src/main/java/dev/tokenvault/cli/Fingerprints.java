package dev.tokenvault.cli;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * Finds values that two rows of an import share, without keeping the values: a set of 64-bit keyed fingerprints,
 * each with the number of the first row that held it. 12 bytes a slot, at most half the slots used: about 24 bytes
 * per value (100 MB for the four values of each of 1,000,000 rows; the values themselves would take 20 times
 * that). Two different values share a fingerprint with a probability of about n^2 / 2^65 (below 10^-6 at four
 * million values); such a pair would be reported as a duplicate, never missed.
 */
final class Fingerprints {
    private final long seed = new SecureRandom().nextLong();
    private long[] keys = new long[1 << 12];
    private int[] rows = new int[1 << 12];
    private int size;

    /**
     * Records {@code value} of field {@code label} as seen in {@code row}; returns the number of the first row that
     * held it, or 0 when none did.
     */
    long putIfAbsent(String label, String value, long row) {
        if (row <= 0 || row > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("row must be between 1 and " + Integer.MAX_VALUE);
        }
        long key = fingerprint(label, value);
        int mask = keys.length - 1;
        for (int i = (int) key & mask; ; i = (i + 1) & mask) {
            if (rows[i] == 0) {
                keys[i] = key;
                rows[i] = (int) row;
                if (++size * 2 > keys.length) {
                    grow();
                }
                return 0;
            }
            if (keys[i] == key) {
                return rows[i];
            }
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldRows = rows;
        keys = new long[oldKeys.length * 2];
        rows = new int[oldKeys.length * 2];
        int mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldRows[j] != 0) {
                int i = (int) oldKeys[j] & mask;
                while (rows[i] != 0) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                rows[i] = oldRows[j];
            }
        }
    }

    /** A seeded 64-bit hash of the label and the value's UTF-8 bytes (FNV-1a steps, then a murmur finaliser). */
    private long fingerprint(String label, String value) {
        long h = seed ^ 0xcbf29ce484222325L;
        for (byte b : (label + '\0' + value).getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb93fe63e3a07L;
        return h ^ (h >>> 33);
    }
}
