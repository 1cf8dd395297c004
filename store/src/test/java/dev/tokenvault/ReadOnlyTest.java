package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TokenVault.Builder#readOnly()}: reads work, every change fails with {@code READ_ONLY}, and no file is
 * created or changed. Tests run as root here, which ignores permissions, so besides making the store 0400 in a 0500
 * directory every test compares the directory's files (bytes, modification time, mode, and which exist) before and
 * after.
 */
class ReadOnlyTest {
    private static final FileTime LONG_AGO = FileTime.fromMillis(1_000_000_000_000L);

    @TempDir
    Path dir;

    private final StoreFixtures.Key raw = StoreFixtures.Key.random();
    private final MasterKey key = raw.masterKey();

    @Test
    void aReadOnlyStoreReadsEverythingAndEveryChangeFailsWithoutATrace() throws IOException {
        Path store = dir.resolve("s.db");
        List<OAuthToken> saved = populate(store, 3);
        Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("r--------"));
        Map<String, String> before = files(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            assertTrue(vault.isReadOnly());
            OAuthToken first = saved.get(0);
            assertEquals(first.getId(), vault.findToken(OAuthToken.builder().userName(first.getUserName()).build())
                    .getId());
            assertEquals(first.getId(), vault.findToken(OAuthToken.builder().userName(first.getUserName()).build())
                    .getId()); // the second time from the cache
            assertEquals(saved.get(1).getId(), vault.findToken(OAuthToken.builder()
                    .accessToken(saved.get(1).getAccessToken()).build()).getId());
            assertEquals(saved.get(2).getRefreshToken(), vault.findTokenById(saved.get(2).getId()).getRefreshToken());
            assertEquals(saved, snapshot(vault));
            VerifyReport report = vault.verify();
            assertTrue(report.isClean(), report.problems().toString());
            assertEquals(3, report.recordsChecked());
            VaultStats stats = vault.stats();
            assertEquals(3, stats.records());
            assertTrue(stats.cacheHitRate() > 0, "the cache served the repeated lookup");

            OAuthToken changed = full("new");
            for (Map.Entry<String, Executable> write : writes(vault, changed, saved.get(0).getId()).entrySet()) {
                TokenStoreException e = expect(ErrorCode.READ_ONLY, write.getValue());
                assertTrue(e.getMessage().contains(write.getKey()) && e.getMessage().contains("read-only")
                        && e.getMessage().contains(store.toString()), e.getMessage());
            }
            assertEquals(null, changed.getId(), "a refused save leaves the caller's token alone");
            assertEquals(saved, snapshot(vault));
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        assertEquals(before, files(dir), "a read-only open, its reads and its refused writes changed no file");
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            assertEquals(saved, snapshot(vault), "and it opens again");
        }
    }

    /**
     * Root ignores file modes, so the directory is bind-mounted read-only over itself (as {@link ResourceTest} does):
     * there every write fails, for root too. A writer cannot even take its lock; a reader works.
     */
    @Test
    void onADirectoryMountedReadOnlyAReaderWorksWhereAWriterCannot() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("ro"));
        Path store = sub.resolve("s.db");
        List<OAuthToken> saved = populate(store, 2);
        Map<String, String> before = files(sub);
        String failed = ResourceTest.run("mount", "--bind", sub.toString(), sub.toString());
        if (failed != null) {
            ResourceTest.unavailable("cannot bind-mount " + sub + " (it needs root on Linux): " + failed);
            return;
        }
        try {
            failed = ResourceTest.run("mount", "-o", "remount,ro,bind", sub.toString());
            if (failed != null) {
                ResourceTest.unavailable("cannot remount " + sub + " read-only: " + failed);
                return;
            }
            expect(ErrorCode.IO, () -> TokenVault.builder().path(store).masterKey(key).open());
            try (TokenVault reader = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
                assertEquals(saved, snapshot(reader));
                assertTrue(reader.verify().isClean());
                expect(ErrorCode.READ_ONLY, () -> reader.saveToken(full("x")));
            }
        } finally {
            ResourceTest.run("umount", "-l", sub.toString());
        }
        assertEquals(before, files(sub));
    }

    /**
     * README, readOnly(): every change fails with READ_ONLY "(before its arguments are checked)": a bad argument to a
     * change of a read-only vault is READ_ONLY, not INVALID_ARGUMENT, and not NOT_FOUND for an absent id.
     */
    @Test
    void aChangeIsReadOnlyBeforeItsArgumentsAreChecked() throws IOException {
        Path store = dir.resolve("s.db");
        List<OAuthToken> saved = populate(store, 1);
        Map<String, String> before = files(dir);
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            expect(ErrorCode.READ_ONLY, () -> vault.saveToken(null));
            expect(ErrorCode.READ_ONLY, () -> vault.saveToken(new OAuthToken())); // an insert without any token
            expect(ErrorCode.READ_ONLY, () -> vault.saveTokens(null));
            expect(ErrorCode.READ_ONLY, () -> vault.deleteToken(null));
            expect(ErrorCode.READ_ONLY, () -> vault.deleteToken(""));
            expect(ErrorCode.READ_ONLY, () -> vault.deleteToken("no-such-id"));
            expect(ErrorCode.READ_ONLY, () -> vault.rotateMasterKey(null));
            assertEquals(saved, snapshot(vault));
        }
        assertEquals(before, files(dir));
    }

    /** README, readOnly(): "within one process a second open of the same store is LOCKED whatever its mode". */
    @Test
    void aSecondReadOnlyOpenInThisProcessIsLocked() throws IOException {
        Path store = dir.resolve("s.db");
        List<OAuthToken> saved = populate(store, 1);
        try (TokenVault reader = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            expect(ErrorCode.LOCKED, () -> TokenVault.builder().path(store).masterKey(key).readOnly().open());
            assertEquals(saved, snapshot(reader), "the refused second reader left the first working");
        }
        try (TokenVault again = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            assertEquals(saved, snapshot(again), "once the first reader closed, a reader opens");
        }
    }

    /**
     * README, readOnly(): "a PATH.lock it cannot read is IO", and (Files) PATH.lock is never opened through a symbolic
     * link. Tests run as root, which reads any file whatever its mode, so the unreadable lock file here is a link: a
     * reader does not take it for an absent lock file and read the store unlocked.
     */
    @Test
    void aLockFileThatCannotBeOpenedIsIoForAReader() throws IOException {
        Path store = dir.resolve("s.db");
        populate(store, 1);
        Path lock = dir.resolve("s.db.lock");
        Path target = Files.createDirectory(dir.resolve("elsewhere")).resolve("target.lock");
        Files.move(lock, target);
        Files.createSymbolicLink(lock, target);
        Map<String, String> before = files(dir);
        TokenStoreException e = expect(ErrorCode.IO,
                () -> TokenVault.builder().path(store).masterKey(key).readOnly().open());
        assertTrue(e.getMessage().contains("s.db.lock"), e.getMessage());
        assertEquals(before, files(dir));
    }

    @Test
    void anAbsentStoreIsNotFoundAndNothingIsCreated() throws IOException {
        Path store = dir.resolve("absent.db");
        TokenStoreException e = expect(ErrorCode.NOT_FOUND,
                () -> TokenVault.builder().path(store).masterKey(key).readOnly().open());
        assertTrue(e.getMessage().contains(store.toString()), e.getMessage());
        assertEquals(Map.of(), files(dir));
    }

    @Test
    void inMemoryCannotBeReadOnly() {
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().inMemory().masterKey(key).readOnly().open());
    }

    @Test
    void aReaderAndAWriterExcludeEachOther() throws IOException {
        Path store = dir.resolve("s.db");
        List<OAuthToken> saved = populate(store, 1);
        try (TokenVault writer = TokenVault.builder().path(store).masterKey(key).open()) {
            expect(ErrorCode.LOCKED, () -> TokenVault.builder().path(store).masterKey(key).readOnly().open());
            assertEquals(saved, snapshot(writer), "the refused reader left the writer working");
        }
        try (TokenVault reader = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            expect(ErrorCode.LOCKED, () -> TokenVault.builder().path(store).masterKey(key).open());
            assertEquals(saved, snapshot(reader), "the refused writer left the reader working");
        }
        try (TokenVault writer = TokenVault.builder().path(store).masterKey(key).open()) {
            assertEquals(saved, snapshot(writer), "once the reader closed, a writer opens");
        }
    }

    /** The same across processes, where OS locks decide: readers share the store, and exclude writers. */
    @Test
    void acrossProcessesReadersShareTheStoreAndExcludeWriters() throws Exception {
        Path store = dir.resolve("s.db");
        populate(store, 1);
        try (TokenVault writer = TokenVault.builder().path(store).masterKey(key).open()) {
            String child = StoreFixtures.runProbe(Map.of(), "read", store.toString(), raw.base64()).out();
            assertTrue(child.contains("LOCKED"), "a reader while another process writes: " + child);
        }
        try (TokenVault reader = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            String child = StoreFixtures.runProbe(Map.of(), "read", store.toString(), raw.base64()).out();
            assertTrue(child.contains("OK 1"), "a second reader in another process: " + child);
            child = StoreFixtures.runProbe(Map.of(), "open", store.toString(), raw.base64()).out();
            assertTrue(child.contains("LOCKED"), "a writer while another process reads: " + child);
            assertEquals(1, reader.getTokens().size());
        }
    }

    @Test
    void withoutALockFileAReadOnlyOpenReadsAndCreatesNone() throws IOException {
        Path store = dir.resolve("s.db");
        List<OAuthToken> saved = populate(store, 2);
        Files.delete(dir.resolve("s.db.lock"));
        Map<String, String> before = files(dir);
        try (TokenVault reader = TokenVault.builder().path(store).masterKey(key).readOnly().open()) {
            assertEquals(saved, snapshot(reader));
        }
        assertEquals(before, files(dir), "no lock file, nor anything else, was created");
    }

    /**
     * What a kill leaves: the main file as of the last checkpoint and a redo log holding the commits since (copied
     * while the writer is open, as StructureFuzzTest does). Reading the main file alone would miss the second token.
     */
    @Test
    void aRedoLogToReplayIsRefusedRatherThanReadStale() throws IOException {
        Path store = dir.resolve("s.db");
        List<OAuthToken> saved = populate(store, 1);
        byte[] checkpointed = Files.readAllBytes(store);
        byte[] log;
        try (TokenVault writer = TokenVault.builder().path(store).masterKey(key).open()) {
            saved.add(StoreFixtures.saved(writer, full("after-checkpoint")));
            log = Files.readAllBytes(dir.resolve("s.db.redo"));
        }
        Path crashed = Files.createDirectory(dir.resolve("crashed"));
        Path copy = crashed.resolve("c.db");
        Files.write(copy, checkpointed);
        Files.write(crashed.resolve("c.db.redo"), log);
        Map<String, String> before = files(crashed);

        TokenStoreException e = expect(ErrorCode.READ_ONLY,
                () -> TokenVault.builder().path(copy).masterKey(key).readOnly().open());
        assertTrue(e.getMessage().contains("c.db.redo") && e.getMessage().contains("write access"), e.getMessage());
        assertEquals(before, files(crashed), "the refused open changed nothing");

        try (TokenVault writer = TokenVault.builder().path(copy).masterKey(key).open()) {
            assertEquals(2, writer.getTokens().size(), "a writer replays the log");
        }
        saved.sort(java.util.Comparator.comparing(OAuthToken::getId));
        try (TokenVault reader = TokenVault.builder().path(copy).masterKey(key).readOnly().open()) {
            assertEquals(saved, snapshot(reader), "after the recovery a reader sees both tokens");
        }
    }

    @Test
    void aStoreWhoseKeysWereNeverWrittenIsNotFoundAndNotInitialised() throws IOException {
        Path store = dir.resolve("blank.db");
        MapDbEngine.open(store, Field.INDEXED.length).close(); // what a crash during a store's creation leaves
        Map<String, String> before = files(dir);
        expect(ErrorCode.NOT_FOUND, () -> TokenVault.builder().path(store).masterKey(key).readOnly().open());
        assertEquals(before, files(dir));
    }

    @Test
    void aReadOnlyOpenWithTheWrongKeyIsWrongKey() throws IOException {
        Path store = dir.resolve("s.db");
        populate(store, 1);
        Map<String, String> before = files(dir);
        expect(ErrorCode.WRONG_KEY,
                () -> TokenVault.builder().path(store).masterKey(MasterKey.generate()).readOnly().open());
        assertEquals(before, files(dir));
    }

    // ---------------------------------------------------------------- helpers

    /** A closed store of {@code n} tokens; every file's modification time set far back, so any write shows. */
    private List<OAuthToken> populate(Path store, int n) throws IOException {
        List<OAuthToken> saved = new java.util.ArrayList<>();
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            for (int i = 0; i < n; i++) {
                saved.add(StoreFixtures.saved(vault, full("t" + i)));
            }
            saved = snapshot(vault);
        }
        try (Stream<Path> files = Files.list(store.getParent())) {
            for (Path f : files.toList()) {
                Files.setLastModifiedTime(f, LONG_AGO);
            }
        }
        return saved;
    }

    /** Every file in {@code dir}: its name, and the digest of its bytes with its modification time and mode. */
    static Map<String, String> files(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                out.put(f.getFileName().toString(), sha256(Files.readAllBytes(f)) + " "
                        + Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).toMillis() + " "
                        + PosixFilePermissions.toString(Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS)));
            }
        }
        return out;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Every call that changes the store, by the name its message gives. */
    private static Map<String, Executable> writes(TokenVault vault, OAuthToken token, String id) {
        Map<String, Executable> w = new LinkedHashMap<>();
        w.put("saveToken", () -> vault.saveToken(token));
        w.put("saveTokens", () -> vault.saveTokens(List.of(token)));
        w.put("deleteToken", () -> vault.deleteToken(id));
        w.put("deleteTokens", vault::deleteTokens);
        w.put("rotateMasterKey", () -> vault.rotateMasterKey(MasterKey.generate()));
        w.put("rotateDataKey", vault::rotateDataKey);
        w.put("resealAll", vault::resealAll);
        w.put("rotateIndexKey", vault::rotateIndexKey);
        w.put("repair", vault::repair);
        w.put("compact", vault::compact);
        assertNotNull(id);
        assertFalse(w.isEmpty());
        return w;
    }
}
