package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;

/**
 * One row of an import source: its number among the data rows (1 for the first), where it is ({@code line 4} of a
 * file, {@code row 3} of a table: {@code unit} and {@code at}), the token it holds, or why it could not be read.
 * Problem reports name a row by its id and place, never by a secret.
 */
record SourceRow(long row, String unit, long at, OAuthToken token, String unreadable) {
    static SourceRow of(long row, String unit, long at, OAuthToken token) {
        return new SourceRow(row, unit, at, token, null);
    }

    static SourceRow unreadable(long row, String unit, long at, String id, String why) {
        return new SourceRow(row, unit, at, OAuthToken.builder().id(id).build(), why);
    }

    /** {@code line 4} */
    String place() {
        return unit + " " + at;
    }

    /** {@code id abc (line 4)}, or {@code line 4} for a row without an id. */
    String ref() {
        String id = token.getId();
        return id == null || id.isEmpty() ? place() : "id " + id + " (" + place() + ")";
    }
}
