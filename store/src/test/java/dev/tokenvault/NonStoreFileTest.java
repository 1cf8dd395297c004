package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mapdb.DB;
import org.mapdb.DBMaker;
import org.mapdb.Serializer;

/**
 * Opening a file that is not a store (or a damaged one) refuses it and leaves it exactly as it was: every byte, its
 * modification time, and nothing new beside it (no redo log, no temporary file) but, when the damage was found only
 * under the lock, the empty lock file.
 */
class NonStoreFileTest {
    private static final FileTime LONG_AGO = FileTime.fromMillis(1_000_000_000_000L);

    @TempDir Path dir;

    /** A kind of file that is not a usable store: how to make it, and the error opening it must give. */
    record Kind(String name, ErrorCode expected, Maker maker) {
        @Override
        public String toString() {
            return name;
        }
    }

    @FunctionalInterface
    interface Maker {
        void make(Path file) throws Exception;
    }

    static Stream<Kind> kinds() {
        Random random = new Random(7);
        return Stream.of(
                new Kind("text", ErrorCode.UNSUPPORTED_FORMAT,
                        f -> Files.writeString(f, "important notes\n")),
                new Kind("one byte", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f, new byte[] {'x'})),
                new Kind("one zero byte", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f, new byte[1])),
                new Kind("empty", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f, new byte[0])),
                new Kind("sqlite", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f,
                        concat("SQLite format 3\0".getBytes(StandardCharsets.US_ASCII), bytes(random, 4080)))),
                new Kind("4 KiB random", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f, bytes(random, 4096))),
                new Kind("1 MiB random", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f, bytes(random, 1 << 20))),
                new Kind("4 KiB zeros", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f, new byte[4096])),
                new Kind("1 MiB zeros", ErrorCode.UNSUPPORTED_FORMAT, f -> Files.write(f, new byte[1 << 20])),
                new Kind("store cut to 100 B", ErrorCode.CORRUPT, f -> truncatedStore(f, 100)),
                new Kind("store cut to 64 KiB", ErrorCode.CORRUPT, f -> truncatedStore(f, 64 * 1024)),
                new Kind("store cut to half", ErrorCode.CORRUPT, f -> truncatedStore(f, -2)),
                new Kind("a MapDB file of another program", ErrorCode.UNSUPPORTED_FORMAT, NonStoreFileTest::otherMapDb),
                new Kind("directory", ErrorCode.IO, Files::createDirectory),
                new Kind("FIFO", ErrorCode.IO, NonStoreFileTest::fifo),
                new Kind("link to /dev/null", ErrorCode.IO, f -> Files.createSymbolicLink(f, Path.of("/dev/null"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void aFileThatIsNotAStoreIsRefusedAndLeftExactlyAsItWas(Kind kind) throws Exception {
        Path file = dir.resolve("victim");
        kind.maker().make(file);
        boolean regular = Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS);
        if (regular) {
            Files.setLastModifiedTime(file, LONG_AGO);
        }
        byte[] before = regular ? Files.readAllBytes(file) : null;
        Set<String> listing = listing();

        for (boolean create : new boolean[] {true, false}) {
            TokenStoreException e = expect(kind.expected(), () -> TokenVault.builder().path(file)
                    .masterKey(MasterKey.generate()).createIfMissing(create).open());
            assertTrue(e.getMessage().contains(file.toString()), () -> "the message names no path: " + e.getMessage());
            Set<String> after = listing();
            // An open that found the damage only once it held the lock leaves its lock file, empty: removing it could
            // let two writers in (StoreLock.releaseAfterFailedOpen). Nothing else may appear.
            if (after.remove("victim.lock")) {
                assertEquals(0, Files.size(dir.resolve("victim.lock")), "the lock file left beside " + kind);
            }
            assertEquals(listing, after, "a file appeared or vanished beside " + kind);
            if (regular) {
                assertArrayEquals(before, Files.readAllBytes(file), "the bytes of " + kind + " changed");
                assertEquals(LONG_AGO, Files.getLastModifiedTime(file), "the modification time of " + kind + " changed");
            }
        }
    }

    @Test
    void aStoreOpenedOnlyToReadKeepsItsBytesAndModificationTime() throws Exception {
        Path file = dir.resolve("tokens.db");
        MasterKey key = MasterKey.generate();
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            v.saveToken(full("r"));
        }
        Files.setLastModifiedTime(file, LONG_AGO);
        byte[] before = Files.readAllBytes(file);
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).createIfMissing(false).open()) {
            assertTrue(v.verify().isClean());
            assertEquals(1, snapshot(v).size());
        }
        expect(ErrorCode.WRONG_KEY, () -> TokenVault.builder().path(file).masterKey(MasterKey.generate()).open());
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(LONG_AGO, Files.getLastModifiedTime(file), "a read-only use changed the modification time");
    }

    private Set<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static byte[] realStore;

    /** A real store of several MiB (made once), cut to {@code size} bytes ({@code -2}: to half its size). */
    private static void truncatedStore(Path file, long size) throws IOException {
        byte[] all = realStore();
        Files.write(file, Arrays.copyOf(all, (int) (size < 0 ? all.length / 2 : size)));
    }

    private static synchronized byte[] realStore() throws IOException {
        if (realStore == null) {
            Path scratch = Files.createTempDirectory("tokenvault-cut");
            Path store = scratch.resolve("s.db");
            try {
                try (TokenVault v = TokenVault.builder().path(store).masterKey(MasterKey.generate()).open()) {
                    List<OAuthToken> batch = new ArrayList<>();
                    for (int i = 0; i < 2000; i++) {
                        batch.add(OAuthToken.builder().userName("u" + i).accessToken("a" + i + "x".repeat(900))
                                .build());
                    }
                    v.saveTokens(batch);
                }
                realStore = Files.readAllBytes(store);
                assertTrue(realStore.length >= 2 << 20, "the store to cut is too small: " + realStore.length);
            } finally {
                for (String name : new String[] {"s.db", "s.db.redo", "s.db.lock"}) {
                    Files.deleteIfExists(scratch.resolve(name));
                }
                Files.delete(scratch);
            }
        }
        return realStore;
    }

    /** A MapDB 3 file with a map of its own: a MapDB header, but no tokenvault maps. */
    private static void otherMapDb(Path file) {
        try (DB db = DBMaker.fileDB(file.toFile()).make()) {
            db.hashMap("customers", Serializer.STRING, Serializer.STRING).createOrOpen().put("ada", "lovelace");
            db.commit();
        }
    }

    private static void fifo(Path file) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", file.toString()).inheritIO().start();
        } catch (IOException e) {
            Assumptions.abort("mkfifo is not available: " + e.getMessage());
            return;
        }
        Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo failed");
    }
}
