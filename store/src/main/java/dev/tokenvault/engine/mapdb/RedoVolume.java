package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.mapdb.CC;
import org.mapdb.DBException;
import org.mapdb.DataIO;
import org.mapdb.volume.Volume;

/**
 * The MapDB main-file volume with redo: writes are held in memory until {@link #sync()}, which appends them to the
 * {@link RedoLog}, fsyncs it, and only then writes them to the main file. So a commit costs one fsync of a small
 * sequential write.
 *
 * <p>The main file is read through MapDB's memory mapping and written through a {@link FileChannel} of its own
 * ({@link #onFile}); both see the same page cache. Why not write through the mapping: after a checkpoint has written
 * a page back, the next store to it through the mapping takes a write fault (the file system's {@code page_mkwrite}),
 * and a save at 1,000,000 tokens touches four or five such pages, scattered: 125 us of a save's apply against 40 us
 * with positional writes (bench/README.md). And {@link FileChannel#force} is then guaranteed to sync every byte a
 * commit wrote, which Java promises only for writes through the channel.
 *
 * <p>Checkpoints ({@link Checkpoints}): every {@link RedoLog#CHECKPOINT_BYTES} of log, a thread of the volume's own
 * syncs the main file, so that no commit waits for it.
 *
 * <p>MapDB's {@code StoreWAL} writes to this volume only inside {@code commit()} (and when it creates a file), while
 * holding all of its locks, so reads meet pending writes only in that window; they still see them (overlay).
 *
 * <p>A commit's fsync and apply can run after MapDB's commit has returned ({@link #deferCompletion}), so that the
 * engine lets readers in while the disk works: from the moment its record is written, the commit's writes are
 * {@link #unapplied}, and every read of a range they touch takes their bytes over the main file's until the last one
 * is applied. Readers then see the commit before its fsync returns, as they see a staged batch before its commit; a
 * commit whose fsync fails is undone by reopening the files, as after any failed commit.
 */
final class RedoVolume extends CheckedReads {
    /** Where commits are written and synced; null without a file (in memory, tests): then {@link #main}. */
    private final FileChannel mainFile;
    private final RedoLog log; // null for an in-memory store
    private final List<RedoLog.Write> pending = new ArrayList<>();
    private final CommitProbe probe;
    /** A read-only store's volume: the main file is mapped read-only, and a commit that changes a byte fails. */
    private final boolean readOnly;
    private volatile boolean dirty;
    /** Commits that reached their commit point: once the count moves, the commit is durable whatever follows. */
    private long committed;
    /** Finds what a commit changes: only that is logged and applied. */
    private final ChangedRanges changes;
    /** When the main file is synced and a half of the log retired; null without a log. */
    private final Checkpoints checkpoints;
    /**
     * The last commit's writes while they are not all in the main file: readers lay them over it. Set and cleared by
     * the committing thread; read by readers that the engine lets in while the commit completes.
     */
    private volatile LoggedWrites unapplied;
    /** A commit whose record is written and not yet synced and applied: {@link #completeCommit}'s work. */
    private LoggedWrites prepared;
    /** Whether {@link #sync} leaves the fsync and apply to the caller's {@link #completeCommit}. */
    private boolean deferCompletion;

    /**
     * The volume of a writable store file: {@code mapped} (MapDB's mapping of it) for reads, a channel of the file for
     * writes and syncs, and {@code log}.
     */
    static RedoVolume onFile(Volume mapped, RedoLog log, CommitProbe probe) throws IOException {
        FileChannel channel = PrivateFiles.openExisting(mapped.getFile().toPath(), StandardOpenOption.WRITE);
        return new RedoVolume(mapped, channel, log, probe, false, RedoLog.CHECKPOINT_BYTES);
    }

    /** A volume without a file (a store in memory): commits go to {@code main} itself, and there is no log. */
    static RedoVolume inMemory(Volume main, CommitProbe probe) {
        return new RedoVolume(main, null, null, probe, false, RedoLog.CHECKPOINT_BYTES);
    }

    /**
     * Test seam: commits written to and synced on {@code main} itself, with {@code log}, checkpointing after
     * {@code checkpointBytes} of log in a half instead of {@link RedoLog#CHECKPOINT_BYTES}.
     */
    RedoVolume(Volume main, RedoLog log, CommitProbe probe, long checkpointBytes) {
        this(main, null, log, probe, false, checkpointBytes);
    }

    private RedoVolume(Volume main, FileChannel mainFile, RedoLog log, CommitProbe probe, boolean readOnly,
                       long checkpointBytes) {
        super(main);
        this.mainFile = mainFile;
        this.log = log;
        this.readOnly = readOnly;
        this.probe = probe;
        this.changes = new ChangedRanges(main);
        if (log != null) {
            log.probe(probe);
        }
        this.checkpoints = log == null ? null : new Checkpoints(log, this::syncMain, probe, checkpointBytes);
    }

    /**
     * The volume of a store opened read-only, over {@code main} mapped read-only: no log, and a commit that would
     * change a byte fails instead of writing (the engine never commits one; this is the guard behind it).
     */
    static RedoVolume readOnly(Volume main) {
        return new RedoVolume(main, null, null, CommitProbe.NONE, true, RedoLog.CHECKPOINT_BYTES);
    }

    /**
     * How many of this volume's commits have passed their commit point: the redo record written and synced (for a
     * store in memory, the first write to the main volume). A commit that fails after this point is durable all the
     * same, since the next open replays it.
     */
    long committed() {
        return committed;
    }

    private void add(long offset, byte[] bytes) {
        pending.add(new RedoLog.Write(offset, bytes));
        dirty = true;
    }

    /**
     * Grows the main file to the whole page that holds {@code offset}. Growing it with zeros changes no committed byte,
     * so it is not logged. The growth is {@link RedoLog#extend}'s, which changes the length once, from one whole page
     * to the next: MapDB's own (its mapping's "preclear", disabled in {@link MapDbFiles#mappedVolume}) writes its zeros
     * 1 KiB at a time, so a kill in the middle of it left a length that the next open refused as a store cut short.
     */
    @Override
    public void ensureAvailable(long offset) {
        long wholePages = DataIO.roundUp(offset, 1L << CC.PAGE_SHIFT);
        if (mainFile != null && wholePages > length) {
            try {
                RedoLog.extend(mainFile, wholePages);
            } catch (IOException e) {
                throw new DBException.VolumeIOError(e);
            }
        }
        main.ensureAvailable(offset);
        length = main.length();
    }

    @Override
    public void truncate(long size) {
        throw new UnsupportedOperationException("tokenvault never truncates the main file in place");
    }

    @Override
    public void putLong(long offset, long value) {
        add(offset, ByteBuffer.allocate(8).putLong(value).array());
    }

    @Override
    public void putInt(long offset, int value) {
        add(offset, ByteBuffer.allocate(4).putInt(value).array());
    }

    @Override
    public void putByte(long offset, byte value) {
        add(offset, new byte[] {value});
    }

    @Override
    public void putData(long offset, byte[] src, int srcPos, int srcSize) {
        byte[] copy = new byte[srcSize];
        System.arraycopy(src, srcPos, copy, 0, srcSize);
        add(offset, copy);
    }

    @Override
    public void putData(long offset, ByteBuffer buf) {
        byte[] copy = new byte[buf.remaining()];
        buf.get(copy);
        add(offset, copy);
    }

    @Override
    public void clear(long startOffset, long endOffset) {
        add(startOffset, new byte[(int) (endOffset - startOffset)]);
    }

    @Override
    boolean overlaid(long offset, long size) {
        if (dirty) {
            return true;
        }
        LoggedWrites u = unapplied;
        return u != null && u.overlaps(offset, size);
    }

    /** Main-file bytes with the unapplied commit's writes, then the pending ones, laid over them in order. */
    @Override
    byte[] read(long offset, int size) {
        // Taken before the main file is read: the apply may finish during that read and clear the field, and the bytes
        // read may still be the ones from before the commit. Laying over writes already applied changes nothing.
        LoggedWrites u = unapplied;
        byte[] out = new byte[size];
        if (offset < length) {
            int fromMain = (int) Math.min(size, length - offset);
            main.getData(offset, out, 0, fromMain);
        }
        if (u != null) {
            LoggedWrites.layOver(u.writes(), out, offset);
        }
        if (dirty) {
            LoggedWrites.layOver(pending, out, offset);
        }
        return out;
    }

    /**
     * While {@code defer} is set, {@link #sync} writes a commit's redo record and returns: the caller then runs
     * {@link #completeCommit}, which syncs and applies it. Only a volume with a log defers; in memory there is no
     * fsync to wait for.
     */
    void deferCompletion(boolean defer) {
        this.deferCompletion = defer && log != null;
    }

    /**
     * Makes the pending writes durable (log first), then applies them to the main file: only the ranges they change
     * ({@link ChangedRanges}), since MapDB rewrites its whole header at every commit. With {@link #deferCompletion}
     * set, only writes the redo record, and leaves the rest to {@link #completeCommit}.
     */
    @Override
    public void sync() {
        if (pending.isEmpty()) {
            return;
        }
        completeCommit(); // commits complete in order: a prepared one goes first (the engine never leaves one)
        List<RedoLog.Write> changed = changes.of(pending, length);
        pending.clear();
        dirty = false;
        if (changed.isEmpty()) {
            // A commit that changes no byte leaves the files, and their modification times, alone (so a read-only
            // open and close writes nothing).
            return;
        }
        if (readOnly) {
            throw new DBException.VolumeIOError(new IOException("the store was opened read-only"));
        }
        LoggedWrites logged = new LoggedWrites(changed);
        try {
            probe.reached("volume.beforeLog");
            if (log != null) {
                checkpoints.beforeAppend(RedoLog.recordBytes(changed)); // a failure here fails the commit cleanly
                log.write(changed, length);
            }
        } catch (IOException e) {
            throw new DBException.VolumeIOError(e);
        }
        unapplied = logged;
        prepared = logged;
        if (!deferCompletion) {
            completeCommit();
        }
    }

    /**
     * Completes the commit {@link #sync} prepared, if any: syncs its redo record (the commit point), then applies its
     * writes to the main file, then stops laying them over reads. Readers may run meanwhile.
     */
    void completeCommit() {
        LoggedWrites c = prepared;
        if (c == null) {
            return;
        }
        prepared = null;
        try {
            if (log != null) {
                log.sync();
            }
            committed++;
            probe.reached("volume.logged");
            List<RedoLog.Write> changed = c.writes();
            for (int i = 0; i < changed.size(); i++) {
                write(changed.get(i));
                if (i == 0) {
                    probe.reached("volume.applying");
                }
            }
            unapplied = null; // every byte is in the main file now: readers read it there
            probe.reached("volume.applied");
            if (log != null) {
                checkpoints.afterApply();
            }
        } catch (IOException e) {
            throw new DBException.VolumeIOError(e);
        }
    }

    private void write(RedoLog.Write w) throws IOException {
        if (mainFile == null) {
            main.putData(w.offset(), w.bytes(), 0, w.bytes().length);
            return;
        }
        RedoLog.writeAt(mainFile, ByteBuffer.wrap(w.bytes()), w.offset());
    }

    /** Makes every byte written to the main file so far durable. */
    private void syncMain() throws IOException {
        if (mainFile == null) {
            main.sync();
        } else {
            mainFile.force(false); // fdatasync: also the file's length, which MapDB's growth changes
        }
    }

    /**
     * Whether a commit that failed left its redo record in the log, whole, because erasing it failed too: opening the
     * files again would apply it ({@link RedoLog#holdsUnerasedRecord}).
     */
    boolean failedCommitMayReplay() {
        return log != null && log.holdsUnerasedRecord();
    }

    /** Drops pending writes and releases the files without a checkpoint; the log replays at the next open. */
    void abandon() {
        pending.clear();
        dirty = false;
        unapplied = null;
        if (checkpoints != null) {
            checkpoints.await(); // its thread must not sync a file, or write a log, that is closed under it
        }
        if (prepared != null) {
            // a commit whose record was written and not synced: its caller hears it failed, so it must never replay
            prepared = null;
            try {
                log.discardUnsynced();
            } catch (IOException e) {
                closeQuietly();
                throw new DBException.VolumeIOError(e);
            }
        }
        closeQuietly();
    }

    @Override
    public void close() {
        completeCommit(); // the engine completes every commit before it closes; this keeps a missed one durable
        if (!pending.isEmpty()) {
            // StoreWAL never closes with uncommitted writes; if it did, dropping them is the atomic choice.
            pending.clear();
            dirty = false;
        }
        try {
            if (log != null) {
                checkpoints.syncAll();
                log.release();
            }
        } catch (IOException e) {
            closeQuietly();
            throw new DBException.VolumeIOError(e);
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            main.close();
            if (mainFile != null) {
                mainFile.close();
            }
        } catch (IOException ignored) {
            // every commit is in the log, which replays at the next open
        } finally {
            if (log != null) {
                try {
                    log.close();
                } catch (IOException ignored) {
                    // the log is already durable or will replay; nothing to add
                }
            }
        }
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    /** Whether this volume was made by {@link #readOnly}: it refuses every commit that changes a byte. */
    boolean refusesWrites() {
        return readOnly;
    }
}
