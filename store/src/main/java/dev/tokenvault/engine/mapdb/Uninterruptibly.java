package dev.tokenvault.engine.mapdb;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * Runs file I/O with the calling thread's interrupt flag cleared, and sets the flag again afterwards.
 *
 * <p>Why: the store's files are {@code FileChannel}s, and a channel that an interrupted thread writes, syncs or locks
 * closes for every thread ({@code ClosedByInterruptException}). The commit of a whole group of writers, a close, or
 * the reopen that brings the store back after a failed commit would then fail because one caller had been
 * interrupted. An interrupt that arrives during the I/O itself still closes the channel it lands in: that commit
 * fails, and the store goes back to its durable state through channels opened anew, here.
 */
final class Uninterruptibly {
    /** I/O that may throw {@link IOException}. */
    interface Io {
        void run() throws IOException;
    }

    private Uninterruptibly() {
    }

    static <T> T get(Supplier<T> io) {
        boolean interrupted = Thread.interrupted();
        try {
            return io.get();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static void run(Runnable io) {
        get(() -> {
            io.run();
            return null;
        });
    }

    static void io(Io io) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            io.run();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
