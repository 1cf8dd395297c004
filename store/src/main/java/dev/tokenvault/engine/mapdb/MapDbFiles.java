package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.CommitProbe;
import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.mapdb.CC;
import org.mapdb.DB;
import org.mapdb.DBException;
import org.mapdb.StoreWAL;
import org.mapdb.volume.ByteArrayVol;
import org.mapdb.volume.MappedFileVol;
import org.mapdb.volume.Volume;
import org.mapdb.volume.VolumeFactory;

/**
 * The files of a MapDB store and how MapDB is wired onto them: atomic creation, opening with the redo log replayed
 * first, the companion files ({@code PATH.redo}, {@code PATH.creating}, {@code PATH.compacting}) and syncing.
 */
final class MapDbFiles {
    private MapDbFiles() {
    }

    static Path sibling(Path path, String suffix) {
        return path.resolveSibling(path.getFileName() + suffix);
    }

    static Path redoOf(Path path) {
        return sibling(path, ".redo");
    }

    /**
     * The checks an open makes before it creates or locks anything: the directory exists, and the file at
     * {@code path} is a store, or absent and {@code createIfMissing}. Read only: what is not a store is refused
     * without a trace.
     *
     * @return the absolute, normalised store path
     */
    static Path checkBeforeLocking(Path path, boolean createIfMissing) {
        Path abs = path.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new EngineException(EngineException.Kind.IO, "directory " + parent + " does not exist");
        }
        if (!StoreFile.inspect(abs) && !createIfMissing) {
            throw absent(abs);
        }
        return abs;
    }

    /**
     * Under the store's lock, where what is at the path now decides (another opener may have created the store
     * meanwhile): removes an unfinished compaction, creates the store when absent and allowed, and opens it.
     */
    static OpenDb openLocked(Path abs, int indexCount, boolean createIfMissing, CommitProbe probe) {
        boolean present = StoreFile.inspect(abs);
        if (!present && !createIfMissing) {
            throw absent(abs);
        }
        try {
            deleteStaleCompaction(abs); // a compaction killed before its rename; the store itself is intact
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO,
                    "cannot remove the unfinished compaction beside " + abs + ": " + StoreFile.reason(e), e);
        }
        if (!present) {
            createAtomically(abs, indexCount);
        }
        return open(abs, indexCount, probe);
    }

    private static EngineException absent(Path path) {
        return new EngineException(EngineException.Kind.NOT_FOUND,
                "no store at " + path + " (and the open was asked not to create one)");
    }

    /**
     * A store in memory: the same MapDB wiring as a file, over a byte-array volume. Its empty layout is committed at
     * once, as a new file's is: a rollback of a first change would otherwise take the layout with it (MapDB keeps its
     * catalog's maps cached), and the engine could not go back to its state and would stop.
     */
    static OpenDb inMemory(int indexCount, CommitProbe probe) {
        RedoVolume volume = RedoVolume.inMemory(new ByteArrayVol(CC.PAGE_SHIFT, 0L), probe);
        OpenDb o = OpenDb.of(newDb(null, volume, false), volume, null, false, indexCount);
        o.db().commit();
        return o;
    }

    /**
     * Builds a new store under a temporary name, syncs it and renames it into place. On failure nothing of it stays
     * open, and the temporary files are deleted.
     */
    static void createAtomically(Path path, int indexCount) {
        Path tmp = sibling(path, ".creating");
        Path tmpRedo = redoOf(tmp);
        Volume mapped = null;
        RedoLog log = null;
        RedoVolume vol = null;
        try {
            PrivateFiles.deleteOwnIfExists(tmp);
            PrivateFiles.deleteOwnIfExists(tmpRedo);
            PrivateFiles.deleteOwnIfExists(redoOf(path)); // a log without its store: never replayed
            PrivateFiles.createEmpty(tmp); // mode 0600 before MapDB opens it by name
            mapped = mappedVolume(tmp);
            log = RedoLog.open(tmpRedo, 0);
            vol = RedoVolume.onFile(mapped, log, CommitProbe.NONE);
            OpenDb o = OpenDb.of(newDb(tmp, vol, false), vol, tmp, false, indexCount);
            o.db().commit();
            o.db().close(); // checkpoints: main synced
            vol = null;
            log = null;
            mapped = null;
            Files.deleteIfExists(tmpRedo);
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(path.getParent());
        } catch (IOException | RuntimeException | Error e) {
            discardCreating(vol, mapped, log, e);
            for (Path f : List.of(tmp, tmpRedo)) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof IOException io) {
                throw new EngineException(EngineException.Kind.IO, "cannot create store " + path + ": "
                        + StoreFile.reason(io), e);
            }
            if (e instanceof DBException) {
                throw new EngineException(EngineException.Kind.IO, "cannot create store " + path + ": "
                        + e.getMessage(), e);
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) e;
        }
    }

    /**
     * After a failed creation of a store file (a new store, a compaction's copy): releases what it had open, the volume
     * if it was made (it holds the mapping and the log), else the mapping and the log.
     */
    static void discardCreating(RedoVolume vol, Volume mapped, RedoLog log, Throwable failure) {
        try {
            if (vol != null) {
                vol.abandon();
                return;
            }
            if (mapped != null) {
                mapped.close();
            }
            if (log != null) {
                log.close();
            }
        } catch (IOException | RuntimeException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    /**
     * Replays the redo log (into the page cache: the log keeps the replayed records, and the writer appends after them
     * until its first checkpoint syncs the main file), checks the file is whole, and opens it. On failure nothing stays
     * open, and a log this call created is removed (one that was there is left as it was, to replay again).
     */
    static OpenDb open(Path path, int indexCount, CommitProbe probe) {
        Path redo = redoOf(path);
        RedoLog log = null;
        Volume mapped = null;
        RedoReplay.Replay replayed = RedoReplay.Replay.NONE;
        try {
            replayed = RedoReplay.replayInto(redo, path);
            long unfinished = StoreFile.unfinishedGrowth(path);
            if (unfinished > 0) { // not synced: a power loss takes it back, and the next open finishes it again
                try (FileChannel main = PrivateFiles.openExisting(path, StandardOpenOption.WRITE)) {
                    RedoLog.extend(main, unfinished);
                }
            }
            StoreFile.checkComplete(path);
            log = RedoLog.open(redo, replayed);
            mapped = mappedVolume(path);
            RedoVolume volume = RedoVolume.onFile(mapped, log, probe);
            return OpenDb.of(newDb(path, volume, true), volume, path, true, indexCount);
        } catch (Throwable e) {
            discardOpening(mapped, log, redo, replayed, e);
            throw openFailure(path, e);
        }
    }

    /** What a failed open of {@code path} throws: an {@code Error} as it is, else the {@link EngineException}. */
    private static RuntimeException openFailure(Path path, Throwable e) {
        if (e instanceof Error err && !(e instanceof AssertionError)) {
            throw err; // AssertionError: MapDB's always-on checks meeting damage (MapDbEngine.read), so CORRUPT
        }
        if (e instanceof EngineException ee) {
            return ee;
        }
        if (MapDbErrors.isIo(e)) {
            return new EngineException(EngineException.Kind.IO, "cannot open store " + path + ": "
                    + MapDbErrors.ioReason(e), e);
        }
        return new EngineException(EngineException.Kind.CORRUPT,
                "store file " + path + " is damaged: " + MapDbErrors.damage(e), e);
    }

    /**
     * Opens the store at {@code path} read-only, under a shared lock or none ({@link StoreLock#acquireShared}): the
     * main file mapped read-only, MapDB's own log in memory, nothing created or written. A redo log that holds a
     * record to replay is refused: the main file lacks changes the log holds, and only a writer may apply them.
     *
     * @throws EngineException {@code NOT_FOUND} when no store is there (any more), {@code READ_ONLY} when the redo log
     *         must be replayed first, {@code CORRUPT}, {@code UNSUPPORTED_FORMAT}, {@code IO}
     */
    static OpenDb openReadOnly(Path path, int indexCount) {
        if (!StoreFile.inspect(path)) {
            throw absent(path);
        }
        Path redo = redoOf(path);
        Volume mapped = null;
        try {
            if (RedoReplay.countReplayable(redo) > 0) {
                throw new EngineException(EngineException.Kind.READ_ONLY, "the store " + path + " needs recovery:"
                        + " its redo log " + redo + " holds changes that a crash left out of the store file, so a"
                        + " read-only open would read stale data; open it once with write access to recover it");
            }
            if (StoreFile.unfinishedGrowth(path) > 0) {
                throw new EngineException(EngineException.Kind.READ_ONLY, "the store " + path + " needs recovery:"
                        + " a crash stopped it in the middle of growing its file; open it once with write access to"
                        + " finish that");
            }
            StoreFile.checkComplete(path);
            // No cleanerHack: MapDB maps a read-only file through read-only views, which the JDK refuses to unmap
            // (MapDB then logs a warning per page); the mapping goes with the garbage collector instead.
            mapped = new MappedFileVol.MappedFileFactory(false, false)
                    .makeVolume(path.toString(), true, -1L, CC.PAGE_SHIFT, 0L, false);
            RedoVolume volume = RedoVolume.readOnly(mapped);
            return OpenDb.of(newDb(path, volume, true), volume, path, true, indexCount);
        } catch (Throwable e) {
            if (mapped != null) {
                try {
                    mapped.close();
                } catch (Throwable suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw openFailure(path, e);
        }
    }

    /**
     * Closes what a failed {@link #open} opened, writing nothing to the store file. A log whose records were replayed
     * keeps them: the main file was not synced after the replay, so they are still needed.
     */
    private static void discardOpening(Volume mapped, RedoLog log, Path redo, RedoReplay.Replay replayed,
                                       Throwable failure) {
        try {
            if (mapped != null) {
                mapped.close();
            }
            if (log != null) {
                if (replayed.records() == 0) {
                    log.release();
                }
                log.close();
                if (log.created()) {
                    Files.deleteIfExists(redo);
                }
            }
        } catch (Throwable suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    static Volume mappedVolume(Path file) {
        // Memory-mapped: about 1 us per MapDB get against 7 us for FileChannel and 26 us for RandomAccessFile here.
        // cleanerHack unmaps promptly instead of leaking a mapping per growth. No preclear: RedoVolume.ensureAvailable
        // grows the file before MapDB maps the new page, in a way a kill cannot leave half done.
        return new MappedFileVol.MappedFileFactory(true, true)
                .makeVolume(file.toString(), false, -1L, CC.PAGE_SHIFT, 0L, false);
    }

    /** A MapDB {@code DB} (StoreWAL) whose main file is {@code main}, with MapDB's own log in memory. */
    static DB newDb(Path file, RedoVolume main, boolean existed) {
        String name = file == null ? null : file.toString();
        WalMemory walMemory = new WalMemory();
        VolumeFactory factory = new VolumeFactory() {
            private boolean mainMade;

            @Override
            public Volume makeVolume(String f, boolean readOnly, long lockWait, int sliceShift, long initSize,
                                     boolean fixedSize) {
                // The main file is ours; MapDB's own log lives in memory: it is never replayed, RedoLog is. A store
                // in memory has no names: MapDB asks for its main volume first, and gets a byte array as it always
                // did (its log volumes come from WalMemory, as a file store's do).
                boolean isMain = name != null ? name.equals(f) : !mainMade;
                if (isMain) {
                    mainMade = true;
                    return name != null ? main : new ByteArrayVol(sliceShift, 0L);
                }
                return walMemory.open();
            }

            @Override
            public boolean exists(String f) {
                return f != null && f.equals(name) && existed;
            }

            @Override
            public boolean handlesReadonly() {
                return false;
            }
        };
        StoreWAL store = StoreWAL.make(name, factory, -1L, true, CC.STORE_DIRECT_CONC_SHIFT, CC.PAGE_SIZE, 0L,
                false, false, false, true, false);
        return new DB(store, existed, true, MapDbFiles.class.getClassLoader(), 0);
    }

    /** Deletes what an interrupted compaction left: never the store, only its temporary copy and that copy's log. */
    static void deleteStaleCompaction(Path path) throws IOException {
        Path tmp = sibling(path, ".compacting");
        PrivateFiles.deleteOwnIfExists(tmp);
        PrivateFiles.deleteOwnIfExists(redoOf(tmp));
    }

    static void forceFile(Path file) throws IOException {
        try (FileChannel ch = PrivateFiles.openExisting(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    static void emptyDurably(Path file) throws IOException {
        try (FileChannel ch = PrivateFiles.openOrCreate(file, StandardOpenOption.WRITE).channel()) {
            ch.truncate(0);
            ch.force(true);
        }
    }

    static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException unsupported) {
            // some file systems cannot sync a directory; the rename is still atomic
        }
    }
}
