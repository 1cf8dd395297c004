package dev.tokenvault;

import java.util.Map;

/**
 * A snapshot of a vault's counters.
 *
 * @param records             stored records
 * @param currentKeyVersion   the data key version that seals new records
 * @param sealsPerKeyVersion  seals made under each data key version (the nonce budget spent)
 * @param cacheHitRate        hits over lookups since open; 0 with the cache off or unused
 * @param cacheSize           cached lookups (approximate)
 */
public record VaultStats(long records, int currentKeyVersion, Map<Integer, Long> sealsPerKeyVersion,
                         double cacheHitRate, long cacheSize) {
    public VaultStats {
        sealsPerKeyVersion = Map.copyOf(sealsPerKeyVersion);
    }
}
