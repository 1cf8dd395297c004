package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * What is at a store's path, found by reading only: nothing is written, created, locked or even opened for writing,
 * so a file that is not a store keeps every byte and its modification time.
 *
 * <p>A store file is a MapDB 3 {@code StoreDirect} file: its first long holds the MapDB file header {@code 0x4A}, the
 * file type {@code 3} and a format version {@code 0}; the file is a whole number of 1 MiB pages, and the file tail
 * recorded at offset 40 (with 16 bits of parity below it) does not lie past the end of the file. MapDB maps the file
 * in 1 MiB pages and grows it to whole pages when it opens it, so these are checked before MapDB sees the file.
 *
 * <p>One length that is no whole number of pages is not damage: a growth that a kill interrupted, with the file
 * tail inside the length (builds before this one grew the file 1 KiB at a time). Only the space past the tail, which
 * the store does not use, is missing; a writer finishes the growth ({@link #unfinishedGrowth}).
 */
final class StoreFile {
    private static final int MAPDB_HEADER = 0x4A;
    private static final int STORE_DIRECT = 3;
    private static final long PAGE = 1L << 20;
    private static final int FILE_TAIL_OFFSET = 40;

    private StoreFile() {
    }

    /**
     * Whether a store is at {@code path}: {@code false} when nothing is there.
     *
     * @throws EngineException {@code UNSUPPORTED_FORMAT} for a file that is not a store (an empty file included:
     *         tokenvault never leaves one), or one of a newer MapDB format; {@code CORRUPT} for a store cut short;
     *         {@code IO} for a directory, device, FIFO or socket, or when the file cannot be read
     */
    static boolean inspect(Path path) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            if (Files.isSymbolicLink(path)) {
                throw new EngineException(EngineException.Kind.IO, "store path " + path
                        + " is a symbolic link to a file that does not exist; tokenvault does not create a store"
                        + " through a link");
            }
            return false;
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot read " + path + ": " + reason(e), e);
        }
        if (a.isDirectory()) {
            throw new EngineException(EngineException.Kind.IO, path + " is a directory, not a store file");
        }
        if (!a.isRegularFile()) {
            throw new EngineException(EngineException.Kind.IO, path
                    + " is not a regular file (a device, FIFO or socket), so it cannot be a store");
        }
        if (a.size() == 0) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, path + " is an empty file, not a"
                    + " tokenvault store (tokenvault never leaves an empty store file); remove it, or choose another"
                    + " path, to create a new store there");
        }
        ByteBuffer head = readHead(path, 8);
        if (head.remaining() < 8 || (head.get(0) & 0xff) != MAPDB_HEADER || (head.get(1) & 0xff) != STORE_DIRECT) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT,
                    path + " is not a tokenvault store (it does not begin with a store header); it was left as it is");
        }
        if (head.getShort(2) != 0) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT,
                    path + " was written by a newer MapDB storage format than this tokenvault reads");
        }
        if (a.size() < PAGE) { // a new store is made whole under another name, and only then moved into place
            throw cutShort(path, a.size());
        }
        return true;
    }

    /**
     * Under the store's lock, after the redo log has been replayed: the length to which a growth that a kill
     * interrupted must be finished, or 0 when the file is a whole number of pages.
     *
     * @throws EngineException {@code CORRUPT} when the length is no whole number of pages and the file tail lies past
     *         it: then the file was cut short in the space the store uses, not grown part of the way
     */
    static long unfinishedGrowth(Path path) {
        long size = size(path);
        if (size % PAGE == 0) {
            return 0;
        }
        checkTail(path, size);
        return (size / PAGE + 1) * PAGE;
    }

    /**
     * Under the store's lock, after the redo log has been replayed: the file holds every page its header names.
     *
     * @throws EngineException {@code CORRUPT} when it does not
     */
    static void checkComplete(Path path) {
        long size = size(path);
        if (size < PAGE || size % PAGE != 0) {
            throw cutShort(path, size);
        }
        checkTail(path, size);
    }

    private static void checkTail(Path path, long size) {
        ByteBuffer head = readHead(path, FILE_TAIL_OFFSET + 8);
        if (head.remaining() < FILE_TAIL_OFFSET + 8) {
            throw cutShort(path, size);
        }
        long fileTail = head.getLong(FILE_TAIL_OFFSET) & ~0xFFFFL; // the low 16 bits are parity
        if (fileTail > size || fileTail < 0) {
            throw new EngineException(EngineException.Kind.CORRUPT, "store file " + path + " is damaged: it is "
                    + size + " bytes long but its header names " + fileTail + " (cut short?)");
        }
    }

    private static long size(Path path) {
        try {
            return Files.size(path);
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot read " + path + ": " + reason(e), e);
        }
    }

    private static EngineException cutShort(Path path, long size) {
        return new EngineException(EngineException.Kind.CORRUPT, "store file " + path + " is damaged: it is " + size
                + " bytes long, and a store file is a whole number of 1 MiB pages (cut short?)");
    }

    /** Up to {@code n} bytes from the start of the file, big-endian, read without opening it for writing. */
    private static ByteBuffer readHead(Path path, int n) {
        ByteBuffer buf = ByteBuffer.allocate(n).order(ByteOrder.BIG_ENDIAN);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            while (buf.hasRemaining() && ch.read(buf, buf.position()) >= 0) {
                // read() advances the buffer
            }
        } catch (IOException e) {
            throw new EngineException(EngineException.Kind.IO, "cannot read " + path + ": " + reason(e), e);
        }
        return buf.flip();
    }

    /** Why an I/O call failed, in words and naming the file: the JDK's exceptions often carry only the path. */
    static String reason(IOException e) {
        String why;
        if (e instanceof AccessDeniedException) {
            why = "permission denied";
        } else if (e instanceof NoSuchFileException) {
            why = "no such file or directory";
        } else if (e instanceof FileSystemException fse && fse.getReason() != null) {
            why = fse.getReason();
        } else {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        String file = e instanceof FileSystemException fse ? fse.getFile() : null;
        return file == null ? why : file + ": " + why;
    }
}
