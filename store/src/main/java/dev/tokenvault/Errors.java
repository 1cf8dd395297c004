package dev.tokenvault;

import dev.tokenvault.engine.EngineException;
import java.util.function.Supplier;

/** The one mapping of storage failures onto the API's error codes, and the errors several parts raise. */
final class Errors {
    private Errors() {
    }

    /** The {@link TokenStoreException} an engine failure becomes; the message is the engine's (it holds no secret). */
    static TokenStoreException translate(EngineException e) {
        return new TokenStoreException(codeOf(e.kind()), e.getMessage(), e);
    }

    private static ErrorCode codeOf(EngineException.Kind kind) {
        return switch (kind) {
            case IO -> ErrorCode.IO;
            case LOCKED -> ErrorCode.LOCKED;
            case CORRUPT -> ErrorCode.CORRUPT;
            case CLOSED -> ErrorCode.CLOSED;
            case NOT_FOUND -> ErrorCode.NOT_FOUND;
            case UNSUPPORTED_FORMAT -> ErrorCode.UNSUPPORTED_FORMAT;
            case READ_ONLY -> ErrorCode.READ_ONLY;
            // what is left of another node's collision once the write path gave up retrying it
            case RETRY -> ErrorCode.CONFLICT;
        };
    }

    static TokenStoreException invalid(String message) {
        return new TokenStoreException(ErrorCode.INVALID_ARGUMENT, message);
    }

    /** {@code operation} called on a vault opened with {@link TokenVault.Builder#readOnly()}. */
    static TokenStoreException readOnly(String where, String operation) {
        return new TokenStoreException(ErrorCode.READ_ONLY, operation + " changes the store, and " + where
                + " was opened read-only; open it without readOnly() to change it");
    }

    static TokenStoreException notFound(String id) {
        return new TokenStoreException(ErrorCode.NOT_FOUND, "no token with id " + id);
    }

    /** {@code e} for the token at position {@code i} of a list. */
    static TokenStoreException atPosition(int i, TokenStoreException e) {
        return new TokenStoreException(e.code(), "tokens[" + i + "]: " + e.getMessage(), e);
    }

    /** Calls the engine through {@code body}; its failures become {@link TokenStoreException}s. */
    static <T> T call(Supplier<T> body) {
        try {
            return body.get();
        } catch (EngineException e) {
            throw translate(e);
        }
    }

    /** {@link #call} for a call without a result. */
    static void run(Runnable body) {
        try {
            body.run();
        } catch (EngineException e) {
            throw translate(e);
        }
    }
}
