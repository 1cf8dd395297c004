package dev.tokenvault;

import java.util.Map;

/**
 * A snapshot of a vault's counters.
 *
 * @param records               stored records
 * @param currentKeyVersion     the data key version that seals new records
 * @param sealsPerKeyVersion    seals made under each data key version still in the keyring (the nonce budget spent;
 *                              a new version begins at 2^30)
 * @param recordsPerKeyVersion  records sealed under each data key version, read from the record headers (versions no
 *                              record uses are absent; {@link TokenVault#resealAll()} moves every record to the
 *                              current version and removes the others from the keyring)
 * @param cacheHitRate          hits over lookups since open; 0 with the cache off or unused
 * @param cacheSize             cached lookups (approximate)
 */
public record VaultStats(long records, int currentKeyVersion, Map<Integer, Long> sealsPerKeyVersion,
                         Map<Integer, Long> recordsPerKeyVersion, double cacheHitRate, long cacheSize) {
    public VaultStats {
        sealsPerKeyVersion = Map.copyOf(sealsPerKeyVersion);
        recordsPerKeyVersion = Map.copyOf(recordsPerKeyVersion);
    }
}
