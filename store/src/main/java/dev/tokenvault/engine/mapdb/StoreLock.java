package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The OS lock on {@code PATH.lock} that a store holds while open: a second opener, in this process or another,
 * fails at once with {@link EngineException.Kind#LOCKED}.
 */
final class StoreLock {
    private final Path lockPath;
    private final FileChannel channel;
    private final FileLock lock;
    private final boolean created;

    private StoreLock(Path lockPath, FileChannel channel, FileLock lock, boolean created) {
        this.lockPath = lockPath;
        this.channel = channel;
        this.lock = lock;
        this.created = created;
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
        FileLock lock;
        try {
            lock = lockFile.channel().tryLock();
        } catch (OverlappingFileLockException e) {
            closeQuietly(lockFile.channel());
            throw locked(store, e);
        } catch (IOException e) {
            closeQuietly(lockFile.channel());
            throw new EngineException(EngineException.Kind.IO, "cannot lock " + store + ": " + lockPath + ": "
                    + StoreFile.reason(e), e);
        }
        if (lock == null) {
            closeQuietly(lockFile.channel());
            throw locked(store, null);
        }
        return new StoreLock(lockPath, lockFile.channel(), lock, lockFile.created());
    }

    /**
     * After an open failed with {@code failure}: removes the lock file when this open created it and the path holds
     * no usable store (so nothing is left beside a file that is not a store), then releases the lock.
     */
    void releaseAfterFailedOpen(Throwable failure) {
        if (created && noStoreThere(failure)) {
            // Removed while still locked; no other opener can use this path either, as it holds no store.
            try {
                Files.deleteIfExists(lockPath);
            } catch (IOException suppressed) {
                failure.addSuppressed(suppressed);
            }
        }
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

    /** Whether an open failed because the path holds no usable store (not because the file system failed). */
    private static boolean noStoreThere(Throwable e) {
        return e instanceof EngineException ee && (ee.kind() == EngineException.Kind.NOT_FOUND
                || ee.kind() == EngineException.Kind.UNSUPPORTED_FORMAT || ee.kind() == EngineException.Kind.CORRUPT);
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
