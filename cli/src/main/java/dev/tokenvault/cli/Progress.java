package dev.tokenvault.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The progress line of a long command, rewritten in place on a terminal: {@code import: saving 120,000 of
 * 1,000,000 rows (12%, 31,000 rows/s)}. Shown only when standard error is a terminal and {@code --json} is not
 * given; otherwise every call does nothing.
 */
class Progress {
    /** Shows nothing. */
    static final Progress NONE = new Progress(null, "");

    private static final long EVERY_NANOS = 250_000_000L;

    private final PrintWriter terminal;
    private final String command;
    private String phase;
    private long phaseStart;
    private long lastShown;
    private int shownWidth;

    Progress(PrintWriter terminal, String command) {
        this.terminal = terminal;
        this.command = command;
    }

    /** Progress for {@code command}, or {@link #NONE} when there is no terminal or JSON is asked for. */
    static Progress of(Io io, boolean json, String command) {
        return io.progress == null || json ? NONE : new Progress(io.progress, command);
    }

    /** {@code done} records of {@code total} ({@code total < 0}: not known) in {@code phase}. */
    void update(String phase, long done, long total) {
        if (terminal == null) {
            return;
        }
        long now = System.nanoTime();
        if (!phase.equals(this.phase)) {
            this.phase = phase;
            phaseStart = now;
        } else if (now - lastShown < EVERY_NANOS) {
            return;
        }
        lastShown = now;
        double seconds = Math.max(1e-3, (now - phaseStart) / 1e9);
        String text = String.format(Locale.ROOT, "%s: %s %,d%s rows%s (%,.0f rows/s)", command, phase, done,
                total >= 0 ? " of " + String.format(Locale.ROOT, "%,d", total) : "",
                total > 0 ? String.format(Locale.ROOT, ", %d%%", done * 100 / total) : "", done / seconds);
        show(text);
    }

    void show(String text) {
        String padded = text.length() < shownWidth ? text + " ".repeat(shownWidth - text.length()) : text;
        shownWidth = text.length();
        terminal.print("\r" + padded);
        terminal.flush();
    }

    /** Clears the line, so that what follows starts at its beginning. */
    void done() {
        if (terminal == null || shownWidth == 0) {
            return;
        }
        terminal.print("\r" + " ".repeat(shownWidth) + "\r");
        terminal.flush();
        shownWidth = 0;
    }

    /**
     * For a library call that reports no progress: {@code verify: working… 12 s}, updated each second by a daemon
     * thread until {@link Ticker#close()}.
     */
    Ticker ticking() {
        return new Ticker(this);
    }

    static final class Ticker implements AutoCloseable {
        private final Progress progress;
        private final Thread thread;

        Ticker(Progress progress) {
            this.progress = progress;
            if (progress.terminal == null) {
                thread = null;
                return;
            }
            long start = System.nanoTime();
            thread = new Thread(() -> {
                try {
                    while (true) {
                        synchronized (progress) {
                            progress.show(progress.command + ": working\u2026 "
                                    + (System.nanoTime() - start) / 1_000_000_000L + " s");
                        }
                        Thread.sleep(1_000);
                    }
                } catch (InterruptedException e) {
                    // closed
                }
            }, "tokenvault-progress");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() {
            if (thread == null) {
                return;
            }
            thread.interrupt();
            try {
                thread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (progress) {
                progress.done();
            }
        }
    }
}
