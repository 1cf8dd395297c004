package dev.tokenvault.cli;

import static dev.tokenvault.cli.CommandsTest.json;
import static dev.tokenvault.cli.CommandsTest.zohoToken;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.MasterKey;
import dev.tokenvault.TokenVault;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read commands (list, get, find, stats, verify) open the store read-only: they work on a store file of mode 0400
 * in a directory of mode 0500, and leave every file as it was. Tests run as root, which ignores permissions, so the
 * directory's files are compared (bytes, modification time, mode, and which exist) before and after.
 */
class CommandsReadOnlyTest {
    private static final FileTime LONG_AGO = FileTime.fromMillis(1_000_000_000_000L);

    @TempDir
    Path dir;

    @Test
    void readCommandsWorkOnAStoreTheUserMayOnlyReadAndChangeNothing() throws Exception {
        CliHarness cli = new CliHarness(dir).initStore();
        String id = json(cli.storeWithStdin(zohoToken(), "save", "--json", "--user", "ro@example.com",
                "--access-token-file", "-").expect(0)).path("token").path("id").asText();
        Files.setPosixFilePermissions(cli.store, PosixFilePermissions.fromString("r--------"));
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.setLastModifiedTime(f, LONG_AGO);
            }
        }
        Map<String, String> before = files();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        try {
            assertEquals(1, json(cli.store("list", "--json").expect(0)).path("count").asInt());
            assertTrue(cli.store("list").expect(0).out().contains(id));
            assertTrue(cli.store("get", id).expect(0).out().contains(id));
            assertTrue(cli.store("find", "--user", "ro@example.com").expect(0).out().contains(id));
            assertEquals(1, json(cli.store("stats", "--json").expect(0)).path("records").asInt());
            assertTrue(json(cli.store("verify", "--json").expect(0)).path("clean").asBoolean());
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        assertEquals(before, files(), "the read commands changed no file and created none");

        Files.setPosixFilePermissions(cli.store, PosixFilePermissions.fromString("rw-------"));
        cli.store("delete", id).expect(0); // write commands still open the store for writing
        assertEquals(0, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    @Test
    void aReadCommandWhileAnApplicationWritesIsLocked() throws Exception {
        CliHarness cli = new CliHarness(dir).initStore();
        try (TokenVault writer = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key)).open()) {
            assertEquals("LOCKED", json(cli.store("list", "--json").expect(ExitCode.LOCKED)).path("error")
                    .path("code").asText());
        }
        cli.store("list").expect(0);
    }

    /**
     * What a crashed application leaves: the store file as of its last checkpoint and a redo log holding the commits
     * since. A read command refuses it rather than list stale data, changes nothing, and says how to recover.
     */
    @Test
    void aReadCommandOnAStoreThatNeedsRecoveryRefusesAndNamesTheRemedy() throws Exception {
        CliHarness cli = new CliHarness(dir).initStore();
        byte[] checkpointed = Files.readAllBytes(cli.store);
        byte[] log;
        try (TokenVault app = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key)).open()) {
            app.saveToken(dev.tokenvault.OAuthToken.builder().userName("crash@example.com").accessToken("a1")
                    .build());
            log = Files.readAllBytes(dir.resolve("tokens.db.redo"));
        }
        Files.write(cli.store, checkpointed);
        Files.write(dir.resolve("tokens.db.redo"), log);
        Map<String, String> before = files();

        CliHarness.Run refused = cli.store("list").expect(ExitCode.IO);
        assertTrue(refused.err().contains("write access") && refused.err().contains("tokenvault repair"),
                refused.err());
        assertEquals(before, files(), "the refused read changed nothing");
        cli.store("repair").expect(0);
        assertEquals(1, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    /** Each file of the directory: name, and its bytes, modification time and mode. */
    private Map<String, String> files() throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                out.put(f.getFileName().toString(), Arrays.hashCode(Files.readAllBytes(f)) + "/"
                        + Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).toMillis() + "/"
                        + PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
            }
        }
        return out;
    }
}
