package dev.tokenvault.cli;

import dev.tokenvault.ErrorCode;

/** The documented exit codes of the {@code tokenvault} command. */
public final class ExitCode {
    /** The command did what it was asked. */
    public static final int OK = 0;
    /** No token matched (find, get, delete). */
    public static final int NOT_FOUND = 1;
    /** Bad usage: unknown option, missing or contradictory arguments, an invalid value or key source. */
    public static final int USAGE = 2;
    /** The master key does not open the store, or a record or index entry failed its integrity check. */
    public static final int KEY_OR_INTEGRITY = 3;
    /** Another process (or another open store in this process) holds the store. */
    public static final int LOCKED = 4;
    /** The change conflicts with what exists: a token value held by another record, a file that exists. */
    public static final int CONFLICT = 5;
    /** Reading or writing a file, the store or a source database failed. */
    public static final int IO = 6;

    private ExitCode() {
    }

    /** The exit code for a store error. */
    static int of(ErrorCode code) {
        return switch (code) {
            case NOT_FOUND -> NOT_FOUND;
            case INVALID_ARGUMENT -> USAGE;
            case WRONG_KEY, INTEGRITY, CORRUPT -> KEY_OR_INTEGRITY;
            case LOCKED -> LOCKED;
            case CONFLICT -> CONFLICT;
            case IO, UNSUPPORTED_FORMAT, CLOSED, READ_ONLY -> IO;
        };
    }
}
