package dev.tokenvault.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * SIGTERM or Ctrl-C during an import: the shutdown hook asks the import to stop, then waits until the import has
 * finished the commit in progress (each is atomic) and printed what was saved, so the process never ends in the
 * middle of a report. At most {@link #GRACE_SECONDS}: a commit of 10,000 tokens takes a second or two.
 */
final class StopRequest {
    static final long GRACE_SECONDS = 60;

    private volatile boolean requested;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    private StopRequest(boolean withHook) {
        hook = withHook ? new Thread(this::stopAndWait, "tokenvault-stop") : null;
    }

    /** A request that the JVM's shutdown (SIGTERM, SIGINT) makes. */
    static StopRequest onShutdown() {
        StopRequest s = new StopRequest(true);
        Runtime.getRuntime().addShutdownHook(s.hook);
        return s;
    }

    boolean requested() {
        return requested;
    }

    /** Asks to stop (what the hook does first). */
    void request() {
        requested = true;
    }

    private void stopAndWait() {
        request();
        try {
            finished.await(GRACE_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The import has ended and reported: the hook may let the JVM go; removed when the JVM is not shutting down. */
    void release() {
        finished.countDown();
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down: the hook is running and returns now
            }
        }
    }
}
