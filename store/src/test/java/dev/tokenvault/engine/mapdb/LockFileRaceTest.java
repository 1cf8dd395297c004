package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open that fails after it took the lock leaves {@code PATH.lock} in place. Removing it let two writers in: B opens
 * the lock file, A (failing) removes it and releases its lock, B locks the removed file, and C creates a new lock file,
 * locks it, and opens the store beside B. B's two steps are run by hand: the real window is a few instructions wide.
 */
class LockFileRaceTest {
    @TempDir
    Path dir;

    @Test
    void aFailedOpenLeavesTheLockFileSoThatNoTwoOpenersHoldTheStore() throws IOException {
        Path store = dir.resolve("store.db").toAbsolutePath();
        Path lockPath = MapDbFiles.sibling(store, ".lock");
        StoreLock a = StoreLock.acquire(store); // A creates and locks PATH.lock
        try (FileChannel b = FileChannel.open(lockPath, StandardOpenOption.WRITE)) { // B opens the lock file
            a.releaseAfterFailedOpen(new EngineException(EngineException.Kind.NOT_FOUND, "no store"));
            assertTrue(Files.exists(lockPath), "the failed open removed the lock file");
            FileLock bLock = b.tryLock(0L, Long.MAX_VALUE, false); // B locks
            assertNotNull(bLock, "B holds the lock");
            EngineException e = assertThrows(EngineException.class, () -> MapDbEngine.open(store, 1).close(),
                    "C opened the store while B holds its lock");
            assertEquals(EngineException.Kind.LOCKED, e.kind());
        }
    }
}
