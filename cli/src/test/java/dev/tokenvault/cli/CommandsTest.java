package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenvault.MasterKey;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every command through {@code CommandLine.execute}: success and failure paths, exit codes, output. */
class CommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    Path dir;
    CliHarness cli;

    @BeforeEach
    void setUp() {
        cli = new CliHarness(dir);
    }

    static String zohoToken() {
        byte[] a = new byte[16];
        byte[] b = new byte[16];
        RANDOM.nextBytes(a);
        RANDOM.nextBytes(b);
        return "1000." + HexFormat.of().formatHex(a) + "." + HexFormat.of().formatHex(b);
    }

    static JsonNode json(CliHarness.Run run) throws Exception {
        return JSON.readTree(run.out());
    }

    /** Saves a token for {@code user}; returns its id. */
    String save(String user, String access, String refresh) throws Exception {
        CliHarness.Run run = cli.storeWithStdin(refresh, "save", "--json", "--user", user, "--client-id", "cid",
                "--client-secret-file", cli.secretFile("secret-" + user, "client-secret-0123456789"),
                "--access-token-file", cli.secretFile("access-" + user, access),
                "--refresh-token-file", "-", "--expiry-time", "1800000000000",
                "--api-domain", "https://www.zohoapis.com").expect(0);
        return json(run).path("token").path("id").asText();
    }

    // ---------------------------------------------------------------- global

    @Test
    void versionHelpAndUsage() {
        assertTrue(cli.run("--version").expect(0).out().startsWith("tokenvault "));
        String help = cli.run("--help").expect(0).out();
        for (String c : new String[] {"keygen", "init", "save", "find", "get", "list", "delete", "purge", "verify",
            "stats", "rotate-key", "rotate-data-key", "import", "demo"}) {
            assertTrue(help.contains(c), c);
            String sub = cli.run(c, "--help").expect(0).out();
            assertTrue(sub.contains("Exit codes:") && sub.contains("4   store locked"), c + ":\n" + sub);
        }
        assertTrue(help.contains("TOKENVAULT_MASTER_KEY"));
        assertTrue(cli.run().expect(2).err().contains("missing command"));
        cli.run("frobnicate").expect(2);
        cli.run("list", "--no-such-option").expect(2);
    }

    @Test
    void secretsAreNeverAcceptedAsArguments() {
        cli.initStore();
        CliHarness.Run run = cli.store("save", "--user", "u", "--access-token", "1000.abcdef0123456789abcdef")
                .expect(2);
        assertTrue(run.err().contains("--access-token"), run.err());
        cli.store("find", "--refresh-token", "x").expect(2);
        cli.store("save", "--client-secret", "x").expect(2);
    }

    /** keygen and demo use no store: a store option after them is named as not theirs. */
    @Test
    void keygenAndDemoNameTheOptionsTheyDoNotTake() {
        CliHarness.Run keygen = cli.run("--json", "keygen", "--passphrase").expect(2);
        assertTrue(keygen.err().contains("keygen does not take --passphrase"), keygen.err());
        CliHarness.Run demo = cli.run("demo", "--key-file", "some.key", "--store", "x.db").expect(2);
        assertTrue(demo.err().contains("demo does not take --key-file, --store"), demo.err());
        assertFalse(demo.err().contains("some.key"), demo.err());
        // an unknown option is still named as unknown beside them
        assertTrue(cli.run("keygen", "--wait", "5s", "--bogus").expect(2).err()
                .contains("unknown option --bogus; keygen does not take --wait"), cli.allOutput());
    }

    /** The database options on a file store: the error says where the file came from, not a variable never set. */
    @Test
    void databaseOptionsOnTheDefaultStoreDoNotBlameTokenvaultStore() {
        CliHarness.Run run = cli.run("--db-user", "u", "list").expect(2);
        assertFalse(run.err().contains("TOKENVAULT_STORE names a file"), run.err());
        assertTrue(run.err().contains("the default store ./tokenvault.db"), run.err());
        assertTrue(cli.run("--store", "s.db", "--db-user", "u", "list").expect(2).err()
                .contains("--store names a file"), cli.allOutput());
        cli.env.put("TOKENVAULT_STORE", "s.db");
        assertTrue(cli.run("--table-prefix", "p", "list").expect(2).err()
                .contains("TOKENVAULT_STORE names a file"), cli.allOutput());
    }

    // ---------------------------------------------------------------- keygen, init

    @Test
    void keygenPrintsAKeyOrCreatesAnOwnerOnlyFileOnce() throws Exception {
        String printed = cli.run("keygen", "--reveal").expect(0).out().strip();
        assertEquals(32, Base64.getDecoder().decode(printed).length);
        Path file = dir.resolve("k");
        cli.run("keygen", "--out", file.toString()).expect(0);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        byte[] before = Files.readAllBytes(file);
        assertEquals(32, Base64.getDecoder().decode(new String(before).strip()).length);
        assertTrue(cli.run("keygen", "--out", file.toString()).expect(5).err().contains("never overwrites"));
        assertEquals(new String(before), Files.readString(file));
        cli.run("keygen", "--out", dir.resolve("no/such/dir/k").toString()).expect(6);
        assertEquals(32, Base64.getDecoder().decode(json(cli.run("keygen", "--json", "--reveal").expect(0))
                .path("masterKey").asText()).length);
    }

    @Test
    void initCreatesOnceAndNeedsAKey() throws Exception {
        cli.run("--store", cli.store.toString(), "init").expect(2); // no key at all
        assertFalse(Files.exists(cli.store));
        cli.run("keygen", "--out", cli.key.toString()).expect(0);
        cli.store("init").expect(0);
        assertTrue(Files.exists(cli.store));
        assertTrue(cli.store("init").expect(5).err().contains("already exists"));
        assertTrue(cli.store("list").expect(0).out().contains("no tokens"));
        // The store path from the environment; a group-readable key file is refused.
        Path loose = dir.resolve("loose.key");
        Files.writeString(loose, Base64.getEncoder().encodeToString(new byte[32]));
        Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rw-r--r--"));
        cli.env.put("TOKENVAULT_STORE", dir.resolve("env.db").toString());
        assertTrue(cli.run("--key-file", loose.toString(), "init").expect(2).err().contains("chmod 600"));
        cli.run("--key-file", cli.key.toString(), "init").expect(0);
        assertTrue(Files.exists(dir.resolve("env.db")));
        cli.run("--key-file", dir.resolve("missing.key").toString(), "list").expect(2);
    }

    @Test
    void keyFromEnvironmentAndConflictingSources() throws Exception {
        String key = cli.run("keygen", "--reveal").expect(0).out().strip();
        cli.env.put("TOKENVAULT_MASTER_KEY", key);
        cli.run("--store", cli.store.toString(), "init").expect(0);
        cli.run("--store", cli.store.toString(), "stats").expect(0);
        cli.env.put("TOKENVAULT_PASSPHRASE", "correct horse");
        assertTrue(cli.run("--store", cli.store.toString(), "stats").expect(2).err().contains("both"));
        cli.env.remove("TOKENVAULT_PASSPHRASE");
        cli.env.put("TOKENVAULT_MASTER_KEY", "not base64!");
        assertTrue(cli.run("--store", cli.store.toString(), "stats").expect(2).err()
                .contains("TOKENVAULT_MASTER_KEY"));
        cli.env.remove("TOKENVAULT_MASTER_KEY");
        cli.run("keygen", "--out", cli.key.toString()).expect(0);
        cli.run("--store", cli.store.toString(), "--key-file", cli.key.toString(), "--passphrase", "stats")
                .expect(2);
    }

    @Test
    void passphrasePromptsWithoutEchoAndConfirmsOnInit() {
        String store = cli.store.toString();
        cli.passphrases.add("correct horse".toCharArray());
        cli.passphrases.add("correct hörse".toCharArray());
        assertTrue(cli.run("--store", store, "--passphrase", "init").expect(2).err().contains("do not match"));
        cli.passphrases.clear();
        cli.passphrases.add("correct horse".toCharArray());
        cli.passphrases.add("correct horse".toCharArray());
        cli.run("--store", store, "--passphrase", "init").expect(0);
        cli.passphrases.add("correct horse".toCharArray());
        cli.run("--store", store, "--passphrase", "stats").expect(0);
        cli.passphrases.add("wrong horse".toCharArray());
        cli.run("--store", store, "--passphrase", "stats").expect(3);
        // no console (standard output piped, say): refused, never prompted with echo; the message says what to do
        cli.terminal = false;
        String refused = cli.run("--store", store, "--passphrase", "stats").expect(2).err();
        assertTrue(refused.contains("standard input and standard output to be a terminal")
                && refused.contains("set TOKENVAULT_PASSPHRASE instead") && refused.contains("read -rs")
                && refused.contains("key file"), refused);
        cli.env.put("TOKENVAULT_PASSPHRASE", "correct horse");
        cli.run("--store", store, "stats").expect(0);
    }

    @Test
    void copysPassphrasePromptNamesItsSourceNotTheDefaultStore() {
        String store = cli.store.toString();
        cli.passphrases.add("correct horse".toCharArray());
        cli.passphrases.add("correct horse".toCharArray());
        cli.run("--store", store, "--passphrase", "init").expect(0);
        cli.env.put("TOKENVAULT_STORE", dir.resolve("elsewhere.db").toString());
        cli.prompts.clear();
        cli.passphrases.add("correct horse".toCharArray());
        cli.run("--passphrase", "copy", "--from", store, "--to", dir.resolve("copy.db").toString()).expect(0);
        assertEquals(java.util.List.of("Passphrase for " + store + ": "), cli.prompts);
    }

    @Test
    void copyFromAMissingStoreIsSix() {
        cli.run("keygen", "--out", cli.key.toString()).expect(0);
        Path target = dir.resolve("copy.db");
        CliHarness.Run run = cli.run("--key-file", cli.key.toString(), "copy", "--from",
                dir.resolve("nothere.db").toString(), "--to", target.toString()).expect(ExitCode.IO);
        assertTrue(run.err().contains("no store at " + dir.resolve("nothere.db")), run.err());
        assertFalse(Files.exists(target));
    }

    /** Standard input is read once: two options given - are refused before either reads, whichever they are. */
    @Test
    void twoOptionsReadingStandardInputAreRefused() throws Exception {
        cli.initStore();
        String url = "jdbc:mariadb://127.0.0.1:1/never"; // refused before anything connects
        CliHarness.Run save = cli.runWithStdin("pw", "--store", url, "--db-password-file", "-", "--key-file",
                cli.key.toString(), "save", "--json", "--user", "u", "--refresh-token-file", "-").expect(2);
        assertTrue(save.err().contains("only one option can read standard input (-), but --db-password-file and "
                + "--refresh-token-file are given -"), save.err());
        assertEquals("USAGE", json(save).path("error").path("code").asText());
        CliHarness.Run imp = cli.storeWithStdin("pw", "import", "--from", "jdbc", url, "--password-file", "-",
                "--db-password-file", "-").expect(2);
        assertTrue(imp.err().contains("--password-file and --db-password-file are given -")
                || imp.err().contains("--db-password-file and --password-file are given -"), imp.err());
        CliHarness.Run copy = cli.runWithStdin("pw", "--key-file", cli.key.toString(), "copy", "--from", url,
                "--from-password-file", "-", "--to", url + "2", "--to-password-file", "-").expect(2);
        assertTrue(copy.err().contains("--from-password-file and --to-password-file are given -"), copy.err());
        CliHarness.Run tokens = cli.storeWithStdin("x", "find", "--access-token-file", "-", "--grant-token-file",
                "-", "--client-secret-file", "-").expect(2);
        assertTrue(tokens.err().contains("only one option can read standard input"), tokens.err());
        assertFalse(cli.allOutput().contains("is empty"), cli.allOutput());
    }

    // ---------------------------------------------------------------- errors shared by all store commands

    @Test
    void wrongKeyIsThree() {
        cli.initStore();
        Path other = dir.resolve("other.key");
        cli.run("keygen", "--out", other.toString()).expect(0);
        for (String c : new String[] {"list", "stats", "verify", "get", "purge"}) {
            String[] args = c.equals("get") ? new String[] {"--store", cli.store.toString(), "--key-file",
                other.toString(), c, "x"} : c.equals("purge")
                ? new String[] {"--store", cli.store.toString(), "--key-file", other.toString(), c, "--yes"}
                : new String[] {"--store", cli.store.toString(), "--key-file", other.toString(), c};
            assertTrue(cli.run(args).expect(3).err().contains("master key does not open"), c);
        }
    }

    @Test
    void lockedStoreIsFourAndNamesThePath() throws Exception {
        cli.initStore();
        try (TokenVault held = TokenVault.builder().path(cli.store)
                .masterKey(MasterKey.fromFile(cli.key)).open()) {
            CliHarness.Run run = cli.store("list").expect(4);
            assertTrue(run.err().contains(cli.store.toString()), run.err());
            assertTrue(run.err().contains("another process has it open"), run.err());
            JsonNode error = json(cli.store("list", "--json").expect(4)).path("error");
            assertEquals("LOCKED", error.path("code").asText());
            assertEquals(4, error.path("exitCode").asInt());
            assertTrue(held.getTokens().isEmpty());
        }
        cli.store("list").expect(0);
    }

    @Test
    void missingStoreIsSixAndSaysHowToCreateOne() {
        cli.run("keygen", "--out", cli.key.toString()).expect(0);
        assertTrue(cli.store("list").expect(6).err().contains("tokenvault init"));
        assertFalse(Files.exists(cli.store), "a read command must not create a store");
    }

    // ---------------------------------------------------------------- save, find, get, list, delete, purge

    @Test
    void saveInsertsThenUpdatesTheSameRecord() throws Exception {
        cli.initStore();
        String access = zohoToken();
        String refresh = zohoToken();
        String id = save("alice@example.com", access, refresh);
        assertFalse(id.isEmpty());
        String newAccess = zohoToken();
        JsonNode updated = json(cli.storeWithStdin(newAccess, "save", "--json", "--id", id,
                "--access-token-file", "-", "--expires-in", "3600").expect(0));
        assertEquals("updated", updated.path("action").asText());
        assertEquals(id, updated.path("token").path("id").asText());
        assertEquals("alice@example.com", updated.path("token").path("userName").asText());
        long expiry = Long.parseLong(updated.path("token").path("expiryTime").asText());
        assertTrue(Math.abs(expiry - (System.currentTimeMillis() + 3_600_000)) < 600_000);
        // The old access token no longer finds it; the new one does.
        cli.store("find", "--access-token-file", cli.secretFile("old", access)).expect(1);
        assertEquals(id, json(cli.store("find", "--json", "--access-token-file", cli.secretFile("new", newAccess))
                .expect(0)).path("token").path("id").asText());
        // Text output: masked, first four characters and the length.
        String text = cli.store("save", "--user", "alice@example.com", "--redirect-url", "https://x.example/cb")
                .expect(0).out();
        assertTrue(text.startsWith("updated token " + id), text);
        assertTrue(text.contains("1000\u2026(70 chars)"), text);
        assertFalse(text.contains(newAccess));
    }

    /** "inserted" or "updated" comes from the record the save selected, by each way a save selects one. */
    @Test
    void saveSaysWhetherItInsertedOrUpdatedByEachWayOfSelecting() throws Exception {
        cli.initStore();
        String access = zohoToken();
        String refresh = zohoToken();
        String id = save("bob@example.com", access, refresh);
        // by refresh token with client credentials (rule 3), no user name
        JsonNode byRefresh = json(cli.storeWithStdin(refresh, "save", "--json", "--refresh-token-file", "-",
                "--client-id", "cid", "--client-secret-file", cli.secretFile("cs", "client-secret-0123456789"),
                "--api-domain", "https://accounts.zoho.eu").expect(0));
        assertEquals("updated", byRefresh.path("action").asText());
        assertEquals(id, byRefresh.path("token").path("id").asText());
        // by a record holding the access token, with the same user name
        JsonNode byAccess = json(cli.store("save", "--json", "--user", "bob@example.com", "--access-token-file",
                cli.secretFile("a", access)).expect(0));
        assertEquals("updated", byAccess.path("action").asText());
        assertEquals(id, byAccess.path("token").path("id").asText());
        // an id no record has inserts under that id; saving it again updates it
        String newId = "0123456789abcdef0123456789abcdef";
        for (String action : new String[] {"inserted", "updated"}) {
            JsonNode byId = json(cli.storeWithStdin(zohoToken(), "save", "--json", "--id", newId,
                    "--user", "carol@example.com", "--access-token-file", "-").expect(0));
            assertEquals(action, byId.path("action").asText());
            assertEquals(newId, byId.path("token").path("id").asText());
        }
        // new values throughout: a new record under a new id
        JsonNode fresh = json(cli.storeWithStdin(zohoToken(), "save", "--json", "--user", "dave@example.com",
                "--access-token-file", "-").expect(0));
        assertEquals("inserted", fresh.path("action").asText());
        assertEquals(3, json(cli.store("stats", "--json").expect(0)).path("records").asLong());
    }

    @Test
    void saveRejectsBadInputWithUsageCodes() throws Exception {
        cli.initStore();
        // Two secrets from standard input, an empty file, a missing file, no token at all, a bad expiry.
        cli.storeWithStdin("x", "save", "--user", "u", "--access-token-file", "-", "--refresh-token-file", "-")
                .expect(2);
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "\n");
        assertTrue(cli.store("save", "--user", "u", "--access-token-file", empty.toString()).expect(2).err()
                .contains("is empty"));
        cli.store("save", "--user", "u", "--access-token-file", dir.resolve("nope").toString()).expect(2);
        cli.store("save", "--user", "u").expect(2);
        cli.storeWithStdin(zohoToken(), "save", "--user", "u", "--access-token-file", "-", "--expiry-time", "soon")
                .expect(2);
        cli.storeWithStdin(zohoToken(), "save", "--user", "u", "--access-token-file", "-", "--expiry-time", "1",
                "--expires-in", "5").expect(2);
        assertTrue(cli.store("list").expect(0).out().contains("no tokens"));
    }

    @Test
    void conflictIsFive() throws Exception {
        cli.initStore();
        String refresh = zohoToken();
        String id = save("alice@example.com", zohoToken(), refresh);
        CliHarness.Run run = cli.storeWithStdin(refresh, "save", "--user", "bob@example.com",
                "--refresh-token-file", "-").expect(5);
        assertTrue(run.err().contains(id), run.err());
        assertFalse(run.all().contains(refresh));
        assertEquals(1, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    @Test
    void findFollowsTheContractRules() throws Exception {
        cli.initStore();
        String access = zohoToken();
        String refresh = zohoToken();
        String grant = zohoToken();
        String id = save("alice@example.com", access, refresh);
        String other = save("bob@example.com", zohoToken(), zohoToken());
        cli.storeWithStdin(grant, "save", "--id", id, "--grant-token-file", "-").expect(0);
        String secret = cli.secretFile("cs", "client-secret-0123456789");

        JsonNode byUser = json(cli.store("find", "--json", "--user", "alice@example.com").expect(0));
        assertEquals("userName", byUser.path("matchedBy").asText());
        assertEquals(id, byUser.path("token").path("id").asText());
        assertEquals(id, json(cli.store("find", "--json", "--access-token-file", cli.secretFile("a", access))
                .expect(0)).path("token").path("id").asText());
        assertEquals(id, json(cli.storeWithStdin(refresh, "find", "--json", "--refresh-token-file", "-",
                "--client-id", "cid", "--client-secret-file", secret).expect(0)).path("token").path("id").asText());
        assertEquals(id, json(cli.storeWithStdin(grant, "find", "--json", "--grant-token-file", "-",
                "--client-id", "cid", "--client-secret-file", secret).expect(0)).path("token").path("id").asText());
        JsonNode byId = json(cli.store("find", "--json", "--id", other).expect(0));
        assertEquals("id", byId.path("matchedBy").asText());
        assertEquals("bob@example.com", byId.path("token").path("userName").asText());
        // Rule 1 decides: a user name that matches nothing is not found, even with a matching id.
        cli.store("find", "--user", "nobody@example.com", "--id", id).expect(1);
        cli.store("find", "--id", "no-such-id").expect(1);
        // Rule 3 needs both client credentials; rule 2 needs neither; nothing at all is usage.
        assertTrue(cli.storeWithStdin(refresh, "find", "--refresh-token-file", "-", "--client-id", "cid")
                .expect(2).err().contains("--client-secret-file"));
        cli.storeWithStdin(access, "find", "--access-token-file", "-", "--client-id", "cid").expect(2);
        cli.store("find").expect(2);
        assertTrue(cli.store("find", "--user", "alice@example.com").expect(0).out()
                .contains("found token " + id + " (by userName)"));
    }

    @Test
    void getListDeletePurge() throws Exception {
        cli.initStore();
        String a = save("alice@example.com", zohoToken(), zohoToken());
        String b = save("bob@example.com", zohoToken(), zohoToken());
        String details = cli.store("get", a).expect(0).out();
        assertTrue(details.contains("alice@example.com") && details.contains("clientSecret"), details);
        assertTrue(details.contains("2027-01-15T08:00:00Z"), details);
        assertEquals(a, json(cli.store("get", "--json", a).expect(0)).path("token").path("id").asText());
        JsonNode missing = json(cli.store("get", "--json", "nope").expect(1));
        assertEquals("NOT_FOUND", missing.path("error").path("code").asText());

        String table = cli.store("list").expect(0).out();
        assertTrue(table.startsWith("ID"), table);
        assertTrue(table.indexOf("alice@example.com") < table.indexOf("bob@example.com"), table);
        assertTrue(table.contains("2 tokens"), table);
        JsonNode list = json(cli.store("list", "--json").expect(0));
        assertEquals(2, list.path("count").asInt());
        assertEquals(a, list.path("tokens").get(0).path("id").asText());
        for (String field : Render.FIELDS) {
            assertTrue(list.path("tokens").get(0).has(field), field);
        }

        // Ids may begin with '-' (URL-safe base64): they work as arguments without `--`.
        cli.storeWithStdin(zohoToken(), "save", "--id", "-dash_id", "--access-token-file", "-").expect(0);
        assertEquals("-dash_id", json(cli.store("get", "--json", "-dash_id").expect(0)).path("token").path("id")
                .asText());
        cli.store("find", "--id", "-dash_id").expect(0);
        cli.store("delete", "-dash_id").expect(0);
        cli.store("get", "--", "-dash_id").expect(1);

        cli.store("delete", a).expect(0);
        cli.store("delete", a).expect(1);
        cli.store("get", a).expect(1);
        assertTrue(cli.store("purge").expect(2).err().contains("--yes"));
        cli.store("get", b).expect(0);
        assertEquals(1, json(cli.store("purge", "--yes", "--json").expect(0)).path("deleted").asInt());
        cli.store("get", b).expect(1);
        assertEquals(0, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    // ---------------------------------------------------------------- verify, stats, rotation

    @Test
    void verifyAndStats() throws Exception {
        cli.initStore();
        save("alice@example.com", zohoToken(), zohoToken());
        JsonNode v = json(cli.store("verify", "--json").expect(0));
        assertTrue(v.path("clean").asBoolean());
        assertEquals(1, v.path("recordsChecked").asInt());
        assertEquals(3, v.path("indexEntriesChecked").asInt()); // user, access, refresh
        assertTrue(cli.store("verify").expect(0).out().contains("clean"));
        JsonNode s = json(cli.store("stats", "--json").expect(0));
        assertEquals(1, s.path("records").asInt());
        assertEquals(1, s.path("currentKeyVersion").asInt());
        assertEquals(1, s.path("sealsPerKeyVersion").path("1").asInt());
        assertTrue(cli.store("stats").expect(0).out().contains("records:             1"));
    }

    @Test
    void rotateMasterKeyAndDataKey() throws Exception {
        cli.initStore();
        String id = save("alice@example.com", zohoToken(), zohoToken());
        Path newKey = dir.resolve("new.key");
        cli.store("rotate-key").expect(2); // which new key?
        cli.store("rotate-key", "--new-key-file", dir.resolve("absent.key").toString()).expect(2);
        cli.run("keygen", "--out", newKey.toString()).expect(0);
        cli.store("rotate-key", "--new-key-file", newKey.toString()).expect(0);
        cli.store("list").expect(3); // the old key no longer opens it
        String[] withNew = {"--store", cli.store.toString(), "--key-file", newKey.toString()};
        cli.run(concat(withNew, "get", id)).expect(0);

        JsonNode r = json(cli.run(concat(withNew, "rotate-data-key", "--json")).expect(0));
        assertEquals(2, r.path("currentKeyVersion").asInt());
        cli.run(concat(withNew, "save", "--id", id, "--api-domain", "https://www.zohoapis.eu")).expect(0);
        JsonNode s = json(cli.run(concat(withNew, "stats", "--json")).expect(0));
        assertEquals(2, s.path("currentKeyVersion").asInt());
        assertEquals(1, s.path("sealsPerKeyVersion").path("2").asInt());
        cli.run(concat(withNew, "verify")).expect(0);

        // To a passphrase from the environment (scripts), then open with it.
        cli.env.put("TOKENVAULT_NEW_PASSPHRASE", "correct horse battery");
        cli.run(concat(withNew, "rotate-key", "--new-passphrase")).expect(0);
        cli.env.put("TOKENVAULT_PASSPHRASE", "correct horse battery");
        cli.run("--store", cli.store.toString(), "get", id).expect(0);
    }

    static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    // ---------------------------------------------------------------- output

    @Test
    void revealPrintsSecretsWithAWarning() throws Exception {
        cli.initStore();
        String access = zohoToken();
        String id = save("alice@example.com", access, zohoToken());
        CliHarness.Run masked = cli.store("get", id).expect(0);
        assertFalse(masked.all().contains(access));
        CliHarness.Run shown = cli.store("get", "--reveal", id).expect(0);
        assertTrue(shown.out().contains(access));
        assertTrue(shown.err().contains("warning: --reveal"), shown.err());
        assertEquals(access, json(cli.store("--reveal", "get", "--json", id).expect(0))
                .path("token").path("accessToken").asText());
    }

    @Test
    void masking() {
        assertEquals("1000\u2026(70 chars)", Secrets.mask("1000." + "a".repeat(65)));
        assertEquals("\u2026(11 chars)", Secrets.mask("abcdefghijk"));
        assertEquals("abcd\u2026(12 chars)", Secrets.mask("abcdefghijkl"));
        assertEquals(null, Secrets.mask(null));
        OAuthToken t = OAuthToken.builder().id("i").accessToken("1000.0123456789abcdef").build();
        assertNotEquals(t.getAccessToken(), new Render(null, false, false).token(t).get("accessToken"));
    }

    @Test
    void demoRunsTheLifecycleAndFindsNoSecretInItsFiles() throws Exception {
        CliHarness.Run run = cli.run("demo").expect(0);
        String out = run.out();
        for (String expected : new String[] {"id is assigned", "findToken by user name", "(same)",
            "the old value no longer finds it", "refresh token with client credentials", "revoke(id)",
            "(masked)", "NOT_FOUND", "none of the 7 secrets"}) {
            assertTrue(out.contains(expected), expected + " in:\n" + out);
        }
        JsonNode doc = json(cli.run("demo", "--json").expect(0));
        assertFalse(doc.path("secretsFoundInStoreFiles").asBoolean());
        assertEquals(11, doc.path("steps").size());
        assertFalse(Files.exists(Path.of(doc.path("directory").asText())), "the demo removes its directory");
    }

    // ---------------------------------------------------------------- README claims without a test before

    /**
     * The first key source given is used (a variable left set does not override --key-file or --passphrase), and a
     * store made with a key does not open with a passphrase, nor the other way round.
     */
    @Test
    void theFirstKeySourceGivenIsUsedAndKeyAndPassphraseStoresStayApart() throws Exception {
        cli.initStore();
        String otherKey = cli.run("keygen", "--reveal").expect(0).out().strip();
        cli.env.put("TOKENVAULT_MASTER_KEY", otherKey);
        cli.store("list").expect(0); // --key-file, not the variable
        cli.run("--store", cli.store.toString(), "list").expect(3); // the variable alone: the wrong key
        cli.env.clear();
        cli.env.put("TOKENVAULT_PASSPHRASE", "correct horse battery");
        cli.store("list").expect(0);
        String refused = cli.run("--store", cli.store.toString(), "list").expect(3).err();
        assertTrue(refused.contains("keyed by a 256-bit master key, not a passphrase"), refused);

        Path byPassphrase = dir.resolve("pass.db");
        cli.run("--store", byPassphrase.toString(), "init").expect(0); // TOKENVAULT_PASSPHRASE
        cli.env.put("TOKENVAULT_PASSPHRASE", "wrong horse battery");
        cli.passphrases.add("correct horse battery".toCharArray());
        cli.run("--store", byPassphrase.toString(), "--passphrase", "list").expect(0); // the prompt, not the variable
        cli.env.clear();
        cli.run("--store", byPassphrase.toString(), "--key-file", cli.key.toString(), "list").expect(3);
    }

    /** A secret file loses its trailing line breaks (LF or CRLF), nothing else; two lines are refused. */
    @Test
    void secretFilesLoseOnlyTheirTrailingLineBreaks() throws Exception {
        cli.initStore();
        String refresh = " " + zohoToken() + " ";
        Path crlf = dir.resolve("refresh.crlf");
        Files.writeString(crlf, refresh + "\r\n\r\n");
        String id = json(cli.store("save", "--json", "--user", "w@example.com", "--refresh-token-file",
                crlf.toString()).expect(0)).path("token").path("id").asText();
        assertEquals(refresh, json(cli.store("--reveal", "get", "--json", id).expect(0)).path("token")
                .path("refreshToken").asText());
        // the same token in an LF file (and without a line break, from standard input) finds it
        String cs = cli.secretFile("cs", "client-secret-0123456789");
        cli.store("save", "--id", id, "--client-id", "cid", "--client-secret-file", cs).expect(0);
        cli.store("find", "--refresh-token-file", cli.secretFile("lf", refresh), "--client-id", "cid",
                "--client-secret-file", cs).expect(0);
        cli.storeWithStdin(refresh, "find", "--refresh-token-file", "-", "--client-id", "cid",
                "--client-secret-file", cs).expect(0);
        Path twoLines = dir.resolve("two");
        Files.writeString(twoLines, zohoToken() + "\n" + zohoToken() + "\n");
        assertTrue(cli.store("save", "--user", "v@example.com", "--access-token-file", twoLines.toString())
                .expect(2).err().contains("more than one line"), cli.allOutput());
    }

    /** A file that is not a store is exit 6 for every command, init refuses it (5), and none changes it. */
    @Test
    void aFileThatIsNotAStoreIsSixAndNoCommandChangesIt() throws Exception {
        cli.run("keygen", "--out", cli.key.toString()).expect(0);
        Files.writeString(cli.store, "important notes\n");
        CliHarness.Run list = cli.store("list", "--json").expect(6);
        assertEquals("UNSUPPORTED_FORMAT", json(list).path("error").path("code").asText());
        assertTrue(list.err().contains("is not a tokenvault store"), list.err());
        cli.store("purge", "--yes").expect(6);
        cli.storeWithStdin(zohoToken(), "save", "--user", "u@example.com", "--access-token-file", "-").expect(6);
        cli.store("repair").expect(6);
        assertTrue(cli.store("init").expect(5).err().contains("already exists"), cli.allOutput());
        assertEquals("important notes\n", Files.readString(cli.store));
    }

    /** Group or others may neither read nor write a key file; a file of 32 raw bytes is a key too. */
    @Test
    void aKeyFileOthersMayWriteIsRefusedAndRawBytesAreAKey() throws Exception {
        Path raw = dir.resolve("raw.key");
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        Files.write(raw, bytes);
        Files.setPosixFilePermissions(raw, PosixFilePermissions.fromString("rw-------"));
        cli.run("--store", cli.store.toString(), "--key-file", raw.toString(), "init").expect(0);
        cli.env.put("TOKENVAULT_MASTER_KEY", Base64.getEncoder().encodeToString(bytes));
        cli.run("--store", cli.store.toString(), "list").expect(0); // the same key as base64
        for (String mode : new String[] {"rw--w----", "rw-----w-"}) {
            Files.setPosixFilePermissions(raw, PosixFilePermissions.fromString(mode));
            assertTrue(cli.run("--store", cli.store.toString(), "--key-file", raw.toString(), "list").expect(2)
                    .err().contains("chmod 600"), mode + ": " + cli.allOutput());
        }
    }

    /** The JSON documents the README lists that no other test reads. */
    @Test
    void jsonDocumentsHaveTheirDocumentedFields() throws Exception {
        JsonNode keygen = json(cli.run("keygen", "--json", "--out", cli.key.toString()).expect(0));
        assertEquals(cli.key.toString(), keygen.path("keyFile").asText());
        JsonNode init = json(cli.store("init", "--json").expect(0));
        assertEquals(cli.store.toString(), init.path("store").asText());
        assertTrue(init.path("created").asBoolean());
        assertEquals(1, init.path("currentKeyVersion").asInt());

        String refresh = zohoToken();
        String grant = zohoToken();
        String id = save("alice@example.com", zohoToken(), refresh);
        String secret = cli.secretFile("cs", "client-secret-0123456789");
        JsonNode both = json(cli.storeWithStdin(grant, "find", "--json", "--grant-token-file", "-",
                "--refresh-token-file", cli.secretFile("r", refresh), "--client-id", "cid", "--client-secret-file",
                secret).expect(0));
        assertEquals("grantToken, else refreshToken", both.path("matchedBy").asText());
        assertEquals(id, both.path("token").path("id").asText());

        JsonNode stats = json(cli.store("stats", "--json").expect(0));
        assertEquals(cli.store.toString(), stats.path("store").asText());
        assertEquals(Files.size(cli.store), stats.path("fileBytes").asLong());
        assertEquals(1, stats.path("recordsPerKeyVersion").path("1").asInt());
        JsonNode dataKey = json(cli.store("rotate-data-key", "--json").expect(0));
        assertEquals("dataKey", dataKey.path("rotated").asText());
        assertEquals(2, dataKey.path("currentKeyVersion").asInt());
        Path newKey = dir.resolve("new.key");
        cli.run("keygen", "--out", newKey.toString()).expect(0);
        JsonNode masterKey = json(cli.store("rotate-key", "--json", "--new-key-file", newKey.toString()).expect(0));
        assertEquals("masterKey", masterKey.path("rotated").asText());
        assertEquals(cli.store.toString(), masterKey.path("store").asText());
        String[] withNew = {"--store", cli.store.toString(), "--key-file", newKey.toString()};
        JsonNode deleted = json(cli.run(concat(withNew, "delete", "--json", id)).expect(0));
        assertEquals(id, deleted.path("deleted").asText());
        // a failure with --json: the document on standard output, the message on standard error as well
        CliHarness.Run absent = cli.run(concat(withNew, "delete", "--json", id)).expect(1);
        JsonNode error = json(absent).path("error");
        assertEquals("NOT_FOUND", error.path("code").asText());
        assertEquals(1, error.path("exitCode").asInt());
        assertTrue(!error.path("message").asText().isEmpty()
                && absent.err().contains(error.path("message").asText()), absent.all());
    }

    /** A new passphrase is asked twice (a typo would lock the store); the same one in both variables warns. */
    @Test
    void rotateKeyAsksForANewPassphraseTwiceAndWarnsWhenItIsUnchanged() {
        cli.initStore();
        cli.passphrases.add("correct horse battery".toCharArray());
        cli.passphrases.add("correct horse batterz".toCharArray());
        assertTrue(cli.store("rotate-key", "--new-passphrase").expect(2).err().contains("do not match"),
                cli.allOutput());
        assertEquals(java.util.List.of("New passphrase: ", "Repeat the passphrase: "), cli.prompts);
        cli.store("list").expect(0); // still the key
        cli.passphrases.add("correct horse battery".toCharArray());
        cli.passphrases.add("correct horse battery".toCharArray());
        cli.store("rotate-key", "--new-passphrase").expect(0);
        cli.store("list").expect(3);
        cli.env.put("TOKENVAULT_PASSPHRASE", "correct horse battery");
        cli.env.put("TOKENVAULT_NEW_PASSPHRASE", "correct horse battery");
        CliHarness.Run same = cli.run("--store", cli.store.toString(), "rotate-key", "--new-passphrase").expect(0);
        assertTrue(same.err().contains("the new key is the current one"), same.err());
        assertTrue(same.out().contains("still opens with the same passphrase"), same.out());
        cli.run("--store", cli.store.toString(), "list").expect(0);
    }
}
