package dev.tokenvault;

import java.util.List;

/**
 * What {@link TokenVault#repair()} found and did. Problem lines name record ids and fields, never values.
 *
 * @param before          the verification that decided whether to rebuild
 * @param rebuilt         whether the index maps were rebuilt from the records ({@code false} when {@code before} was
 *                        clean)
 * @param recordsIndexed  records that opened and were indexed by the rebuild
 * @param problems        what the rebuild could not index: records that fail authentication (reported, never guessed
 *                        at) and values that two records share (neither record is indexed by such a value)
 */
public record RepairReport(VerifyReport before, boolean rebuilt, long recordsIndexed, List<String> problems) {
    public RepairReport {
        problems = List.copyOf(problems);
    }
}
