package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The OS lock on {@code PATH.lock} that a store holds while open: a second opener, in this process or another,
 * fails at once with {@link EngineException.Kind#LOCKED}. A writer holds it exclusively, a read-only opener shared
 * ({@link #acquireShared}).
 */
final class StoreLock {
    private final FileChannel channel;
    private final FileLock lock;

    private StoreLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock of the store at {@code store} (an absolute path), creating the lock file when absent. */
    static StoreLock acquire(Path store) {
        Path lockPath = MapDbFiles.sibling(store, ".lock");
        PrivateFiles.Opened lockFile;
        try {
            lockFile = PrivateFiles.openOrCreate(lockPath, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot lock " + store + ": " + StoreFile.reason(e), e);
        }
        return lock(store, lockPath, lockFile.channel(), false);
    }

    /**
     * For a read-only open: takes a shared lock on {@code PATH.lock}, which writers hold exclusively, so the two
     * exclude each other (within one process any second lock of the file is refused, shared or not). Creates nothing:
     * when the lock file is absent, returns {@code null}. No writer has the store open then, as every writer holds
     * the lock file while open and tokenvault never removes it from a store it opened; a writer that starts later is
     * not kept out. The lock file may belong to another user, whose store this reader may read; it is never opened
     * through a link.
     *
     * @throws EngineException {@code LOCKED} while a writer holds it, {@code IO} when it exists but cannot be read
     *         (then a writer may be running, so the store is not read unlocked)
     */
    static StoreLock acquireShared(Path store) {
        Path lockPath = MapDbFiles.sibling(store, ".lock");
        FileChannel channel;
        try {
            channel = FileChannel.open(lockPath, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException absent) {
            return null;
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot take a shared lock on " + lockPath + ": "
                    + StoreFile.reason(e) + "; a read-only open reads the lock file so that it never reads the store"
                    + " while a writer changes it", e);
        }
        return lock(store, lockPath, channel, true);
    }

    private static StoreLock lock(Path store, Path lockPath, FileChannel channel, boolean shared) {
        FileLock lock;
        try {
            lock = channel.tryLock(0L, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            closeQuietly(channel);
            throw locked(store, e);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new EngineException(EngineException.Kind.IO, "cannot lock " + store + ": " + lockPath + ": "
                    + StoreFile.reason(e), e);
        }
        if (lock == null) {
            closeQuietly(channel);
            throw locked(store, null);
        }
        return new StoreLock(channel, lock);
    }

    /**
     * After an open failed with {@code failure}: releases the lock, and leaves the lock file, even one this open
     * created beside a file that turned out to be no store. Removing it would let two writers in: an opener that
     * opened the file just before the removal locks the removed file once this lock is released, and the next opener
     * creates and locks a new one.
     */
    void releaseAfterFailedOpen(Throwable failure) {
        release();
    }

    void release() {
        try {
            lock.release();
        } catch (IOException closingReleasesItToo) {
            // closing the channel below releases the lock as well
        } finally {
            closeQuietly(channel);
        }
    }

    private static EngineException locked(Path path, Throwable cause) {
        return new EngineException(EngineException.Kind.LOCKED,
                "store " + path + " is open elsewhere (another process or another open store in this one)", cause);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException nothingToRelease) {
            // the channel is gone either way
        }
    }
}
