package dev.tokenvault.cli;

import static dev.tokenvault.cli.CommandsTest.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every command on a shared store in MariaDB and PostgreSQL ({@code --store jdbc:...}), the rules for the database
 * password, and {@code copy} between a file and a database. Servers: see {@link DatabaseServer}.
 */
class CommandsDatabaseTest {
    @TempDir
    Path dir;
    CliHarness cli;
    final List<Runnable> cleanup = new ArrayList<>();

    @BeforeEach
    void setUp() {
        cli = new CliHarness(dir);
        cli.run("keygen", "--out", cli.key.toString()).expect(0);
    }

    @AfterEach
    void dropTables() {
        cleanup.forEach(Runnable::run);
    }

    /** A fresh store's prefix on {@code db}, dropped after the test; the password goes in through the environment. */
    private String freshStore(DatabaseServer db) {
        db.url(); // first: skips the test (fails it under CI=true) when the server is not configured
        String prefix = DatabaseServer.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        cli.env.put(DatabaseStore.ENV_PASSWORD, db.password());
        return prefix;
    }

    /** {@code --store URL --db-user U --table-prefix P --key-file K args...} */
    private CliHarness.Run on(DatabaseServer db, String prefix, String... args) {
        List<String> all = new ArrayList<>(List.of("--store", db.url(), "--db-user", db.user(), "--table-prefix",
                prefix, "--key-file", cli.key.toString()));
        all.addAll(Arrays.asList(args));
        return cli.run(all.toArray(String[]::new));
    }

    private String save(DatabaseServer db, String prefix, String user, String access) throws Exception {
        JsonNode saved = json(on(db, prefix, "save", "--json", "--user", user, "--client-id", "cid",
                "--access-token-file", cli.secretFile("access-" + user, access),
                "--refresh-token-file", cli.secretFile("refresh-" + user, access + ".refresh")).expect(0));
        return saved.path("token").path("id").asText();
    }

    @ParameterizedTest
    @EnumSource(DatabaseServer.class)
    void everyCommandWorksOnASharedStore(DatabaseServer db) throws Exception {
        String prefix = freshStore(db);
        on(db, prefix, "list").expect(ExitCode.IO); // no store yet: says how to make one
        assertTrue(cli.runs.get(cli.runs.size() - 1).err().contains("tokenvault init"));
        assertTrue(on(db, prefix, "init").expect(0).out().contains("created an empty store at " + db.url()));
        assertTrue(on(db, prefix, "init").expect(ExitCode.CONFLICT).err().contains("already exists"));

        String ada = save(db, prefix, "ada@example.com", "1000.access-ada-0123456789");
        save(db, prefix, "bob@example.com", "1000.access-bob-0123456789");
        assertEquals(ada, json(on(db, prefix, "find", "--json", "--user", "ada@example.com").expect(0))
                .path("token").path("id").asText());
        on(db, prefix, "get", ada).expect(0);
        assertEquals(2, json(on(db, prefix, "list", "--json").expect(0)).path("tokens").size());
        assertEquals(2, json(on(db, prefix, "stats", "--json").expect(0)).path("records").asInt());
        on(db, prefix, "verify").expect(0);
        on(db, prefix, "rotate-data-key").expect(0);
        // these need the store to themselves, which other nodes may have open: the library says what to do instead
        for (String soleNode : new String[] {"reseal", "rotate-index-key", "repair"}) {
            assertTrue(on(db, prefix, soleNode).expect(ExitCode.LOCKED).err().contains("tokenvault copy"), soleNode);
        }
        assertTrue(on(db, prefix, "compact").expect(ExitCode.USAGE).err().contains("VACUUM"));

        Path newKey = dir.resolve("new.key");
        cli.run("keygen", "--out", newKey.toString()).expect(0);
        on(db, prefix, "rotate-key", "--new-key-file", newKey.toString()).expect(0);
        on(db, prefix, "list").expect(ExitCode.KEY_OR_INTEGRITY);
        List<String> withNewKey = new ArrayList<>(List.of("--store", db.url(), "--db-user", db.user(),
                "--table-prefix", prefix, "--key-file", newKey.toString()));
        withNewKey.addAll(List.of("delete", ada));
        cli.run(withNewKey.toArray(String[]::new)).expect(0);
        withNewKey.subList(withNewKey.size() - 2, withNewKey.size()).clear();
        withNewKey.addAll(List.of("purge", "--yes"));
        assertTrue(cli.run(withNewKey.toArray(String[]::new)).expect(0).out().contains("deleted 1 token"));
        assertFalse(cli.allOutput().contains(db.password()), "the database password is never printed");
    }

    @ParameterizedTest
    @EnumSource(DatabaseServer.class)
    void thePasswordNeverComesFromTheCommandLine(DatabaseServer db) throws Exception {
        String prefix = freshStore(db);
        String withPassword = db.url() + (db.url().contains("?") ? "&" : "?") + "password=" + db.password();
        CliHarness.Run refused = cli.run("--store", withPassword, "--db-user", db.user(), "--table-prefix", prefix,
                "--key-file", cli.key.toString(), "init").expect(ExitCode.USAGE);
        assertTrue(refused.err().contains("holds a password") && refused.err().contains("TOKENVAULT_DB_PASSWORD"),
                refused.err());
        String userInfo = db.url().replace("//", "//" + db.user() + ":" + db.password() + "@");
        cli.run("--store", userInfo, "--key-file", cli.key.toString(), "list").expect(ExitCode.USAGE);

        cli.env.put(DatabaseStore.ENV_PASSWORD, "not-the-password-4711");
        CliHarness.Run wrong = on(db, prefix, "init").expect(ExitCode.IO);
        assertTrue(wrong.err().contains("cannot connect to"), wrong.err());

        cli.env.remove(DatabaseStore.ENV_PASSWORD);
        on(db, prefix, "--db-password-file", cli.secretFile("db-password", db.password()), "init").expect(0);
        cli.runWithStdin(db.password() + "\n", "--store", db.url(), "--db-user", db.user(), "--table-prefix", prefix,
                "--key-file", cli.key.toString(), "--db-password-file", "-", "verify").expect(0);

        String all = cli.allOutput();
        assertFalse(all.contains(db.password()), all);
        assertFalse(all.contains("not-the-password-4711"), all);
    }

    @Test
    void schemesAndOptionsOutsideASharedStoreAreUsageErrors() {
        assertTrue(cli.run("--store", "jdbc:sqlite:/tmp/x.db", "--key-file", cli.key.toString(), "list")
                .expect(ExitCode.USAGE).err().contains("jdbc:mariadb:, jdbc:mysql: or jdbc:postgresql:"));
        assertTrue(cli.store("--table-prefix", "p", "list").expect(ExitCode.USAGE).err().contains("names a file"));
    }

    /** MariaDB's driver takes {@code jdbc:mysql:} URLs (MySQL 8 speaks the same protocol) once told to. */
    @Test
    void aMysqlUrlReachesMariaDb() {
        DatabaseServer db = DatabaseServer.MARIADB;
        String prefix = freshStore(db);
        String mysql = db.url().replaceFirst("^jdbc:mariadb:", "jdbc:mysql:");
        cli.run("--store", mysql, "--db-user", db.user(), "--table-prefix", prefix, "--key-file",
                cli.key.toString(), "init").expect(0);
        on(db, prefix, "verify").expect(0);
    }

    @ParameterizedTest
    @EnumSource(DatabaseServer.class)
    void copyMovesAFileStoreIntoADatabaseAndBack(DatabaseServer db) throws Exception {
        String prefix = freshStore(db);
        cli.store("init").expect(0);
        for (String user : new String[] {"ada", "bob", "cy"}) {
            cli.storeWithStdin("1000.refresh-" + user, "save", "--user", user + "@example.com",
                    "--access-token-file", cli.secretFile("a-" + user, "1000.access-" + user),
                    "--refresh-token-file", "-").expect(0);
        }
        JsonNode before = json(cli.store("list", "--json").expect(0)).path("tokens");

        JsonNode in = json(cli.run("--key-file", cli.key.toString(), "--db-user", db.user(), "copy", "--json",
                "--from", cli.store.toString(), "--to", db.url(), "--to-table-prefix", prefix).expect(0));
        assertEquals(3, in.path("records").asInt());
        assertEquals(9, in.path("indexEntries").asInt(), "3 records x (user name, access and refresh token)");
        assertTrue(in.path("clean").asBoolean());
        assertEquals(before, json(on(db, prefix, "list", "--json").expect(0)).path("tokens"));

        Path back = dir.resolve("back.db");
        cli.run("--key-file", cli.key.toString(), "--db-user", db.user(), "copy", "--from", db.url(),
                "--from-table-prefix", prefix, "--to", back.toString()).expect(0);
        assertEquals(before, json(cli.run("--store", back.toString(), "--key-file", cli.key.toString(), "list",
                "--json").expect(0)).path("tokens"));

        // a second copy into the same tables, or over an existing file, is refused
        cli.run("--key-file", cli.key.toString(), "--db-user", db.user(), "copy", "--from", cli.store.toString(),
                "--to", db.url(), "--to-table-prefix", prefix).expect(ExitCode.CONFLICT);
        cli.run("--key-file", cli.key.toString(), "copy", "--from", cli.store.toString(), "--to", back.toString())
                .expect(ExitCode.CONFLICT);
        // the wrong key is refused before anything is written
        Path otherKey = dir.resolve("other.key");
        cli.run("keygen", "--out", otherKey.toString()).expect(0);
        cli.run("--key-file", otherKey.toString(), "copy", "--from", cli.store.toString(), "--to",
                dir.resolve("never.db").toString()).expect(ExitCode.KEY_OR_INTEGRITY);
        assertFalse(dir.resolve("never.db").toFile().exists());
    }

    /**
     * copy has no --store: with --passphrase the prompt names --from's store, and neither the prompt nor --db-user
     * (which names the database side's user) consults TOKENVAULT_STORE or ./tokenvault.db.
     */
    @ParameterizedTest
    @EnumSource(DatabaseServer.class)
    void copyPromptsForTheSourcesPassphraseWithADatabaseUser(DatabaseServer db) throws Exception {
        String prefix = freshStore(db);
        String file = cli.store.toString();
        cli.passphrases.add("correct horse battery".toCharArray());
        cli.passphrases.add("correct horse battery".toCharArray());
        cli.run("--store", file, "--passphrase", "init").expect(0);
        cli.prompts.clear();
        cli.passphrases.add("correct horse battery".toCharArray());
        JsonNode copied = json(cli.run("--passphrase", "--db-user", db.user(), "copy", "--json", "--from", file,
                "--to", db.url(), "--to-table-prefix", prefix).expect(0));
        assertTrue(copied.path("clean").asBoolean(), copied.toString());
        assertEquals(List.of("Passphrase for " + file + ": "), cli.prompts);
    }

    /** Every form of a password in a --store or copy URL is refused before anything connects, and never printed. */
    @Test
    void aPasswordInAnyFormOfTheUrlIsRefusedWithoutConnecting() {
        String secret = "Hunter2-in-the-url";
        for (String url : List.of("jdbc:mariadb://127.0.0.1:1/db?user=u&pwd=" + secret,
                "jdbc:mariadb://127.0.0.1:1/db?PASSWORD=" + secret,
                "jdbc:postgresql://127.0.0.1:1/db?user=u&password=" + secret,
                "jdbc:mysql://u:" + secret + "@127.0.0.1:1/db")) {
            CliHarness.Run run = cli.run("--store", url, "--key-file", cli.key.toString(), "list").expect(
                    ExitCode.USAGE);
            assertTrue(run.err().contains("holds a password"), url + ": " + run.err());
            cli.run("--key-file", cli.key.toString(), "copy", "--from", cli.store.toString(), "--to", url)
                    .expect(ExitCode.USAGE);
        }
        assertFalse(cli.allOutput().contains(secret), cli.allOutput());
    }

    /** The rows of every table of the store with {@code prefix}, in a stable order, as text. */
    private static String tables(DatabaseServer db, String prefix) throws Exception {
        StringBuilder b = new StringBuilder();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(db.url(), db.user(), db.password());
             java.sql.Statement st = c.createStatement()) {
            for (String table : new String[] {"_records", "_index", "_meta", "_changes", "_leases"}) {
                List<String> rows = new ArrayList<>();
                try (java.sql.ResultSet rs = st.executeQuery("SELECT * FROM " + prefix + table)) {
                    int columns = rs.getMetaData().getColumnCount();
                    while (rs.next()) {
                        StringBuilder row = new StringBuilder();
                        for (int i = 1; i <= columns; i++) {
                            Object v = rs.getObject(i);
                            row.append(v instanceof byte[] bytes ? java.util.HexFormat.of().formatHex(bytes)
                                    : String.valueOf(v)).append('|');
                        }
                        rows.add(row.toString());
                    }
                }
                java.util.Collections.sort(rows);
                b.append(table).append(rows).append('\n');
            }
        }
        return b.toString();
    }

    /**
     * The read commands open a shared store readOnly(): no table changes, not even a seal count. The user may come
     * from TOKENVAULT_DB_USER, and stats shows the URL without a file size.
     */
    @ParameterizedTest
    @EnumSource(DatabaseServer.class)
    void readCommandsChangeNoTableAndTheUserMayComeFromTheEnvironment(DatabaseServer db) throws Exception {
        String prefix = freshStore(db);
        cli.env.put(DatabaseStore.ENV_USER, db.user());
        String[] store = {"--store", db.url(), "--table-prefix", prefix, "--key-file", cli.key.toString()};
        cli.run(CommandsTest.concat(store, "init")).expect(0);
        String ada = save(db, prefix, "ada@example.com", "1000.access-ada-0123456789");
        String before = tables(db, prefix);
        cli.run(CommandsTest.concat(store, "list")).expect(0);
        cli.run(CommandsTest.concat(store, "get", ada)).expect(0);
        cli.run(CommandsTest.concat(store, "find", "--user", "ada@example.com")).expect(0);
        cli.run(CommandsTest.concat(store, "verify")).expect(0);
        JsonNode stats = json(cli.run(CommandsTest.concat(store, "stats", "--json")).expect(0));
        assertEquals(before, tables(db, prefix), "a read command changed the store's tables");
        assertTrue(stats.path("store").asText().startsWith(db.url()), stats.toString());
        assertFalse(stats.has("fileBytes"), stats.toString());
        assertEquals(1, stats.path("records").asInt());
    }

    /**
     * verify finds damage (exit 3) and names the record; copy of a damaged store says so (3) but leaves the copy,
     * where repair rebuilds the index (0) as the README's way of repairing a shared store.
     */
    @ParameterizedTest
    @EnumSource(DatabaseServer.class)
    void verifyFindsDamageAndACopyToAFileIsRepaired(DatabaseServer db) throws Exception {
        String prefix = freshStore(db);
        on(db, prefix, "init").expect(0);
        String ada = save(db, prefix, "ada@example.com", "1000.access-ada-0123456789");
        String bob = save(db, prefix, "bob@example.com", "1000.access-bob-0123456789");
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(db.url(), db.user(), db.password());
             java.sql.PreparedStatement del = c.prepareStatement("DELETE FROM " + prefix
                     + "_index WHERE record_id = ?")) {
            del.setBytes(1, ada.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertEquals(3, del.executeUpdate(), "ada's user name, access and refresh token");
        }
        JsonNode verify = json(on(db, prefix, "verify", "--json").expect(ExitCode.KEY_OR_INTEGRITY));
        assertFalse(verify.path("clean").asBoolean(), verify.toString());
        assertTrue(verify.path("problems").toString().contains(ada), verify.toString());
        assertTrue(on(db, prefix, "verify").expect(ExitCode.KEY_OR_INTEGRITY).out().contains(ada), cli.allOutput());

        Path back = dir.resolve("back.db");
        JsonNode copied = json(cli.run("--key-file", cli.key.toString(), "--db-user", db.user(), "copy", "--json",
                "--from", db.url(), "--from-table-prefix", prefix, "--to", back.toString())
                .expect(ExitCode.KEY_OR_INTEGRITY));
        assertFalse(copied.path("clean").asBoolean(), copied.toString());
        String[] file = {"--store", back.toString(), "--key-file", cli.key.toString()};
        JsonNode repaired = json(cli.run(CommandsTest.concat(file, "repair", "--json")).expect(0));
        assertTrue(repaired.path("rebuilt").asBoolean() && repaired.path("clean").asBoolean(), repaired.toString());
        cli.run(CommandsTest.concat(file, "verify")).expect(0);
        assertEquals(ada, json(cli.run(CommandsTest.concat(file, "find", "--json", "--user", "ada@example.com"))
                .expect(0)).path("token").path("id").asText());

        // a record sealed for another id fails authentication: verify names it, exit 3
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(db.url(), db.user(), db.password());
             java.sql.PreparedStatement read = c.prepareStatement("SELECT sealed FROM " + prefix
                     + "_records WHERE id = ?");
             java.sql.PreparedStatement write = c.prepareStatement("UPDATE " + prefix
                     + "_records SET sealed = ? WHERE id = ?")) {
            read.setBytes(1, bob.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            byte[] bobs;
            try (java.sql.ResultSet rs = read.executeQuery()) {
                assertTrue(rs.next());
                bobs = rs.getBytes(1);
            }
            write.setBytes(1, bobs);
            write.setBytes(2, ada.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertEquals(1, write.executeUpdate());
        }
        JsonNode tampered = json(on(db, prefix, "verify", "--json").expect(ExitCode.KEY_OR_INTEGRITY));
        assertTrue(tampered.path("problems").toString().contains(ada), tampered.toString());
        assertFalse(cli.allOutput().contains("1000.access-ada-0123456789"), "a secret in the output");
    }
}
