package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BiConsumer;

/**
 * How MapDB's failures become {@link EngineException}s. MapDB meets a damaged file with whatever exception its code
 * happens to throw, and wraps I/O failures in its own; these name them for what they are.
 */
final class MapDbErrors {
    private MapDbErrors() {
    }

    /** A failure while reading {@code path} ({@code null} in memory): the file is damaged. */
    static EngineException damaged(Path path, Throwable e) {
        return new EngineException(EngineException.Kind.CORRUPT,
                "store file " + (path == null ? "in memory" : path) + " is damaged: " + rootMessage(e), e);
    }

    /** What an I/O failure or MapDB's wrapping of one says, without the MapDB advice. */
    static String ioReason(Throwable e) {
        return e instanceof IOException io ? StoreFile.reason(io) : rootMessage(e);
    }

    /** Whether {@code e} is or wraps an I/O failure (then the file system failed, not the file's content). */
    static boolean isIo(Throwable e) {
        return e instanceof IOException || hasIoCause(e);
    }

    /** MapDB's words for damage, without its advice about its own API. */
    static String damage(Throwable e) {
        String root = rootMessage(e);
        return root.startsWith("Header checksum broken") ? "its header fails its checksum" : root;
    }

    private static boolean hasIoCause(Throwable t) {
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r.getMessage() == null ? r.getClass().getSimpleName() : r.getMessage();
    }

    /** Carries what a caller's callback threw out of a read, so that it is not taken for damage. */
    static final class CallbackFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final Throwable thrown;

        CallbackFailure(Throwable thrown) {
            super(null, null, false, false);
            this.thrown = thrown;
        }

        /** Throws what the callback threw if it is an {@code Error}; else returns it, for the caller to throw. */
        RuntimeException unwrap() {
            if (thrown instanceof Error err) {
                throw err;
            }
            return (RuntimeException) thrown;
        }
    }

    /** Calls {@code action} as the caller's code, outside a read's translation of damage. */
    static <A, B> void callBack(BiConsumer<A, B> action, A a, B b) {
        try {
            action.accept(a, b);
        } catch (RuntimeException | Error e) {
            throw new CallbackFailure(e);
        }
    }
}
