package dev.tokenvault;

import java.util.concurrent.locks.Lock;
import java.util.function.Supplier;

/**
 * Whether a vault may still be used: open, closed, or stopped because a write failed in a way that leaves its outcome
 * unknown. Shared by the facade and its parts, which check it before they touch the store.
 */
final class OpenState {
    private final String where;
    private volatile boolean closed;
    private volatile TokenStoreException stopped;

    OpenState(String where) {
        this.where = where;
    }

    /** The store's name in messages: its path, or "in-memory store". */
    String where() {
        return where;
    }

    boolean isClosed() {
        return closed;
    }

    void markClosed() {
        closed = true;
    }

    /** From now on every call fails with {@code reason}. */
    void stop(TokenStoreException reason) {
        stopped = reason;
    }

    /** @throws TokenStoreException {@code CLOSED} after close, or the reason the vault stopped */
    void check() {
        if (closed) {
            throw new TokenStoreException(ErrorCode.CLOSED, "the store " + where + " is closed");
        }
        TokenStoreException s = stopped;
        if (s != null) {
            throw new TokenStoreException(s.code(), s.getMessage(), s);
        }
    }

    /** Runs {@code body} holding {@code lock}, checked open before it waits for the lock and again once it holds it. */
    <T> T underLock(Lock lock, Supplier<T> body) {
        check();
        lock.lock();
        try {
            check();
            return body.get();
        } finally {
            lock.unlock();
        }
    }
}
