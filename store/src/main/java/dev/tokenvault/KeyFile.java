package dev.tokenvault;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * Reading a master key file: private, regular, owned by this process's user, and the same file from the check to
 * the end of the read. Java cannot ask an open channel for its owner and mode ({@code fstat}), so the file is checked
 * by path before it is opened and again after it is read, with its identity and change time: every rename, link,
 * {@code chmod} or {@code chown} of a file changes its change time, so a file swapped in for the read and swapped back
 * is noticed.
 */
final class KeyFile {
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private KeyFile() {
    }

    /** What must not change between the check and the end of the read. */
    private record Identity(Object fileKey, Object changeTime, long size) { }

    /** The file's bytes, after the checks; the caller wipes them. */
    static byte[] read(Path file) {
        Path real;
        try {
            real = file.toRealPath(); // symbolic links are resolved once, here; later steps follow none
        } catch (NoSuchFileException e) {
            throw MasterKey.invalid("master key file " + file + " does not exist");
        } catch (IOException e) {
            throw new TokenStoreException(ErrorCode.IO, "cannot read master key file " + file, e);
        }
        Identity before = check(real, file);
        byte[] content = new byte[(int) before.size()];
        try (SeekableByteChannel ch = Files.newByteChannel(real, StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)) {
            readFully(ch, content, file);
        } catch (IOException e) {
            Arrays.fill(content, (byte) 0);
            throw new TokenStoreException(ErrorCode.IO, "cannot read master key file " + file, e);
        } catch (RuntimeException e) {
            Arrays.fill(content, (byte) 0);
            throw e;
        }
        if (!before.equals(check(real, file))) {
            Arrays.fill(content, (byte) 0);
            throw MasterKey.invalid("master key file " + file + " changed while it was read");
        }
        return content;
    }

    private static void readFully(SeekableByteChannel ch, byte[] into, Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(into);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                throw MasterKey.invalid("master key file " + file + " changed while it was read");
            }
        }
        if (ch.read(ByteBuffer.allocate(1)) >= 0) {
            throw MasterKey.invalid("master key file " + file + " changed while it was read");
        }
    }

    /** Checks the file at {@code real} (no link followed) and returns its identity. */
    private static Identity check(Path real, Path file) {
        PosixFileAttributes attrs;
        Object changeTime;
        UserPrincipal me;
        try {
            attrs = Files.readAttributes(real, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            changeTime = unixChangeTime(real, attrs);
            me = currentUser(real, file);
        } catch (UnsupportedOperationException e) {
            throw MasterKey.invalid("master key file " + file + " is on a file system without POSIX permissions,"
                    + " so who can read it cannot be checked; read the key yourself and use MasterKey.fromBytes,"
                    + " or use MasterKey.fromEnvironment");
        } catch (NoSuchFileException e) {
            throw MasterKey.invalid("master key file " + file + " does not exist");
        } catch (IOException e) {
            throw new TokenStoreException(ErrorCode.IO, "cannot read the attributes of master key file " + file, e);
        }
        if (!attrs.isRegularFile()) {
            throw MasterKey.invalid("master key file " + file + " must be a regular file");
        }
        if (!attrs.owner().equals(me)) {
            throw MasterKey.invalid("master key file " + file + " must be owned by the user this process runs as ("
                    + me.getName() + "), not " + attrs.owner().getName());
        }
        if (attrs.permissions().stream().anyMatch(GROUP_OR_OTHERS::contains)) {
            throw MasterKey.invalid("master key file " + file + " must not be readable or writable by group or"
                    + " others; run: chmod 600 " + file);
        }
        if (attrs.size() > MasterKey.MAX_KEY_FILE_BYTES) {
            throw MasterKey.invalid("master key file " + file + " must hold at most " + MasterKey.MAX_KEY_FILE_BYTES
                    + " bytes");
        }
        return new Identity(attrs.fileKey(), changeTime, attrs.size());
    }

    /** The inode change time where the file system reports it, else the modification time. */
    private static Object unixChangeTime(Path real, PosixFileAttributes attrs) {
        try {
            return Files.getAttribute(real, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
            return attrs.lastModifiedTime();
        }
    }

    /** The user this process runs as; refuses when the system does not know it (a uid with no name). */
    private static UserPrincipal currentUser(Path real, Path file) throws IOException {
        String name = System.getProperty("user.name");
        try {
            return real.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByName(Objects.requireNonNullElse(name, "?"));
        } catch (UserPrincipalNotFoundException e) {
            throw MasterKey.invalid("cannot check the owner of master key file " + file + ": this process's user"
                    + " is unknown to the system; use MasterKey.fromEnvironment or MasterKey.fromBytes");
        }
    }

    /** Whether 32 bytes are all printable ASCII or white space: a typed password rather than a random key. */
    static boolean looksTyped(byte[] content) {
        for (byte b : content) {
            if (!(b >= 0x20 && b <= 0x7E) && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    /** The base64 text in {@code content} without surrounding white space, decoded; {@code null} when it is not. */
    static byte[] decodeBase64(byte[] content) {
        int from = 0;
        int to = content.length;
        while (from < to && isSpace(content[from])) {
            from++;
        }
        while (to > from && isSpace(content[to - 1])) {
            to--;
        }
        byte[] text = Arrays.copyOfRange(content, from, to);
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return null;
        } finally {
            Arrays.fill(text, (byte) 0);
        }
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }
}
