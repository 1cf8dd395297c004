package dev.tokenvault.cli;

import static dev.tokenvault.cli.CommandsTest.zohoToken;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs every command, success and failure, and checks that no output holds a secret unless --reveal is given. */
class NoSecretLeakTest {
    @TempDir
    Path dir;

    @Test
    void noCommandPrintsAnUnmaskedSecret() throws Exception {
        CliHarness cli = new CliHarness(dir).initStore();
        List<String> secrets = new ArrayList<>();
        String clientSecret = "cs-" + zohoToken();
        String access = zohoToken();
        String refresh = zohoToken();
        String grant = zohoToken();
        String csv = cli.secretFile("cs", clientSecret);
        String accessFile = cli.secretFile("a", access);
        String grantFile = cli.secretFile("g", grant);
        secrets.addAll(List.of(clientSecret, access, refresh, grant));

        // save, in both formats, and a save that conflicts
        cli.storeWithStdin(refresh, "save", "--user", "alice@example.com", "--client-id", "cid",
                "--client-secret-file", csv, "--access-token-file", accessFile, "--refresh-token-file", "-",
                "--grant-token-file", grantFile).expect(0);
        String id = CommandsTest.json(cli.store("find", "--json", "--user", "alice@example.com").expect(0))
                .path("token").path("id").asText();
        String access2 = zohoToken();
        secrets.add(access2);
        cli.storeWithStdin(access2, "save", "--json", "--id", id, "--access-token-file", "-").expect(0);
        cli.storeWithStdin(refresh, "save", "--user", "bob@example.com", "--refresh-token-file", "-").expect(5);
        cli.storeWithStdin(refresh, "save", "--json", "--user", "bob@example.com", "--refresh-token-file", "-")
                .expect(5);

        // every lookup path, both formats, found and not found
        for (boolean json : new boolean[] {true, false}) {
            cli.store(args(json, "find", "--user", "alice@example.com")).expect(0);
            cli.store(args(json, "find", "--access-token-file", cli.secretFile("a2", access2))).expect(0);
            cli.store(args(json, "find", "--access-token-file", accessFile)).expect(1);
            cli.storeWithStdin(refresh, args(json, "find", "--refresh-token-file", "-", "--client-id", "cid",
                    "--client-secret-file", csv)).expect(0);
            cli.store(args(json, "find", "--grant-token-file", grantFile, "--client-id", "cid",
                    "--client-secret-file", csv)).expect(0);
            cli.store(args(json, "find", "--id", id)).expect(0);
            cli.store(args(json, "get", id)).expect(0);
            cli.store(args(json, "get", "missing")).expect(1);
            cli.store(args(json, "list")).expect(0);
            cli.store(args(json, "stats")).expect(0);
            cli.store(args(json, "verify")).expect(0);
        }

        // imports: a conflicting one (problem report) and a good one
        String[] conflicting = ImportTest.row("900", "carol@example.com");
        conflicting[4] = refresh;
        String[] fine = ImportTest.row("901", "dave@example.com");
        for (String[] r : List.of(conflicting, fine)) {
            secrets.add(r[3]);
            secrets.add(r[5]);
        }
        secrets.add(fine[4]);
        java.nio.file.Path file = dir.resolve("t.csv");
        java.nio.file.Files.writeString(file, ZohoCsvSource.HEADER + "\n" + csvLine(conflicting) + "\n"
                + csvLine(fine) + "\n");
        cli.store("import", "--from", "zoho-csv", file.toString()).expect(5);
        cli.store("import", "--json", "--from", "zoho-csv", file.toString()).expect(5);
        java.nio.file.Files.writeString(file, ZohoCsvSource.HEADER + "\n" + csvLine(fine) + "\n");
        cli.store("import", "--from", "zoho-csv", "--dry-run", file.toString()).expect(0);
        cli.store("import", "--from", "zoho-csv", file.toString()).expect(0);
        cli.store("list").expect(0);

        // keys, deletion, the demo
        Path newKey = dir.resolve("new.key");
        cli.run("keygen", "--out", newKey.toString()).expect(0);
        cli.store("rotate-data-key").expect(0);
        cli.store("rotate-key", "--new-key-file", newKey.toString()).expect(0);
        cli.store("list").expect(3);
        String[] withNew = {"--store", cli.store.toString(), "--key-file", newKey.toString()};
        cli.run(CommandsTest.concat(withNew, "delete", id)).expect(0);
        cli.run(CommandsTest.concat(withNew, "delete", id)).expect(1);
        cli.run(CommandsTest.concat(withNew, "purge")).expect(2);
        cli.run(CommandsTest.concat(withNew, "purge", "--yes")).expect(0);
        cli.run("demo").expect(0);
        cli.run("demo", "--json").expect(0);

        String all = cli.allOutput();
        for (String s : secrets) {
            assertFalse(leaks(all, s), "a secret appears in the output:\n" + all);
        }

        // The check itself works: --reveal shows them.
        cli.runWithStdin(refresh, CommandsTest.concat(withNew, "save", "--user", "erin@example.com",
                "--refresh-token-file", "-")).expect(0);
        String revealed = cli.run(CommandsTest.concat(withNew, "--reveal", "list", "--json")).expect(0).all();
        assertTrue(revealed.contains("warning: --reveal"));
        assertTrue(leaks(revealed, refresh), revealed);
    }

    /** A secret given to a mistyped option is not repeated: the error names the option, never the words after it. */
    @Test
    void aMistypedOptionDoesNotPrintItsValue() throws Exception {
        CliHarness cli = new CliHarness(dir).initStore();
        String refresh = zohoToken();
        for (boolean json : new boolean[] {false, true}) {
            CliHarness.Run run = cli.store(args(json, "save", "--user", "bob", "--refresh-token", refresh))
                    .expect(2);
            assertTrue(run.err().contains("unknown option --refresh-token;") && run.err().contains(
                    "--refresh-token-file"), run.err());
            assertFalse(leaks(run.all(), refresh), run.all());
        }
        // with =, and an id-taking command where the option word becomes the id
        CliHarness.Run eq = cli.store("save", "--user", "bob", "--refresh-token=" + refresh).expect(2);
        assertTrue(eq.err().contains("unknown option --refresh-token;"), eq.err());
        CliHarness.Run get = cli.store("get", "--refresh-token", refresh).expect(2);
        assertTrue(get.err().contains("unknown option --refresh-token"), get.err());
        // the database password at the top level and import's
        CliHarness.Run db = cli.run("--db-password", "hunter2", "--store", "jdbc:mariadb://localhost/x", "list")
                .expect(2);
        assertTrue(db.err().contains("unknown option --db-password;") && db.err().contains("--db-password-file"),
                db.err());
        CliHarness.Run imp = cli.store("import", "--from", "jdbc", "jdbc:mariadb://localhost/x", "--user", "u",
                "--password", "hunter2").expect(2);
        assertTrue(imp.err().contains("unknown option --password;") && imp.err().contains("--password-file"),
                imp.err());
        CliHarness.Run two = cli.store("find", "--access-token", "hunter2", "--refresh-token", "x-" + refresh)
                .expect(2);
        assertTrue(two.err().contains("unknown options --access-token, --refresh-token"), two.err());
        // a mistyped command is named, unless an unknown option (whose value it may be) comes before it
        assertTrue(cli.run("lsit").expect(2).err().contains("unknown command lsit"), cli.allOutput());
        CliHarness.Run before = cli.run("--db-password", "hunter", "list").expect(2);
        assertTrue(before.err().contains("unknown option --db-password;") && !before.err().contains("hunter"),
                before.err());
        // words that are not options are not repeated either
        CliHarness.Run extra = cli.store("list", refresh).expect(2);
        assertTrue(extra.err().contains("unexpected argument for list"), extra.err());
        String all = cli.allOutput();
        assertFalse(leaks(all, refresh), all);
        assertFalse(all.contains("hunter2"), all);
    }

    /** A secret given where its file name belongs is not repeated in the error, on standard error or in JSON. */
    @Test
    void aSecretGivenAsAFileNameIsNotPrinted() throws Exception {
        CliHarness cli = new CliHarness(dir).initStore();
        String refresh = zohoToken();
        for (boolean json : new boolean[] {false, true}) {
            CliHarness.Run run = cli.store(args(json, "save", "--user", "bob", "--refresh-token-file", refresh))
                    .expect(2);
            assertTrue(run.err().contains("the file given to --refresh-token-file does not exist"), run.err());
            if (json) {
                assertTrue(CommandsTest.json(run).path("error").path("message").asText()
                        .contains("--refresh-token-file"), run.out());
            }
        }
        // a file that cannot be read (a directory named like the secret) and an empty one
        java.nio.file.Files.createDirectory(dir.resolve(refresh));
        CliHarness.Run unreadable = cli.store("find", "--refresh-token-file", dir.resolve(refresh).toString())
                .expect(6);
        assertTrue(unreadable.err().contains("cannot read the file given to --refresh-token-file"),
                unreadable.err());
        java.nio.file.Files.createFile(dir.resolve("x" + refresh));
        CliHarness.Run empty = cli.store("save", "--user", "bob", "--access-token-file",
                dir.resolve("x" + refresh).toString()).expect(2);
        assertTrue(empty.err().contains("the file given to --access-token-file is empty"), empty.err());
        String all = cli.allOutput();
        assertFalse(leaks(all, refresh), all);
    }

    @Test
    void aKeyGivenAsTheKeyFilesNameIsNotPrinted() {
        CliHarness cli = new CliHarness(dir);
        String key = java.util.Base64.getEncoder().encodeToString(new byte[32]).replace('A', 'k');
        CliHarness.Run run = cli.run("--store", dir.resolve("s.db").toString(), "--key-file", key, "list")
                .expect(2);
        assertTrue(run.err().contains("the key file given does not exist"), run.err());
        assertFalse(cli.allOutput().contains(key), cli.allOutput());
    }

    /**
     * A CSV file without its header line has a row of data where the header belongs: the error about its first
     * unknown "column" must not print that cell, which may be a token. A misspelt column name is still named.
     */
    @Test
    void aCsvFileWithoutItsHeaderDoesNotPrintItsFirstRow() throws Exception {
        CliHarness cli = new CliHarness(dir).initStore();
        String refresh = zohoToken();
        String secret = "cs" + zohoToken().substring(5, 37);
        Path file = dir.resolve("no-header.csv");
        java.nio.file.Files.writeString(file, refresh + ",alice@example.com,1000.CLIENTID," + secret + "\n");
        Path other = dir.resolve("secret-first.csv");
        java.nio.file.Files.writeString(other, secret + ",alice@example.com\n");
        for (Path f : List.of(file, other)) {
            for (boolean json : new boolean[] {false, true}) {
                CliHarness.Run run = cli.store(args(json, "import", "--from", "zoho-csv", f.toString())).expect(2);
                assertTrue(run.err().contains("unknown column 1") && run.err().contains("header line may be missing"),
                        run.err());
            }
        }
        String all = cli.allOutput();
        assertFalse(leaks(all, refresh), all);
        assertFalse(leaks(all, secret), all);

        Path misspelt = dir.resolve("misspelt.csv");
        java.nio.file.Files.writeString(misspelt, ZohoCsvSource.HEADER.replace("user_name", "user_email") + "\n");
        CliHarness.Run named = cli.store("import", "--from", "zoho-csv", misspelt.toString()).expect(2);
        assertTrue(named.err().contains("unknown column \"user_email\""), named.err());
    }

    /** A master key is a secret: keygen prints one only with --reveal (and warns), else it says to use --out. */
    @Test
    void keygenPrintsAKeyOnlyWithReveal() {
        CliHarness cli = new CliHarness(dir);
        java.util.regex.Pattern base64Key = java.util.regex.Pattern.compile("[A-Za-z0-9+/]{43}=");
        for (String[] args : List.of(new String[] {"keygen"}, new String[] {"keygen", "--json"},
                new String[] {"--json", "keygen"})) {
            CliHarness.Run run = cli.run(args).expect(2);
            assertFalse(base64Key.matcher(run.all()).find(), run.all());
            assertTrue(run.err().contains("--out FILE") && run.err().contains("--reveal"), run.err());
        }
        for (String[] args : List.of(new String[] {"keygen", "--reveal"}, new String[] {"--reveal", "keygen"},
                new String[] {"keygen", "--json", "--reveal"})) {
            CliHarness.Run run = cli.run(args).expect(0);
            assertTrue(base64Key.matcher(run.out()).find(), run.out());
            assertTrue(run.err().contains("warning: --reveal"), run.err());
        }
    }

    /** The whole secret, or any 12 characters of it past the four that masking shows. */
    static boolean leaks(String output, String secret) {
        for (int i = Secrets.PREFIX; i + 12 <= secret.length(); i += 4) {
            if (output.contains(secret.substring(i, i + 12))) {
                return true;
            }
        }
        return output.contains(secret);
    }

    static String[] args(boolean json, String... args) {
        return json ? CommandsTest.concat(args, "--json") : args;
    }

    static String csvLine(String[] row) {
        List<String> cells = new ArrayList<>();
        for (String c : row) {
            cells.add(ZohoCsvSource.quote(c));
        }
        return String.join(",", cells);
    }
}
