package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * All-or-nothing import of source rows into a vault, which the caller holds open (and so locked) throughout.
 *
 * <ol>
 *   <li>Every row is checked on its own (the store's rules: id shape, field sizes, expiry digits, at least one
 *       token), against the other rows (no two rows share an id, user name, access, grant or refresh token), and
 *       against the store (none of those values is held by a stored record). Every problem row is reported, by id
 *       and place, never by a secret.</li>
 *   <li>Only when no row has a problem are the rows saved with {@link TokenVault#saveTokens}: one atomic, durable
 *       commit for up to {@link TokenVault#MAX_TOKENS_PER_SAVE} rows, so an import of that size is all or nothing
 *       even if the process is killed. A larger import is saved in chunks of that size; if a chunk fails, the
 *       chunks saved before it are deleted again and the failure is reported (a crash between chunks leaves the
 *       earlier chunks, which a rerun reports as conflicts by id).</li>
 * </ol>
 */
final class Importer {
    /** A problem with one row. */
    record Problem(String row, String id, String kind, String message) { }

    /** The outcome of an import (or a dry run). */
    record Result(int rows, List<Problem> problems, List<String> insertedIds) {
        boolean hasConflict() {
            return problems.stream().anyMatch(p -> p.kind().equals("conflict"));
        }
    }

    private record Unique(String label, Function<OAuthToken, String> getter) { }

    private static final Unique[] UNIQUE = {
        new Unique("id", OAuthToken::getId),
        new Unique("userName", OAuthToken::getUserName),
        new Unique("accessToken", OAuthToken::getAccessToken),
        new Unique("grantToken", OAuthToken::getGrantToken),
        new Unique("refreshToken", OAuthToken::getRefreshToken),
    };

    private Importer() {
    }

    /** Checks every row; saves them only when none has a problem and {@code dryRun} is false. */
    static Result run(TokenVault vault, List<SourceRow> rows, boolean dryRun) {
        return run(vault, rows, dryRun, TokenVault.MAX_TOKENS_PER_SAVE, vault::saveTokens);
    }

    /**
     * As {@link #run(TokenVault, List, boolean)}, saving chunks of {@code chunkSize} rows through {@code saveChunk}
     * (tests inject failures and small chunks here).
     */
    static Result run(TokenVault vault, List<SourceRow> rows, boolean dryRun, int chunkSize,
                      Consumer<List<OAuthToken>> saveChunk) {
        List<Problem> problems = new ArrayList<>();
        for (SourceRow row : rows) {
            if (row.unreadable() != null) {
                problems.add(problem(row, "invalid", row.unreadable()));
            } else {
                String why = invalid(row.token());
                if (why != null) {
                    problems.add(problem(row, "invalid", why));
                }
            }
        }
        // Duplicates among the rows.
        for (Unique u : UNIQUE) {
            Map<String, SourceRow> seen = new HashMap<>();
            for (SourceRow row : rows) {
                String v = u.getter().apply(row.token());
                if (v == null) {
                    continue;
                }
                SourceRow first = seen.putIfAbsent(v, row);
                if (first != null) {
                    problems.add(problem(row, "conflict", u.label() + " is the same as in " + first.ref()));
                }
            }
        }
        // Conflicts with the store: O(1) lookups under the contract's rules.
        for (SourceRow row : rows) {
            if (row.unreadable() != null) {
                continue;
            }
            OAuthToken t = row.token();
            if (t.getId() != null && invalid(t) == null) {
                try {
                    vault.findTokenById(t.getId());
                    problems.add(problem(row, "conflict", "id is already in the store"));
                } catch (TokenStoreException e) {
                    if (e.code() != dev.tokenvault.ErrorCode.NOT_FOUND) {
                        throw e;
                    }
                }
            }
            holder(vault, row, "userName", OAuthToken.builder().userName(t.getUserName()).build(),
                    t.getUserName(), problems);
            holder(vault, row, "accessToken", OAuthToken.builder().accessToken(t.getAccessToken()).build(),
                    t.getAccessToken(), problems);
            // Rule 3 finds by grant or refresh token whenever client id and secret are both present; their
            // values do not take part in the match.
            holder(vault, row, "grantToken", OAuthToken.builder().grantToken(t.getGrantToken())
                    .clientId("-").clientSecret("-").build(), t.getGrantToken(), problems);
            holder(vault, row, "refreshToken", OAuthToken.builder().refreshToken(t.getRefreshToken())
                    .clientId("-").clientSecret("-").build(), t.getRefreshToken(), problems);
        }
        if (!problems.isEmpty() || dryRun) {
            // In source order, so that a report reads top to bottom like the file.
            Map<String, Integer> position = new HashMap<>();
            for (int i = 0; i < rows.size(); i++) {
                position.putIfAbsent(rows.get(i).ref(), i);
            }
            problems.sort(java.util.Comparator.comparingInt(p -> position.getOrDefault(p.row(), Integer.MAX_VALUE)));
            return new Result(rows.size(), problems, List.of());
        }
        List<String> inserted = new ArrayList<>();
        for (int start = 0; start < rows.size(); start += chunkSize) {
            List<SourceRow> chunk = rows.subList(start, Math.min(rows.size(), start + chunkSize));
            List<OAuthToken> copies = new ArrayList<>(chunk.size());
            chunk.forEach(row -> copies.add(row.token().copy()));
            try {
                saveChunk.accept(copies);
            } catch (RuntimeException e) {
                throw rollback(vault, inserted, chunk, e);
            }
            copies.forEach(t -> inserted.add(t.getId()));
        }
        return new Result(rows.size(), List.of(), inserted);
    }

    private static void holder(TokenVault vault, SourceRow row, String label, OAuthToken query, String value,
                               List<Problem> problems) {
        if (value == null || fieldTooLong(value)) {
            return;
        }
        OAuthToken found = vault.findToken(query);
        if (found != null) {
            problems.add(problem(row, "conflict", label + " is already held by record " + found.getId()
                    + " in the store"));
        }
    }

    private static CliException rollback(TokenVault vault, List<String> inserted, List<SourceRow> failed,
                                         RuntimeException cause) {
        // A chunk is one atomic commit: when it fails, none of its rows was saved. Undo the chunks before it.
        List<String> left = new ArrayList<>();
        for (int i = inserted.size() - 1; i >= 0; i--) {
            try {
                vault.deleteToken(inserted.get(i));
            } catch (RuntimeException e) {
                left.add(inserted.get(i));
            }
        }
        String rowsFailed = failed.size() == 1 ? failed.get(0).ref()
                : failed.get(0).ref() + " to " + failed.get(failed.size() - 1).ref();
        String why = cause instanceof TokenStoreException te ? "[" + te.code() + "] " + te.getMessage()
                : cause.toString();
        int code = cause instanceof TokenStoreException te ? ExitCode.of(te.code()) : ExitCode.IO;
        if (left.isEmpty()) {
            return new CliException(code, "IMPORT_FAILED", "saving " + rowsFailed + " failed: " + why
                    + "; removed the " + inserted.size() + " token(s) this import had saved, the store is as before",
                    cause);
        }
        return new CliException(code, "IMPORT_FAILED", "saving " + rowsFailed + " failed: " + why
                + "; could not remove " + left.size() + " token(s) this import saved: " + String.join(", ", left)
                + " (remove them with `tokenvault delete ID`)", cause);
    }

    private static Problem problem(SourceRow row, String kind, String message) {
        return new Problem(row.ref(), row.token().getId(), kind, message);
    }

    /** The store's rules for a new record, checked before anything is written; {@code null} when fine. */
    static String invalid(OAuthToken t) {
        try {
            TokenVault.validate(t);
        } catch (TokenStoreException e) {
            return e.getMessage();
        }
        if (t.getAccessToken() == null && t.getRefreshToken() == null && t.getGrantToken() == null) {
            return "has none of access_token, refresh_token or grant_token";
        }
        return null;
    }

    private static boolean fieldTooLong(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length > TokenVault.MAX_FIELD_BYTES;
    }
}
