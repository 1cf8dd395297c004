package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Import of a row source into a vault, which the caller holds open (and so locked) throughout. Two passes over the
 * source, so that memory holds one chunk of rows, never the whole source:
 *
 * <ol>
 *   <li><b>Check</b>: every row on its own (the store's rules: id shape, field sizes, expiry digits, at least one
 *       token), against the other rows (no two share an id, user name, access, grant or refresh token; found by
 *       {@link Fingerprints}, not by keeping the values), and against the store (none of those values is held by a
 *       stored record). Problem rows are reported by id and place, never by a secret. Nothing is saved unless every
 *       row passes.</li>
 *   <li><b>Save</b>: the rows again, in chunks of {@link #CHUNK_ROWS}, each saved with
 *       {@link TokenVault#saveTokens}: one atomic, durable commit. So an import is all or nothing <em>per
 *       chunk</em>: when a chunk fails, or the process is stopped, the chunks before it stay saved and the report
 *       says which rows they were; {@code --resume} then skips the rows the store already holds identically.</li>
 * </ol>
 *
 * <p>With {@code resume}, a row whose id the store holds with the same ten fields counts as already imported; one
 * with the same id and other content is a conflict. A row without an id counts as already imported when a stored
 * record, found by the row's user name or tokens, has its fields apart from the id (the store gave the record its
 * id when an earlier run saved it); a stored record that shares a value but differs elsewhere is a conflict.
 */
final class Importer {
    /**
     * Rows per atomic commit. The library takes up to {@link TokenVault#MAX_TOKENS_PER_SAVE}; a commit holds its
     * records several times over while it runs (sealed records, the index and slot table pages each insert rewrites,
     * about 2 KB a page, the redo log entry), so smaller chunks keep the heap small (80,000 rows import under
     * {@code -Xmx96m}, {@code BigImportTest}; with chunks of 2,000 that ran out of heap once the store held tables
     * of 2 KB pages) at the cost of more fsyncs (one per chunk, about a millisecond each).
     */
    static final int CHUNK_ROWS = 500;

    /** The report lists at most this many problems; the counts cover all of them. */
    static final int MAX_REPORTED_PROBLEMS = 1_000;

    /** A problem with one row. */
    record Problem(long row, String place, String id, String kind, String message) {
        /** {@code id abc (line 4)}, or {@code line 4}. */
        String ref() {
            return id == null || id.isEmpty() ? place : "id " + id + " (" + place + ")";
        }
    }

    /**
     * The outcome of an import (or a dry run): rows read, tokens saved, rows skipped as already present, the problems
     * (at most {@link #MAX_REPORTED_PROBLEMS}, with the total count), whether any is a conflict, whether a stop
     * request ended it early, and the last row saved.
     */
    record Result(long rows, long saved, long alreadyPresent, List<Problem> problems, long problemCount,
                  long problemRows, boolean hasConflict, boolean stopped, String lastSaved) {
        boolean ok() {
            return problemCount == 0;
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

    private final TokenVault vault;
    private final boolean resume;
    private final Progress progress;
    private final BooleanSupplier stop;
    private final int chunkSize;
    private final Consumer<List<OAuthToken>> saveChunk;

    /**
     * @param stop       asked before each row and each chunk: when true, the import ends after the last whole
     *                   chunk (a shutdown hook sets it on SIGTERM)
     * @param chunkSize  rows per commit
     * @param saveChunk  saves one chunk atomically (tests inject failures and small chunks here)
     */
    Importer(TokenVault vault, boolean resume, Progress progress, BooleanSupplier stop, int chunkSize,
             Consumer<List<OAuthToken>> saveChunk) {
        this.vault = vault;
        this.resume = resume;
        this.progress = progress;
        this.stop = stop;
        this.chunkSize = chunkSize;
        this.saveChunk = saveChunk;
    }

    Importer(TokenVault vault, boolean resume, Progress progress, BooleanSupplier stop) {
        this(vault, resume, progress, stop, CHUNK_ROWS, vault::saveTokens);
    }

    /** Checks every row; saves them only when none has a problem and {@code dryRun} is false. */
    Result run(RowSource source, boolean dryRun) {
        Result checked;
        try {
            checked = check(source);
        } finally {
            progress.done();
        }
        if (!checked.ok() || dryRun || checked.stopped()) {
            return checked;
        }
        try {
            return save(source, checked.rows());
        } finally {
            progress.done();
        }
    }

    /** Pass 1: every problem, nothing written. */
    private Result check(RowSource source) {
        Fingerprints seen = new Fingerprints();
        List<Problem> problems = new ArrayList<>();
        long count = 0;
        long problemRows = 0;
        long rows = 0;
        long present = 0;
        boolean conflict = false;
        try (RowSource.Cursor cursor = source.open()) {
            for (SourceRow row = cursor.next(); row != null; row = cursor.next()) {
                if (stop.getAsBoolean()) {
                    return new Result(rows, 0, 0, problems, count, problemRows, conflict, true, null);
                }
                rows++;
                List<Problem> found = new ArrayList<>();
                for (Unique u : UNIQUE) {
                    String v = u.getter().apply(row.token());
                    if (v != null) {
                        long first = seen.putIfAbsent(u.label(), v, row.at());
                        if (first != 0) {
                            found.add(problem(row, "conflict", u.label() + " is the same as in " + row.unit() + " "
                                    + first));
                        }
                    }
                }
                if (verdict(row, found)) {
                    present++;
                }
                if (!found.isEmpty()) {
                    problemRows++;
                    count += found.size();
                    for (Problem p : found) {
                        conflict |= p.kind().equals("conflict");
                        if (problems.size() < MAX_REPORTED_PROBLEMS) {
                            problems.add(p);
                        }
                    }
                }
                progress.update("checking", rows, -1);
            }
        }
        return new Result(rows, 0, present, problems, count, problemRows, conflict, false, null);
    }

    /** Pass 2: the rows again, saved chunk by chunk; {@code expected} is the row count of pass 1. */
    private Result save(RowSource source, long expected) {
        List<OAuthToken> chunk = new ArrayList<>();
        List<SourceRow> chunkRows = new ArrayList<>();
        long rows = 0;
        long saved = 0;
        long present = 0;
        String lastSaved = null;
        boolean stopped = false;
        try (RowSource.Cursor cursor = source.open()) {
            for (SourceRow row = cursor.next(); row != null; row = cursor.next()) {
                if (stop.getAsBoolean()) {
                    stopped = true;
                    break;
                }
                rows++;
                List<Problem> found = new ArrayList<>();
                if (verdict(row, found)) {
                    present++;
                    continue;
                }
                if (!found.isEmpty()) {
                    throw new CliException(ExitCode.CONFLICT, "CHANGED", "the source changed between the check "
                            + "and the save: " + found.get(0).ref() + ": " + found.get(0).message() + "; "
                            + savedSoFar(saved, lastSaved));
                }
                chunk.add(row.token().copy());
                chunkRows.add(row);
                if (chunk.size() == chunkSize) {
                    saved += commit(chunk, chunkRows, saved, lastSaved);
                    lastSaved = chunkRows.get(chunkRows.size() - 1).ref();
                    chunk.clear();
                    chunkRows.clear();
                }
                progress.update("saving", rows, expected);
            }
            if (!stopped && !chunk.isEmpty()) {
                saved += commit(chunk, chunkRows, saved, lastSaved);
                lastSaved = chunkRows.get(chunkRows.size() - 1).ref();
            }
        }
        return new Result(rows, saved, present, List.of(), 0, 0, false, stopped, lastSaved);
    }

    private int commit(List<OAuthToken> chunk, List<SourceRow> rows, long savedBefore, String lastSaved) {
        try {
            saveChunk.accept(chunk);
            return chunk.size();
        } catch (RuntimeException | Error e) {
            String what = e instanceof TokenStoreException te ? "[" + te.code() + "] " + e.getMessage()
                    : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
            int code = e instanceof TokenStoreException te ? ExitCode.of(te.code()) : ExitCode.IO;
            if (code == ExitCode.USAGE || code == ExitCode.NOT_FOUND) {
                code = ExitCode.IO; // every row passed the check: the source or the store changed under us
            }
            throw new CliException(code, e instanceof TokenStoreException te ? te.code().name() : "IO",
                    "saving " + rows.get(0).ref() + " to " + rows.get(rows.size() - 1).ref() + " failed: " + what
                            + "; that chunk is one atomic commit, so none of its rows was saved; "
                            + savedSoFar(savedBefore, lastSaved), e);
        }
    }

    private static String savedSoFar(long saved, String lastSaved) {
        return saved == 0 ? "nothing was saved"
                : saved + " token(s) saved by earlier chunks (through " + lastSaved + ") stay in the store; "
                        + "rerun with --resume to import the rest";
    }

    /**
     * Checks one row on its own and against the store, adding its problems to {@code found}; returns {@code true}
     * when resuming and the store already holds the row identically (then nothing is added).
     */
    private boolean verdict(SourceRow row, List<Problem> found) {
        if (row.unreadable() != null) {
            found.add(problem(row, "invalid", row.unreadable()));
            return false;
        }
        OAuthToken t = row.token();
        String why = invalid(t);
        if (why != null) {
            found.add(problem(row, "invalid", why));
        }
        if (t.getId() != null && why == null) {
            OAuthToken stored = StoredHolders.byId(vault, t.getId());
            if (stored != null) {
                if (resume && stored.equals(t)) {
                    return true;
                }
                found.add(problem(row, "conflict", resume ? "id is already in the store, with other content"
                        : stored.equals(t) ? "id is already in the store, with the same content (saved by an earlier"
                                + " import? --resume skips such rows)"
                        : "id is already in the store"));
            }
        }
        if (resume && t.getId() == null && why == null && storedApartFromId(t)) {
            return true;
        }
        for (StoredHolders.Lookup lookup : StoredHolders.lookups(t)) {
            holder(row, lookup, found);
        }
        return false;
    }

    /**
     * Whether the store holds a record with every field of the id-less {@code t} (the id aside): an earlier run of
     * this import saved it, and the store gave it its id. Found by the first unique value {@code t} has; a record that
     * holds a value of {@code t} but differs elsewhere is left for the conflict checks.
     */
    private boolean storedApartFromId(OAuthToken t) {
        for (StoredHolders.Lookup lookup : StoredHolders.lookups(t)) {
            OAuthToken found = vault.findToken(lookup.query());
            if (found != null) {
                // findToken fills in only the query's absent fields: a grant or refresh token query keeps its
                // placeholder client id and secret, so compare the stored record itself
                OAuthToken stored = StoredHolders.byId(vault, found.getId());
                if (stored == null) {
                    return false;
                }
                stored.setId(null);
                return stored.equals(t);
            }
        }
        return false;
    }

    private void holder(SourceRow row, StoredHolders.Lookup lookup, List<Problem> found) {
        if (fieldTooLong(lookup.value())) {
            return;
        }
        OAuthToken holder = vault.findToken(lookup.query());
        if (holder != null) {
            found.add(problem(row, "conflict", lookup.label() + " is already held by record " + holder.getId()
                    + " in the store"));
        }
    }

    private static Problem problem(SourceRow row, String kind, String message) {
        return new Problem(row.row(), row.place(), row.token().getId(), kind, message);
    }

    /** The store's own rules for a new record, checked before anything is written; {@code null} when fine. */
    static String invalid(OAuthToken t) {
        try {
            TokenVault.validateNew(t);
            return null;
        } catch (TokenStoreException e) {
            return e.getMessage();
        }
    }

    private static boolean fieldTooLong(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length > TokenVault.MAX_FIELD_BYTES;
    }
}
