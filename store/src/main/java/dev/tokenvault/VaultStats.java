package dev.tokenvault;

import java.time.Duration;
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
 * @param refreshSingleFlight   the counters of {@link TokenVault.Builder#refreshSingleFlight} since open
 */
public record VaultStats(long records, int currentKeyVersion, Map<Integer, Long> sealsPerKeyVersion,
                         Map<Integer, Long> recordsPerKeyVersion, double cacheHitRate, long cacheSize,
                         SingleFlight refreshSingleFlight) {
    public VaultStats {
        sealsPerKeyVersion = Map.copyOf(sealsPerKeyVersion);
        recordsPerKeyVersion = Map.copyOf(recordsPerKeyVersion);
    }

    /**
     * Counters of refresh single-flight since open; all zero when it is off.
     *
     * @param leasesGranted leases taken: finds that got a record about to expire and were left to refresh it
     * @param waits         finds that waited for another caller's refresh
     * @param waitsTimedOut of those, the waits that ended without a refreshed record: the lease they waited for
     *                      ended with no save (after {@code maxWait}, or its holder's thread died) and they got
     *                      the record as stored (one of them with the next lease), or they reached
     *                      2 x {@code maxWait}
     * @param longestWait   the longest wait
     */
    public record SingleFlight(long leasesGranted, long waits, long waitsTimedOut, Duration longestWait) {
        static final SingleFlight OFF = new SingleFlight(0, 0, 0, Duration.ZERO);
    }
}
