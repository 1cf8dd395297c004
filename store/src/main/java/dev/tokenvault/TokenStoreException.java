package dev.tokenvault;

import java.util.Objects;

/**
 * The one exception type of the tokenvault API. Its {@link #code()} says what went wrong; its message names the
 * field and the rule involved and never contains a token, a client secret or key material.
 */
public class TokenStoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public TokenStoreException(ErrorCode code, String message) {
        super(message);
        this.code = Objects.requireNonNull(code, "code");
    }

    public TokenStoreException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** The reason for the failure. */
    public ErrorCode code() {
        return code;
    }

    @Override
    public String toString() {
        return getClass().getName() + ": [" + code + "] " + getMessage();
    }
}
