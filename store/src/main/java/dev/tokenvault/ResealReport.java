package dev.tokenvault;

import java.util.List;

/**
 * What {@link TokenVault#resealAll()} did. Problem lines name record ids, never values.
 *
 * @param recordsResealed     records moved to the current data key version by this call
 * @param currentKeyVersion   the data key version that seals new records after the call
 * @param removedKeyVersions  data key versions removed from the keyring (no record used them any more)
 * @param problems            records that could not be moved (they fail authentication and keep their version)
 */
public record ResealReport(long recordsResealed, int currentKeyVersion, List<Integer> removedKeyVersions,
                           List<String> problems) {
    public ResealReport {
        removedKeyVersions = List.copyOf(removedKeyVersions);
        problems = List.copyOf(problems);
    }
}
