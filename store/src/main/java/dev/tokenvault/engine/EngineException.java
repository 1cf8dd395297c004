package dev.tokenvault.engine;

/** A storage failure, with a kind the caller maps onto its own error codes. Messages never hold record bytes. */
public final class EngineException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What failed. */
    public enum Kind {
        IO, LOCKED, CORRUPT, CLOSED,
        /** No store at the path, and the caller asked not to create one. */
        NOT_FOUND,
        /** The path holds a file that is not a store, or one of a newer format. */
        UNSUPPORTED_FORMAT,
        /**
         * A change asked of an engine opened read-only, or a read-only open of a store that only a writer may open now
         * (its redo log holds changes to replay).
         */
        READ_ONLY,
        /**
         * Another node changed what this write read or wrote, at the same time (a deadlock, a serialization failure, a
         * unique key taken by a concurrent insert): nothing of the write was applied, and running it again on fresh
         * state may succeed. Only engines shared between nodes raise it.
         */
        RETRY
    }

    private final Kind kind;

    public EngineException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public EngineException(Kind kind, String message) {
        this(kind, message, null);
    }

    public Kind kind() {
        return kind;
    }
}
