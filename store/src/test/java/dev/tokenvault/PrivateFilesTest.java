package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's files: created 0600 whatever the umask, the store's mode kept across compaction, companion files never
 * opened through a symbolic link nor when another user owns them, and {@code createIfMissing(false)} creating nothing.
 */
class PrivateFilesTest {
    private static final FileTime LONG_AGO = FileTime.fromMillis(1_000_000_000_000L);

    @TempDir Path dir;

    private Path store;
    private final MasterKey key = MasterKey.generate();

    @BeforeEach
    void setUp() {
        store = dir.resolve("s.db");
    }

    private TokenVault open() {
        return TokenVault.builder().path(store).masterKey(key).open();
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private static void assumePosix() {
        Assumptions.assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"),
                "the file system has no POSIX permissions");
    }

    @Test
    void everyFileIsCreatedOwnerOnly() throws Exception {
        assumePosix();
        try (TokenVault v = open()) {
            saved(v, full("m"));
            assertEquals("rw-------", mode(store));
            assertEquals("rw-------", mode(dir.resolve("s.db.redo")));
            assertEquals("rw-------", mode(dir.resolve("s.db.lock")));
        }
        // the temporary copy of a compaction is owner-only too, and so is the store it becomes
        Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rw-------"));
        try (TokenVault v = open()) {
            v.compact();
        }
        assertEquals("rw-------", mode(store));
    }

    /**
     * "0600 whatever the umask": a process of its own under umask 000 (which would leave a new file 0666) and under
     * 0277 (which would leave it 0400, unwritable) makes a store, saves, compacts and closes; the store, its redo log
     * and its lock file are exactly 0600 every time.
     */
    @Test
    void everyFileIsOwnerOnlyWhateverTheUmask() throws Exception {
        assumePosix();
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/sh")), "no /bin/sh to set a umask with");
        for (String umask : new String[] {"000", "277"}) {
            Path sub = Files.createDirectory(dir.resolve("umask" + umask));
            Path file = sub.resolve("s.db");
            List<String> command = new java.util.ArrayList<>(List.of("/bin/sh", "-c",
                    "umask " + umask + " && exec \"$@\"", "sh"));
            command.addAll(ChildJvm.command(UmaskChild.class, file.toString()));
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), () -> "umask " + umask + ": " + output);
            // the umask took effect: a plain file the child made (rw-rw-rw- asked) kept only what it leaves
            String plain = umask.equals("000") ? "rw-rw-rw-" : "r--------";
            assertTrue(output.contains("probe " + plain), () -> "umask " + umask + ": " + output);
            for (String name : new String[] {"s.db", "s.db.redo", "s.db.lock"}) {
                assertEquals("rw-------", mode(sub.resolve(name)), "umask " + umask + ": " + name);
            }
        }
    }

    /** The child of {@link #everyFileIsOwnerOnlyWhateverTheUmask}: makes, fills, compacts and closes a store. */
    static final class UmaskChild {
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0]);
            // what the shell set, as the JVM sees it: a file made with rw-rw-rw- keeps what the umask leaves
            Path probe = file.resolveSibling("probe");
            Files.createFile(probe);
            System.out.println("probe " + PosixFilePermissions.toString(Files.getPosixFilePermissions(probe)));
            Files.delete(probe);
            try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.generate()).open()) {
                saved(v, full("u"));
                v.compact();
                saved(v, full("v"));
            }
        }
    }

    @Test
    void compactionKeepsTheStoresMode() throws Exception {
        assumePosix();
        try (TokenVault v = open()) {
            saved(v, full("c"));
        }
        for (String m : new String[] {"rw-r-----", "rw-------", "rw-rw----"}) {
            Files.setPosixFilePermissions(store, PosixFilePermissions.fromString(m));
            try (TokenVault v = open()) {
                v.compact();
                assertEquals(m, mode(store), "compact() changed the mode while open");
            }
            assertEquals(m, mode(store), "compact() changed the mode");
        }
    }

    @Test
    void aRedoLogThatIsASymbolicLinkIsRefusedAndItsTargetUntouched() throws Exception {
        try (TokenVault v = open()) {
            saved(v, full("s"));
        }
        for (String companion : new String[] {"s.db.redo", "s.db.lock"}) {
            Path victim = dir.resolve("victim-" + companion);
            Files.writeString(victim, "someone else's data\n");
            Files.setLastModifiedTime(victim, LONG_AGO);
            Path link = dir.resolve(companion);
            Files.delete(link);
            Files.createSymbolicLink(link, victim);

            TokenStoreException e = expect(ErrorCode.IO, this::open);
            assertTrue(e.getMessage().contains(link.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
            assertEquals("someone else's data\n", Files.readString(victim));
            assertEquals(LONG_AGO, Files.getLastModifiedTime(victim));
            assertTrue(Files.isSymbolicLink(link), "the link was removed");

            Files.delete(link); // the owner puts a real file back: the store opens, with its data
            try (TokenVault v = open()) {
                assertEquals(1, v.getTokens().size());
            }
            assertEquals("someone else's data\n", Files.readString(victim));
        }
    }

    @Test
    void aNewStoreIsNotCreatedOverALinkedRedoLog() throws Exception {
        Path victim = dir.resolve("victim");
        Files.writeString(victim, "keep me");
        Files.createSymbolicLink(dir.resolve("s.db.redo"), victim);
        TokenStoreException e = expect(ErrorCode.IO, this::open);
        assertTrue(e.getMessage().contains("s.db.redo"), e.getMessage());
        assertEquals("keep me", Files.readString(victim));
        assertFalse(Files.exists(store), "a store was created");
    }

    @Test
    void aCompanionFileOfAnotherUserIsRefused() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "only root can give a file to another user");
        try (TokenVault v = open()) {
            saved(v, full("o"));
        }
        Path redo = dir.resolve("s.db.redo");
        Files.setAttribute(redo, "unix:uid", 65534);
        TokenStoreException e = expect(ErrorCode.IO, this::open);
        assertTrue(e.getMessage().contains(redo.toString()) && e.getMessage().contains("belongs to"),
                e.getMessage());
        Files.setAttribute(redo, "unix:uid", 0);
        try (TokenVault v = open()) {
            assertEquals(1, v.getTokens().size());
        }
    }

    @Test
    void createIfMissingFalseOpensAnExistingStoreOnlyAndCreatesNothing() throws Exception {
        TokenStoreException e = expect(ErrorCode.NOT_FOUND,
                () -> TokenVault.builder().path(store).masterKey(key).createIfMissing(false).open());
        assertTrue(e.getMessage().contains(store.toString()), e.getMessage());
        assertEquals(Set.of(), listing(), "a file was created");

        OAuthToken t;
        try (TokenVault v = TokenVault.builder().path(store).masterKey(key).createIfMissing(true).open()) {
            t = saved(v, full("e"));
        }
        try (TokenVault v = TokenVault.builder().path(store).masterKey(key).createIfMissing(false).open()) {
            assertEquals(List.of(t), v.getTokens());
        }
        // in memory there is nothing to find: the option has no effect
        try (TokenVault v = TokenVault.builder().inMemory().masterKey(key).createIfMissing(false).open()) {
            assertEquals(0, v.getTokens().size());
        }
    }

    private Set<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
