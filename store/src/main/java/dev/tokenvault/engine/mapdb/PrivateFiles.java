package dev.tokenvault.engine.mapdb;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.HashSet;
import java.util.Set;

/**
 * Opens and creates the files of a store so that it never writes a file that is not its own: a file it creates gets
 * mode 0600 whatever the umask; it never follows a symbolic link; a file that already exists must be a regular file
 * owned by the user the JVM runs as. Checks and opens by path, so a store still belongs in a directory that only its
 * user can write (see SECURITY.md): there nobody can swap a file between the check and the open.
 */
final class PrivateFiles {
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    /** The user the JVM runs as, or {@code null} when the platform cannot say (then ownership is not checked). */
    private static final UserPrincipal ME = currentUser();

    private PrivateFiles() {
    }

    /** An open channel, and whether opening it created the file. */
    record Opened(FileChannel channel, boolean created) { }

    private static UserPrincipal currentUser() {
        try {
            return FileSystems.getDefault().getUserPrincipalLookupService()
                    .lookupPrincipalByName(System.getProperty("user.name"));
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }

    /**
     * Whether {@code file} exists, checking that it is one of ours when it does.
     *
     * @throws FileSystemException naming the file when it is a symbolic link, not a regular file, or owned by another
     *         user
     */
    static boolean existsAsOwn(Path file) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return false;
        }
        if (a.isSymbolicLink()) {
            throw refused(file, "is a symbolic link; tokenvault never follows a link for a store's own files"
                    + " (keep the store in a private directory)");
        }
        if (!a.isRegularFile()) {
            throw refused(file, "is not a regular file");
        }
        if (ME != null) {
            UserPrincipal owner = Files.getOwner(file, LinkOption.NOFOLLOW_LINKS);
            if (!ME.equals(owner)) {
                throw refused(file, "belongs to " + owner.getName() + ", not to " + ME.getName()
                        + "; tokenvault writes only files of the user it runs as");
            }
        }
        return true;
    }

    /** Opens {@code file} when it exists (and is ours), else creates it with mode 0600. */
    static Opened openOrCreate(Path file, StandardOpenOption... access) throws IOException {
        for (int attempt = 0; ; attempt++) {
            if (existsAsOwn(file)) {
                return new Opened(FileChannel.open(file, options(access)), false);
            }
            try {
                return new Opened(create(file, access), true);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 0) {
                    throw e; // created and removed again by someone else, twice: not a private directory
                }
            }
        }
    }

    /** Opens an existing file of ours; {@link NoSuchFileException} when it is absent. */
    static FileChannel openExisting(Path file, StandardOpenOption... access) throws IOException {
        if (!existsAsOwn(file)) {
            throw new NoSuchFileException(file.toString());
        }
        return FileChannel.open(file, options(access));
    }

    /** Creates {@code file}, which must not exist, with mode 0600 whatever the umask. */
    static FileChannel create(Path file, StandardOpenOption... access) throws IOException {
        Set<OpenOption> options = options(access);
        options.add(StandardOpenOption.CREATE_NEW);
        FileChannel ch = POSIX ? FileChannel.open(file, options, PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                : FileChannel.open(file, options, new FileAttribute<?>[0]);
        try {
            setMode(file, OWNER_ONLY); // the umask may have taken bits away: exactly 0600
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return ch;
    }

    /** Creates an empty file of ours (mode 0600), for a library that then opens it by name. */
    static void createEmpty(Path file) throws IOException {
        create(file, StandardOpenOption.WRITE).close();
    }

    /** The POSIX permissions of {@code file}, or {@code null} where the file system has none. */
    static Set<PosixFilePermission> mode(Path file) throws IOException {
        return POSIX ? Files.getPosixFilePermissions(file) : null;
    }

    /** Sets the POSIX permissions of {@code file} (never through a link); does nothing where there are none. */
    static void setMode(Path file, Set<PosixFilePermission> mode) throws IOException {
        if (POSIX && mode != null) {
            Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setPermissions(mode);
        }
    }

    /** Deletes {@code file} when it exists and is ours; a link or a stranger's file is refused, never deleted. */
    static void deleteOwnIfExists(Path file) throws IOException {
        if (existsAsOwn(file)) {
            Files.deleteIfExists(file);
        }
    }

    private static Set<OpenOption> options(StandardOpenOption... access) {
        Set<OpenOption> options = new HashSet<>(Set.of(access));
        options.add(LinkOption.NOFOLLOW_LINKS);
        return options;
    }

    private static FileSystemException refused(Path file, String reason) {
        return new FileSystemException(file.toString(), null, reason);
    }
}
