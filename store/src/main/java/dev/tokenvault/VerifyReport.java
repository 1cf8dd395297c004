package dev.tokenvault;

import java.util.List;

/**
 * What {@link TokenVault#verify()} found: how many records and index entries it checked, and one line per problem.
 * Problem lines name record ids and fields, never values.
 */
public record VerifyReport(long recordsChecked, long indexEntriesChecked, List<String> problems) {
    public VerifyReport {
        problems = List.copyOf(problems);
    }

    /** Whether every record opened and every index entry matched in both directions. */
    public boolean isClean() {
        return problems.isEmpty();
    }
}
