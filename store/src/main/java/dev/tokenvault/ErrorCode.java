package dev.tokenvault;

/**
 * Why a {@link TokenStore} call failed. Every {@link TokenStoreException} carries exactly one code; callers
 * branch on the code, never on the message.
 */
public enum ErrorCode {
    /** An argument broke a documented rule (null, too long, malformed). Nothing was written. */
    INVALID_ARGUMENT,
    /** No record has the requested id; or no store is at the path of an open told not to create one. */
    NOT_FOUND,
    /** The change would give two records the same user name, access, grant or refresh token. Nothing was written. */
    CONFLICT,
    /** The master key does not open this store (or the store header was altered). Nothing was read or written. */
    WRONG_KEY,
    /** A sealed record or index entry failed authentication or did not match its lookup; it was not returned. */
    INTEGRITY,
    /** Another opener (in this process or another) holds the store. */
    LOCKED,
    /** The store was closed. */
    CLOSED,
    /** The store's files are damaged beyond what recovery at open can repair. */
    CORRUPT,
    /** The file system failed (disk full, permissions, read-only file). The change that failed was not applied. */
    IO,
    /**
     * The file is not a tokenvault store (an empty file included), or was written by a newer format version. The file
     * was left exactly as it was.
     */
    UNSUPPORTED_FORMAT,
    /**
     * A change (save, delete, key rotation, reseal, repair, compaction) was asked of a vault opened with
     * {@link TokenVault.Builder#readOnly()}; or a read-only open met a store that needs a writer first (a crash left
     * changes in its redo log). Nothing was written.
     */
    READ_ONLY
}
