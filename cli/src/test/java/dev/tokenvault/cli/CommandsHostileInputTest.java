package dev.tokenvault.cli;

import static dev.tokenvault.cli.CommandsTest.json;
import static dev.tokenvault.cli.CommandsTest.zohoToken;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Data and arguments chosen to mislead: control characters, short passphrases, huge numbers, odd paths. */
class CommandsHostileInputTest {
    static final String EVIL_USER = "evil\u001b]0;PWNED\u0007\u001b[2K\rroot@x\nsecond line\u202Eeman";

    @TempDir
    Path dir;
    CliHarness cli;

    @BeforeEach
    void setUp() {
        cli = new CliHarness(dir);
    }

    static void assertNoControlCharacters(String output) {
        for (char c : output.toCharArray()) {
            assertTrue(c == '\n' || !Text.unsafe(c), () -> "raw U+" + Integer.toHexString(c) + " in:\n" + output);
        }
    }

    @Test
    void controlCharactersInDataNeverReachTheTerminal() throws Exception {
        cli.initStore();
        String id = json(cli.storeWithStdin(zohoToken(), "save", "--json", "--user", EVIL_USER,
                "--access-token-file", "-").expect(0)).path("token").path("id").asText();
        String list = cli.store("list").expect(0).out();
        assertTrue(list.contains("evil\\x1B]0;PWNED\\x07\\x1B[2K\\x0Droot@x\\x0Asecond line\\u202Eeman"), list);
        assertEquals(3, list.lines().count(), list); // header, row, count: the newline did not break the row
        assertTrue(cli.store("get", id).expect(0).out().contains("\\x1B]0;PWNED"));
        cli.store("find", "--user", EVIL_USER).expect(0);
        cli.store("get", "nope\u001b[2J").expect(2); // the store refuses ids with control characters
        // JSON keeps the value exactly, also for the characters JSON leaves raw (DEL, C1, bidirectional controls).
        assertEquals(EVIL_USER, json(cli.store("get", "--json", id).expect(0)).path("token").path("userName")
                .asText());
        String raw = "c1\u009bdel\u007fbidi\u2066";
        String other = json(cli.storeWithStdin(zohoToken(), "save", "--json", "--user", raw, "--access-token-file",
                "-").expect(0)).path("token").path("id").asText();
        assertEquals(raw, json(cli.store("get", "--json", other).expect(0)).path("token").path("userName").asText());
        // An import problem report names the row by an id that holds escape codes (the store refuses such ids).
        Path csv = dir.resolve("evil.csv");
        Files.writeString(csv, ZohoCsvSource.HEADER + "\n\"s8\u001b[31mRED\",plain@example.com,,,,"
                + zohoToken() + ",,,,\n");
        String report = cli.store("import", "--from", "zoho-csv", csv.toString()).expect(2).out();
        assertTrue(report.contains("s8\\x1B[31mRED"), report);
        assertNoControlCharacters(cli.allOutput().replace(EVIL_USER.replace("\n", ""), ""));
    }

    @Test
    void textSafeEscapesEveryKind() {
        assertEquals("a\\x1Bb\\x07\\x0D\\x0A\\x09\\x7F\\x9B\\u202E\\u2066\\u2028ok", Text.safe(
                "a\u001bb\u0007\r\n\t\u007f\u009b\u202e\u2066\u2028ok"));
        assertEquals("plain \u00e9 \u4e2d", Text.safe("plain \u00e9 \u4e2d"));
    }

    @Test
    void newPassphrasesNeedTwelveCharactersUnlessOverridden() {
        String store = cli.store.toString();
        cli.env.put("TOKENVAULT_PASSPHRASE", "a");
        CliHarness.Run refused = cli.run("--store", store, "init").expect(2);
        assertTrue(refused.err().contains("at least 12") && refused.err().contains("--allow-short-passphrase"),
                refused.err());
        assertFalse(Files.exists(cli.store));
        cli.run("--store", store, "init", "--allow-short-passphrase").expect(0);
        cli.run("--store", store, "list").expect(0); // opening an existing store has no minimum
        cli.env.put("TOKENVAULT_NEW_PASSPHRASE", "short");
        assertTrue(cli.run("--store", store, "rotate-key", "--new-passphrase").expect(2).err().contains("at least 12"));
        cli.run("--store", store, "rotate-key", "--new-passphrase", "--allow-short-passphrase").expect(0);
        cli.passphrases.add("tiny".toCharArray());
        cli.passphrases.add("tiny".toCharArray());
        cli.env.clear();
        assertTrue(cli.run("--store", dir.resolve("p.db").toString(), "--passphrase", "init").expect(2).err()
                .contains("at least 12"));
    }

    @Test
    void expiresInIsBoundedAndNamed() {
        cli.initStore();
        for (String value : List.of("99999999999999999", "9300000000000000", "-1")) {
            CliHarness.Run run = cli.storeWithStdin(zohoToken(), "save", "--user", "u@example.com",
                    "--access-token-file", "-", "--expires-in", value).expect(2);
            assertTrue(run.err().contains("--expires-in"), run.err());
            assertFalse(run.err().contains("expiryTime"), run.err());
        }
        cli.store("save", "--user", "u@example.com", "--expires-in", "99999999999999999999").expect(2);
    }

    @Test
    void misleadingMessagesAreFixed() throws Exception {
        cli.initStore();
        // rotate-key --new-passphrase without a terminal names the variable it reads.
        cli.terminal = false;
        assertTrue(cli.store("rotate-key", "--new-passphrase").expect(2).err().contains("TOKENVAULT_NEW_PASSPHRASE"));
        // A directory as key file.
        assertTrue(cli.run("--store", cli.store.toString(), "--key-file", dir.toString(), "list").expect(2).err()
                .contains("is a directory, not a key file"));
        // An empty --store.
        assertTrue(cli.run("--store", "", "--key-file", cli.key.toString(), "list").expect(2).err()
                .contains("--store must name a file"));
        // keygen into a directory that does not exist says so.
        assertTrue(cli.run("keygen", "--out", "/nonexistent/dir/k.key").expect(6).err()
                .contains("the directory /nonexistent/dir does not exist"));
        // `get --bogus` is an unknown option, not a missing id; `get -- --bogus` looks the id up.
        assertTrue(cli.store("get", "--bogus").expect(2).err().contains("unknown option --bogus"));
        cli.store("get", "--", "--bogus").expect(1);
        cli.store("delete", "--bogus").expect(2);
    }

    @Test
    void aStoreInADirectoryThisUserMayNotWriteSaysPermissionDenied() throws Exception {
        cli.initStore();
        Path ro = dir.resolve("ro");
        Files.createDirectory(ro);
        Files.copy(cli.store, ro.resolve("s.db"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            org.junit.jupiter.api.Assumptions.assumeFalse(Files.isWritable(ro), "running as root: permissions "
                    + "do not apply");
            // a write command needs the lock and redo files; a read command opens read-only and works
            CliHarness.Run run = cli.run("--store", ro.resolve("s.db").toString(), "--key-file", cli.key.toString(),
                    "delete", "some-id").expect(6);
            assertTrue(run.err().contains("permission denied"), run.err());
            cli.run("--store", ro.resolve("s.db").toString(), "--key-file", cli.key.toString(), "list").expect(0);
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }
}
