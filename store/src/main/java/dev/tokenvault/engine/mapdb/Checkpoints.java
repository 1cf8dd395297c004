package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import java.io.IOException;

/**
 * When the main file is synced and a half of the {@link RedoLog} retired. When a half holds
 * {@link RedoLog#CHECKPOINT_BYTES} after a commit, or a commit's record does not fit in it, appends move to the other
 * half and a thread of its own ({@code tokenvault-checkpoint}) syncs the main file, then retires the half left
 * behind.
 *
 * <p>Why a thread: at 1,000,000 tokens that sync writes back pages dirtied all over a gigabyte of file, hundreds of
 * milliseconds, which the commit that filled the half used to wait for. Only a switch that finds the previous
 * checkpoint still running waits for it now, and one that finds it failed (or finds a half that a replay left needed)
 * syncs the main file itself before it writes over that half.
 *
 * <p>Used by the volume's one writer, under MapDB's commit lock; the checkpoint thread touches only the half it
 * retires, and the writer joins it before it reads that half's state again.
 */
final class Checkpoints {
    /** Makes every byte written to the main file so far durable. */
    interface MainSync {
        void sync() throws IOException;
    }

    private final RedoLog log;
    private final MainSync main;
    private final CommitProbe probe;
    private final long halfBytes;
    /** The checkpoint of the half last left, while it may still run. */
    private Thread running;

    /** @param halfBytes bytes in a half after which a commit moves to the other ({@link RedoLog#CHECKPOINT_BYTES}) */
    Checkpoints(RedoLog log, MainSync main, CommitProbe probe, long halfBytes) {
        this.log = log;
        this.main = main;
        this.probe = probe;
        this.halfBytes = halfBytes;
    }

    /** Before a record of {@code recordBytes} is appended: moves to the other half when it does not fit in this one. */
    void beforeAppend(long recordBytes) throws IOException {
        if (!log.fits(recordBytes)) {
            switchHalves();
        }
    }

    /** After a commit was appended and applied: moves to the other half when this one is full. */
    void afterApply() throws IOException {
        if (log.size() >= halfBytes) {
            switchHalves();
        }
    }

    /**
     * Moves appends to the other half and starts the checkpoint of the half left. The other half must be free first:
     * this waits for its checkpoint, and syncs the main file here when none ran or it failed (the other half then
     * still holds records the main file may lack).
     */
    private void switchHalves() throws IOException {
        await();
        int other = 1 - log.half();
        if (log.needed(other) || log.reachesOtherHalf()) {
            main.sync();
            probe.reached("volume.checkpointed");
            if (log.needed(other)) {
                log.retire(other);
            }
            if (log.reachesOtherHalf()) {
                log.retire(log.half());
            }
        }
        int left = log.half();
        log.switchHalves();
        if (log.needed(left)) {
            Thread t = new Thread(() -> checkpoint(left), "tokenvault-checkpoint");
            t.setDaemon(true); // a JVM that exits meanwhile loses nothing: the half left replays at the next open
            running = t;
            t.start();
        }
    }

    /** The background checkpoint of half {@code left}; a failure leaves the half needed, for the next switch. */
    private void checkpoint(int left) {
        try {
            main.sync();
            probe.reached("volume.checkpointed");
            log.retire(left);
        } catch (Throwable t) {
            // Nothing is lost: the half stays needed, and the next switch (or the close) syncs the main file again
            // and reports a failure that persists.
        }
    }

    /** Waits for the background checkpoint, if one runs; an interrupt is kept for the caller, not acted on here. */
    void await() {
        Thread t = running;
        if (t == null) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        running = null;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** For the close: syncs the main file after every commit so far, so that no record of the log is needed. */
    void syncAll() throws IOException {
        await();
        main.sync();
        probe.reached("volume.checkpointed");
    }
}
