package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resources: a full disk and a read-only store file give {@code IO} errors with nothing half-written, and the store
 * works again once space (or write access) is back; the lock of a killed process does not block the next open.
 *
 * <p>The full disk is a real one: a 4 MiB tmpfs mounted for the test, which needs root (Linux). Without it the test
 * is skipped with a message on standard output, except in CI ({@code CI=true}), where it fails instead: CI must run
 * it. The read-only store file uses {@code chmod} for an ordinary user and a read-only bind mount for root (whom file
 * modes do not stop).
 */
class ResourceTest {
    private static final boolean CI = "true".equalsIgnoreCase(System.getenv("CI"));

    @TempDir
    Path dir;

    private final List<Path> mounts = new ArrayList<>();

    @AfterEach
    void unmount() throws Exception {
        for (int i = mounts.size() - 1; i >= 0; i--) {
            run("umount", "-l", mounts.get(i).toString());
        }
    }

    @Test
    void aFullDiskFailsWithIoChangesNothingAndTheStoreWorksOnceSpaceIsBack() throws Exception {
        Path mnt = mountTmpfs("4m");
        Path store = mnt.resolve("tokens.db");
        MasterKey key = MasterKey.generate();
        List<OAuthToken> expected;
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            for (int i = 0; i < 20; i++) {
                vault.saveToken(token("before-" + i, 100));
            }
            Path ballast = mnt.resolve("ballast");
            fill(ballast);

            // Saves until the disk refuses one; any that still fit in space the store had already are fine.
            int failures = 0;
            int accepted = 0;
            for (int i = 0; i < 400 && failures < 5; i++) {
                List<OAuthToken> before = snapshot(vault);
                OAuthToken t = token("full-" + i, 12_000);
                OAuthToken sent = t.copy();
                try {
                    vault.saveToken(t);
                    accepted++;
                } catch (TokenStoreException e) {
                    assertEquals(ErrorCode.IO, e.code(), () -> "a save on a full disk: " + e.getMessage());
                    failures++;
                    assertEquals(before, snapshot(vault), "a failed save changed the store");
                    assertNull(vault.findToken(OAuthToken.builder().userName(sent.getUserName()).build()),
                            "a failed save is findable");
                    assertEquals(sent, t, "a failed save changed the caller's token");
                    // an update of an existing record fails the same way, and leaves it as it was
                    OAuthToken update = OAuthToken.builder().userName("user-before-3")
                            .accessToken("updated-" + "u".repeat(12_000)).build();
                    try {
                        vault.saveToken(update);
                    } catch (TokenStoreException e2) {
                        assertEquals(ErrorCode.IO, e2.code(), e2::getMessage);
                        assertEquals(before, snapshot(vault), "a failed update changed the store");
                        continue;
                    }
                    // it fitted after all (the failed save's space was freed): that is a save like any other
                    accepted++;
                }
            }
            assertTrue(failures > 0, "the disk never filled up: " + accepted + " saves accepted");
            // compaction needs room for a second copy: IO, and the store keeps working on the old file
            List<OAuthToken> beforeCompaction = snapshot(vault);
            expect(ErrorCode.IO, vault::compact);
            assertEquals(beforeCompaction, snapshot(vault), "a failed compaction changed the store");
            assertFalse(Files.exists(mnt.resolve("tokens.db.compacting")), "a failed compaction left its copy");
            // so does a new store: nothing of it is left, on disk or open
            expect(ErrorCode.IO, () -> TokenVault.builder().path(mnt.resolve("new.db")).masterKey(key).open().close());
            try (var left = Files.list(mnt)) {
                assertEquals(List.of(), left.map(f -> f.getFileName().toString())
                        .filter(name -> name.startsWith("new.db") && !name.equals("new.db.lock")).toList(),
                        "a failed creation left files"); // the lock file stays, as every store's does
            }
            assertEquals(List.of(), openFilesUnder(mnt, "new.db", "tokens.db.compacting"),
                    "a failed creation or compaction left files open");

            // space is back: the same open vault accepts saves, and lookups still work
            Files.delete(ballast);
            OAuthToken after = token("after", 12_000);
            vault.saveToken(after);
            assertNotNull(vault.findToken(OAuthToken.builder().accessToken(after.getAccessToken()).build()));
            assertTrue(vault.verify().isClean(), () -> vault.verify().problems().toString());
            expected = snapshot(vault);
            System.out.printf("ResourceTest: full disk: %d saves accepted, %d refused with IO%n", accepted, failures);
        }
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            assertEquals(expected, snapshot(vault), "the store reopened with different data");
            assertTrue(vault.verify().isClean());
        }
    }

    @Test
    void aReadOnlyStoreFileFailsToOpenWithIoAndOpensOnceWritableAgain() throws Exception {
        Path store = dir.resolve("tokens.db");
        MasterKey key = MasterKey.generate();
        List<OAuthToken> expected;
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            for (int i = 0; i < 10; i++) {
                vault.saveToken(token("ro-" + i, 50));
            }
            expected = snapshot(vault);
        }
        byte[] bytes = Files.readAllBytes(store);
        Runnable restore = makeReadOnly(store);
        try {
            TokenStoreException e = expect(ErrorCode.IO,
                    () -> TokenVault.builder().path(store).masterKey(key).open().close());
            assertTrue(e.getMessage().contains(store.getFileName().toString()), e.getMessage());
        } finally {
            restore.run();
        }
        assertTrue(java.util.Arrays.equals(bytes, Files.readAllBytes(store)), "the refused open changed the file");
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open()) {
            assertEquals(expected, snapshot(vault));
            vault.saveToken(token("ro-after", 50));
            assertTrue(vault.verify().isClean());
        }
    }

    @Test
    void theLockOfAKilledProcessDoesNotBlockTheNextOpen() throws Exception {
        Path store = dir.resolve("tokens.db");
        StoreFixtures.Key key = StoreFixtures.Key.random();
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key.masterKey()).open()) {
            vault.saveToken(token("locked", 50));
        }
        Process child = new ProcessBuilder(ChildJvm.command(Holder.class, store.toString(), key.base64()))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            assertEquals("OPEN", out.readLine(), "the child did not open the store");
            expect(ErrorCode.LOCKED, () -> TokenVault.builder().path(store).masterKey(key.masterKey()).open());
        } finally {
            child.destroyForcibly(); // SIGKILL: the child never closes the store
        }
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child did not die");
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key.masterKey()).open()) {
            assertNotNull(vault.findToken(OAuthToken.builder().userName("user-locked").build()));
        }
    }

    /** Child JVM: opens the store, says so, and waits to be killed. */
    static final class Holder {
        public static void main(String[] args) throws InterruptedException {
            TokenVault vault = TokenVault.builder().path(Path.of(args[0])).masterKey(MasterKey.fromBase64(args[1]))
                    .open();
            System.out.println("OPEN");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
            vault.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static OAuthToken token(String tag, int accessLength) {
        return OAuthToken.builder().userName("user-" + tag).clientId("1000.client").clientSecret("secret-" + tag)
                .refreshToken("refresh-" + tag).accessToken("access-" + tag + "-" + "a".repeat(accessLength))
                .expiryTime("1700000000000").apiDomain("https://www.zohoapis.com").build();
    }

    /** Writes {@code file} until the file system is full. */
    /** The files under {@code dir} whose names start with one of {@code prefixes} that this process holds open. */
    private static List<String> openFilesUnder(Path dir, String... prefixes) throws IOException {
        List<String> open = new ArrayList<>();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                Path target;
                try {
                    target = Files.readSymbolicLink(fd);
                } catch (IOException gone) {
                    continue; // closed meanwhile (the listing's own descriptor)
                }
                if (target.startsWith(dir)) {
                    String name = target.getFileName().toString();
                    for (String prefix : prefixes) {
                        if (name.startsWith(prefix)) {
                            open.add(name);
                        }
                    }
                }
            }
        }
        try (var maps = Files.lines(Path.of("/proc/self/maps"))) { // mapped files keep no descriptor
            maps.map(line -> line.trim().split("\\s+", 6)).filter(f -> f.length == 6)
                    .map(f -> f[5].replace(" (deleted)", "")).filter(f -> f.startsWith(dir.toString()))
                    .map(f -> Path.of(f).getFileName().toString())
                    .filter(name -> java.util.Arrays.stream(prefixes).anyMatch(name::startsWith))
                    .forEach(name -> open.add(name + " (mapped)"));
        }
        return open;
    }

    private static void fill(Path file) {
        byte[] chunk = new byte[16 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException full) {
            // No space left on device: exactly what we want
        }
    }

    private Path mountTmpfs(String size) throws Exception {
        Path mnt = Files.createDirectories(dir.resolve("tmpfs"));
        String result = run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", mnt.toString());
        if (result != null) {
            unavailable("cannot mount a " + size + " tmpfs for the full-disk test (it needs root on Linux): " + result);
        }
        mounts.add(mnt);
        return mnt;
    }

    /** Makes {@code file} read-only for this process; returns how to undo it. */
    private Runnable makeReadOnly(Path file) throws Exception {
        var writable = Files.getPosixFilePermissions(file);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
        if (!Files.isWritable(file)) {
            return () -> {
                try {
                    Files.setPosixFilePermissions(file, writable);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            };
        }
        // root ignores file modes: bind-mount the file over itself, read-only
        Files.setPosixFilePermissions(file, writable);
        String result = run("mount", "--bind", file.toString(), file.toString());
        if (result == null) {
            mounts.add(file);
            result = run("mount", "-o", "remount,ro,bind", file.toString());
        }
        if (result != null || Files.isWritable(file)) {
            unavailable("cannot make " + file + " read-only for this process: " + result);
        }
        return () -> {
            try {
                run("umount", file.toString());
                mounts.remove(file);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    /** Skips with a visible message, except in CI, where every resource test must run (ReadOnlyTest uses it too). */
    static void unavailable(String why) {
        if (CI) {
            fail(why + " (CI=true: this test must run in CI)");
        }
        System.out.println("ResourceTest SKIPPED: " + why);
        Assumptions.abort(why);
    }

    /** Runs a command; {@code null} when it succeeded, else its output and exit code. */
    static String run(String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.getMessage();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? null : out + " (exit " + p.exitValue() + ")";
    }
}
