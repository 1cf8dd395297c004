package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;

/**
 * One row of an import source: where it is ({@code line 4} or {@code row 3}), the token it holds, or why it could not
 * be read. Problem reports name a row by its id and place, never by a secret.
 */
record SourceRow(String place, OAuthToken token, String unreadable) {
    static SourceRow of(String place, OAuthToken token) {
        return new SourceRow(place, token, null);
    }

    static SourceRow unreadable(String place, String id, String why) {
        return new SourceRow(place, OAuthToken.builder().id(id).build(), why);
    }

    /** {@code id abc (line 4)}, or {@code line 4} for a row without an id. */
    String ref() {
        String id = token.getId();
        return id == null || id.isEmpty() ? place : "id " + id + " (" + place + ")";
    }
}
