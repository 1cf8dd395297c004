package dev.tokenvault.cli;

import static dev.tokenvault.cli.CommandsTest.json;
import static dev.tokenvault.cli.CommandsTest.zohoToken;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Imports from the Zoho CSV file store and the seed's SQLite table, on fixtures written here. */
class ImportTest {
    /** The seed article's table (Kaizen #192), which is also the SDKs' DBStore schema. */
    static final String SEED_SCHEMA = "CREATE TABLE %s (id varchar(10) NOT NULL,user_name varchar(255), client_id "
            + "varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token "
            + "varchar(255), grant_token varchar(255), expiry_time varchar(20), redirect_url varchar("
            + "255), api_domain varchar(255), primary key (id))";

    @TempDir
    Path dir;
    CliHarness cli;

    @BeforeEach
    void setUp() {
        cli = new CliHarness(dir).initStore();
    }

    /** A source row: id, user, client id, client secret, refresh, access, grant, expiry, redirect, api domain. */
    static String[] row(String id, String user) {
        return new String[] {id, user, "1000.CLIENTID", "secret-" + zohoToken().substring(5, 25), zohoToken(),
            zohoToken(), "", "1700000000000", "https://app.example.com/cb, with \"quotes\"",
            "https://www.zohoapis.com"};
    }

    Path csv(String header, List<String[]> rows) throws Exception {
        StringBuilder b = new StringBuilder(header).append("\r\n");
        for (String[] r : rows) {
            List<String> cells = new ArrayList<>();
            for (String c : r) {
                cells.add(ZohoCsvSource.quote(c));
            }
            b.append(String.join(",", cells)).append("\r\n");
        }
        Path f = dir.resolve("tokens.csv");
        Files.writeString(f, b);
        return f;
    }

    @Test
    void zohoCsvKeepsIdsAndFieldsAndTellsToRemoveThePlaintext() throws Exception {
        String[] a = row("1001", "alice@example.com");
        String[] b = row("1002", "");          // no user name: an empty cell is absent
        b[5] = "";                             // and no access token
        Path f = csv(ZohoCsvSource.HEADER, List.of(a, b));
        CliHarness.Run run = cli.store("import", "--from", "zoho-csv", f.toString()).expect(0);
        assertTrue(run.out().contains("imported 2 token(s)"), run.out());
        assertTrue(run.out().contains("still holds these 2 token(s) in plaintext"), run.out());
        assertTrue(run.out().contains("shred -u " + f), run.out());

        JsonNode got = json(cli.store("--reveal", "get", "--json", "1001").expect(0)).path("token");
        assertEquals("alice@example.com", got.path("userName").asText());
        assertEquals(a[3], got.path("clientSecret").asText());
        assertEquals(a[4], got.path("refreshToken").asText());
        assertEquals(a[5], got.path("accessToken").asText());
        assertTrue(got.path("grantToken").isNull());
        assertEquals("1700000000000", got.path("expiryTime").asText());
        assertEquals(a[8], got.path("redirectUrl").asText());
        JsonNode second = json(cli.store("get", "--json", "1002").expect(0)).path("token");
        assertTrue(second.path("userName").isNull());
        assertTrue(second.path("accessToken").isNull());
        // Found the way the SDK finds it.
        cli.storeWithStdin(b[4], "find", "--refresh-token-file", "-", "--client-id", "1000.CLIENTID",
                "--client-secret-file", cli.secretFile("cs", b[3])).expect(0);
    }

    @Test
    void olderNineColumnFileWithUserMail() throws Exception {
        String[] a = java.util.Arrays.copyOf(row("7", "carol@example.com"), 9);
        Path f = csv("\"id\",\"user_mail\",\"client_id\",\"client_secret\",\"refresh_token\",\"access_token\","
                + "\"grant_token\",\"expiry_time\",\"redirect_url\"", List.<String[]>of(a));
        cli.store("import", "--from", "zoho-csv", f.toString()).expect(0);
        JsonNode got = json(cli.store("get", "--json", "7").expect(0)).path("token");
        assertEquals("carol@example.com", got.path("userName").asText());
        assertTrue(got.path("apiDomain").isNull());
    }

    @Test
    void everyProblemRowIsReportedByIdAndNothingIsSaved() throws Exception {
        String[] stored = row("500", "stored@example.com");
        cli.store("import", "--from", "zoho-csv", csv(ZohoCsvSource.HEADER, List.<String[]>of(stored)).toString())
                .expect(0);

        String[] ok = row("1", "ok@example.com");
        String[] dupRefresh = row("2", "dup@example.com");
        dupRefresh[4] = ok[4];                               // the same refresh token as row 1
        String[] badExpiry = row("3", "late@example.com");
        badExpiry[7] = "in an hour";
        String[] noToken = row("4", "empty@example.com");
        noToken[4] = "";
        noToken[5] = "";
        String[] takenUser = row("5", "stored@example.com"); // the store holds this user
        String[] takenId = row("500", "new@example.com");    // and this id
        String[] takenAccess = row("6", "x@example.com");
        takenAccess[5] = stored[5];
        Path f = csv(ZohoCsvSource.HEADER, List.of(ok, dupRefresh, badExpiry, noToken, takenUser, takenId,
                takenAccess));
        Files.writeString(f, "8,short,row\n", java.nio.file.StandardOpenOption.APPEND);

        CliHarness.Run run = cli.store("import", "--from", "zoho-csv", f.toString()).expect(5);
        String out = run.out();
        assertTrue(out.contains("import refused"), out);
        assertTrue(out.contains("id 2 (line 3): refreshToken is the same as in line 2"), out);
        assertTrue(out.contains("id 3 (line 4): expiryTime must be decimal digits"), out);
        assertTrue(out.contains("id 4 (line 5): a new token needs at least one of accessToken, refreshToken or grantToken"), out);
        assertTrue(out.contains("id 5 (line 6): userName is already held by record 500"), out);
        assertTrue(out.contains("id 500 (line 7): id is already in the store"), out);
        assertTrue(out.contains("id 6 (line 8): accessToken is already held by record 500"), out);
        assertTrue(out.contains("id 8 (line 9): has 3 cells"), out);
        for (String[] r : List.of(ok, dupRefresh, takenAccess)) {
            assertFalse(run.all().contains(r[4]) || run.all().contains(r[5]) || run.all().contains(r[3]));
        }
        assertEquals(1, json(cli.store("list", "--json").expect(0)).path("count").asInt());

        JsonNode doc = json(cli.store("import", "--json", "--from", "zoho-csv", f.toString()).expect(5));
        assertEquals(7, doc.path("problems").size());
        assertEquals(0, doc.path("imported").asInt());
        assertEquals("2", doc.path("problems").get(0).path("id").asText());
    }

    @Test
    void invalidRowsAloneAreTwoAndDryRunSavesNothing() throws Exception {
        String[] bad = row("1", "a@example.com");
        bad[7] = "-5";
        cli.store("import", "--from", "zoho-csv", csv(ZohoCsvSource.HEADER, List.<String[]>of(bad)).toString())
                .expect(2);
        Path good = csv(ZohoCsvSource.HEADER, List.of(row("1", "a@example.com"), row("2", "b@example.com")));
        assertTrue(cli.store("import", "--dry-run", "--from", "zoho-csv", good.toString()).expect(0).out()
                .contains("dry run: all 2 row(s)"));
        assertEquals(0, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    @Test
    void notATokenFileIsUsage() throws Exception {
        Path f = dir.resolve("other.csv");
        Files.writeString(f, "name,email\nx,y\n");
        assertTrue(cli.store("import", "--from", "zoho-csv", f.toString()).expect(2).err().contains("unknown column"));
        Files.writeString(f, "id,access_token\n\"1,2\n");
        cli.store("import", "--from", "zoho-csv", f.toString()).expect(2);
        cli.store("import", "--from", "zoho-csv", dir.resolve("absent.csv").toString()).expect(2);
        cli.store("import", "--from", "xml", f.toString()).expect(2);
        cli.store("import", "--from", "zoho-csv", f.toString(), "--user", "root").expect(2);
    }

    @Test
    void csvParserFollowsRfc4180() {
        List<CsvReader.Record> r = ZohoCsvSource.parse("\uFEFFa,\"b,c\",\"d\"\"e\"\r\n\"multi\nline\",,\n");
        assertEquals(List.of("a", "b,c", "d\"e"), r.get(0).cells());
        assertEquals(List.of("multi\nline", "", ""), r.get(1).cells());
        assertEquals(2, r.get(1).line());
        assertThrows(IllegalArgumentException.class, () -> ZohoCsvSource.parse("\"open"));
    }

    @Test
    void seedSqliteTable() throws Exception {
        Path db = dir.resolve("zohooauth.db");
        String[] a = row("1", "alice@example.com");
        String[] b = row("2", null);
        b[6] = zohoToken(); // a grant token still unexchanged
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
            try (Statement st = c.createStatement()) {
                st.execute(String.format(SEED_SCHEMA, "oauthtoken"));
            }
            insert(c, "oauthtoken", a, b);
        }
        JsonNode doc = json(cli.store("import", "--json", "--from", "sqlite", db.toString()).expect(0));
        assertEquals(2, doc.path("imported").asInt());
        assertTrue(doc.path("plaintextSourceNotice").asText().contains("VACUUM"));
        JsonNode got = json(cli.store("--reveal", "get", "--json", "2").expect(0)).path("token");
        assertEquals(b[6], got.path("grantToken").asText());
        assertTrue(got.path("userName").isNull());
        // Again: every row conflicts by id and nothing changes.
        CliHarness.Run again = cli.store("import", "--from", "sqlite", db.toString()).expect(5);
        assertTrue(again.out().contains("id 1 (row 1): id is already in the store"), again.out());
        cli.store("import", "--from", "sqlite", db.toString(), "--table", "missing").expect(6);
        cli.store("import", "--from", "sqlite", db.toString(), "--table", "x; drop table y").expect(2);
        cli.store("import", "--from", "sqlite", dir.resolve("absent.db").toString()).expect(2);
        assertFalse(Files.exists(dir.resolve("absent.db")));
    }

    static void insert(Connection c, String table, String[]... rows) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, user_name, client_id, "
                + "client_secret, refresh_token, access_token, grant_token, expiry_time, redirect_url, api_domain) "
                + "VALUES (?,?,?,?,?,?,?,?,?,?)")) {
            for (String[] r : rows) {
                for (int i = 0; i < 10; i++) {
                    ps.setString(i + 1, r[i] == null || r[i].isEmpty() ? null : r[i]);
                }
                ps.executeUpdate();
            }
        }
    }

    /** Rows r1..rN for a source in memory, each with its own user and refresh token. */
    static List<SourceRow> rows(int n) {
        List<SourceRow> rows = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            rows.add(SourceRow.of(i, "line", i + 1, OAuthToken.builder().id("r" + i)
                    .userName("u" + i + "@example.com").refreshToken(zohoToken()).build()));
        }
        return rows;
    }

    /** A source over rows in memory, as readable twice as a file. */
    static RowSource source(List<SourceRow> rows) {
        return new RowSource() {
            @Override
            public String where() {
                return "memory";
            }

            @Override
            public Cursor open() {
                java.util.Iterator<SourceRow> it = rows.iterator();
                return new Cursor() {
                    @Override
                    public SourceRow next() {
                        return it.hasNext() ? copy(it.next()) : null;
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
    }

    static SourceRow copy(SourceRow r) {
        return new SourceRow(r.row(), r.unit(), r.at(), r.token().copy(), r.unreadable());
    }

    @Test
    void aFailedChunkKeepsTheChunksBeforeItSaysSoAndResumeFinishes() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            vault.saveToken(OAuthToken.builder().id("keep").userName("keep@example.com").accessToken(zohoToken())
                    .build());
            List<SourceRow> rows = rows(5);
            AtomicInteger chunks = new AtomicInteger();
            CliException e = assertThrows(CliException.class, () -> new Importer(vault, false, Progress.NONE,
                    () -> false, 2, chunk -> {
                        if (chunks.incrementAndGet() == 2) {
                            throw new TokenStoreException(dev.tokenvault.ErrorCode.IO, "disk full");
                        }
                        vault.saveTokens(chunk);
                    }).run(source(rows), false));
            assertEquals(ExitCode.IO, e.exitCode());
            assertTrue(e.getMessage().contains("saving id r3 (line 4) to id r4 (line 5) failed: [IO] disk full")
                    && e.getMessage().contains("none of its rows was saved")
                    && e.getMessage().contains("2 token(s) saved by earlier chunks (through id r2 (line 3)) stay")
                    && e.getMessage().contains("--resume"), e.getMessage());
            assertEquals(3, vault.getTokens().size());

            // Without --resume the saved rows conflict; with it they are skipped and the rest is saved.
            Importer.Result again = new Importer(vault, false, Progress.NONE, () -> false, 2, vault::saveTokens)
                    .run(source(rows), false);
            assertEquals(2, again.problemRows());
            Importer.Result resumed = new Importer(vault, true, Progress.NONE, () -> false, 2, vault::saveTokens)
                    .run(source(rows), false);
            assertTrue(resumed.ok());
            assertEquals(2, resumed.alreadyPresent());
            assertEquals(3, resumed.saved());
            assertEquals(6, vault.getTokens().size());
        }
    }

    @Test
    void anErrorInACommitIsOneLineAndTheIoExitCode() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            CliException e = assertThrows(CliException.class, () -> new Importer(vault, false, Progress.NONE,
                    () -> false, 2, chunk -> {
                        throw new OutOfMemoryError("Java heap space");
                    }).run(source(rows(3)), false));
            assertEquals(ExitCode.IO, e.exitCode());
            assertTrue(e.getMessage().startsWith("saving id r1 (line 2) to id r2 (line 3) failed: OutOfMemoryError "
                    + "(Java heap space)"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
    }

    @Test
    void aStopRequestFinishesTheChunkInProgressAndReportsWhatWasSaved() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            AtomicInteger commits = new AtomicInteger();
            Importer.Result r = new Importer(vault, false, Progress.NONE, () -> commits.get() == 1, 2, chunk -> {
                vault.saveTokens(chunk);
                commits.incrementAndGet(); // the stop arrives while the first commit runs
            }).run(source(rows(5)), false);
            assertTrue(r.stopped());
            assertEquals(2, r.saved());
            assertEquals("id r2 (line 3)", r.lastSaved());
            assertEquals(2, vault.getTokens().size());
        }
    }

    @Test
    void resumeSkipsIdenticalRowsAndStillReportsChangedOnes() throws Exception {
        String[] a = row("1", "a@example.com");
        String[] b = row("2", "b@example.com");
        String[] c = row("3", "c@example.com");
        cli.store("import", "--from", "zoho-csv", csv(ZohoCsvSource.HEADER, List.of(a, b)).toString()).expect(0);
        // The whole file again, as after an interrupted import: without --resume the saved rows conflict.
        Path all = csv(ZohoCsvSource.HEADER, List.of(a, b, c));
        String again = cli.store("import", "--from", "zoho-csv", all.toString()).expect(5).out();
        assertTrue(again.contains("id 1 (line 2): id is already in the store, with the same content (saved by an"
                + " earlier import? --resume skips such rows)"), again);
        String[] changed = b.clone();
        changed[5] = zohoToken();
        CliHarness.Run refused = cli.store("import", "--resume", "--from", "zoho-csv",
                csv(ZohoCsvSource.HEADER, List.of(a, changed, c)).toString()).expect(5);
        assertTrue(refused.out().contains("id 2 (line 3): id is already in the store, with other content"),
                refused.out());
        assertFalse(refused.out().contains("id 1 (line 2)"), refused.out());
        CliHarness.Run resumed = cli.store("import", "--resume", "--from", "zoho-csv",
                csv(ZohoCsvSource.HEADER, List.of(a, b, c)).toString()).expect(0);
        assertTrue(resumed.out().contains("imported 1 token(s)") && resumed.out().contains("2 row(s) were already "
                + "in the store identically"), resumed.out());
        assertEquals(3, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    /** Rows without an id get theirs from the store; a resumed import recognises them by their fields. */
    @Test
    void resumeSkipsRowsWithoutAnIdThatAnEarlierRunSaved() throws Exception {
        String[] a = row("", "a@example.com");
        String[] b = row("", "b@example.com");
        String[] c = row("", "c@example.com");
        cli.store("import", "--from", "zoho-csv", csv(ZohoCsvSource.HEADER, List.of(a, b)).toString()).expect(0);
        // a row that shares the user name of a saved one but has other tokens is still a conflict
        String[] changed = b.clone();
        changed[5] = zohoToken();
        CliHarness.Run refused = cli.store("import", "--resume", "--from", "zoho-csv",
                csv(ZohoCsvSource.HEADER, List.of(a, changed, c)).toString()).expect(5);
        assertTrue(refused.out().contains("line 3: userName is already held by record"), refused.out());
        assertFalse(refused.out().contains("line 2"), refused.out());
        CliHarness.Run resumed = cli.store("import", "--resume", "--from", "zoho-csv",
                csv(ZohoCsvSource.HEADER, List.of(a, b, c)).toString()).expect(0);
        assertTrue(resumed.out().contains("imported 1 token(s)") && resumed.out().contains("2 row(s) were already "
                + "in the store identically"), resumed.out());
        assertEquals(3, json(cli.store("list", "--json").expect(0)).path("count").asInt());
        // without --resume the saved rows are conflicts, as before
        cli.store("import", "--from", "zoho-csv", csv(ZohoCsvSource.HEADER, List.<String[]>of(a)).toString()).expect(5);
    }

    /**
     * Rows without an id or a user name, which the resume can find only by a grant or refresh token: the store's
     * lookup by those takes a client id and secret (placeholders here), so the comparison must be with the whole
     * stored record, not with the filled-in query. (ImportKillTest found this after a SIGKILL.)
     */
    @Test
    void resumeSkipsRowsWithoutAnIdOrUserNameThatAnEarlierRunSaved() throws Exception {
        String[] byRefresh = row("", "");
        byRefresh[5] = "";                     // no access token: found by its refresh token
        String[] byGrant = row("", "");
        byGrant[5] = "";
        byGrant[6] = zohoToken();              // found by its grant token
        String[] byAccess = row("", "");       // found by its access token
        String[] later = row("", "");
        later[5] = "";
        cli.store("import", "--from", "zoho-csv", csv(ZohoCsvSource.HEADER, List.of(byRefresh, byGrant, byAccess))
                .toString()).expect(0);
        CliHarness.Run resumed = cli.store("import", "--resume", "--from", "zoho-csv",
                csv(ZohoCsvSource.HEADER, List.of(byRefresh, byGrant, byAccess, later)).toString());
        assertEquals(0, resumed.code(), resumed::all);
        assertTrue(resumed.out().contains("imported 1 token(s)") && resumed.out().contains("3 row(s) were already "
                + "in the store identically"), resumed.out());
        assertEquals(4, json(cli.store("list", "--json").expect(0)).path("count").asInt());
        // a row found by its refresh token whose other fields differ is still a conflict
        String[] changed = later.clone();
        changed[7] = "1900000000000";
        assertTrue(cli.store("import", "--resume", "--from", "zoho-csv", csv(ZohoCsvSource.HEADER,
                List.<String[]>of(changed)).toString()).expect(5).out().contains("refreshToken is already held by"));
    }

    @Test
    void jsonProblemsGiveTheRowAsANumber() throws Exception {
        String[] bad = row("e1", "a@example.com");
        bad[7] = "soon";
        JsonNode doc = json(cli.store("import", "--json", "--from", "zoho-csv",
                csv(ZohoCsvSource.HEADER, List.<String[]>of(row("ok", "b@example.com"), bad)).toString()).expect(2));
        JsonNode p = doc.path("problems").get(0);
        assertTrue(p.path("row").isNumber(), p.toString());
        assertEquals(2, p.path("row").asInt());
        assertEquals("line 3", p.path("place").asText());
        assertEquals("e1", p.path("id").asText());
    }

    /** A refused import lists the first 1,000 problems and counts the rest, in text and in JSON. */
    @Test
    void aRefusedImportListsTheFirstThousandProblemsAndCountsTheRest() throws Exception {
        List<String[]> rows = new ArrayList<>();
        for (int i = 0; i < 1_003; i++) {
            String[] r = row("b" + i, "u" + i + "@example.com");
            r[7] = "soon";
            rows.add(r);
        }
        Path f = csv(ZohoCsvSource.HEADER, rows);
        String text = cli.store("import", "--from", "zoho-csv", f.toString()).expect(2).out();
        assertTrue(text.contains("id b999 (line 1001)") && !text.contains("id b1000 (line 1002)"), text);
        assertTrue(text.contains("... and 3 more problem(s) not listed"), text);
        JsonNode doc = json(cli.store("import", "--json", "--from", "zoho-csv", f.toString()).expect(2));
        assertEquals(1_000, doc.path("problems").size());
        assertEquals(1_003, doc.path("problemCount").asInt());
        assertEquals(1_003, doc.path("problemRows").asInt());
        assertEquals(0, doc.path("imported").asInt());
        assertEquals(0, json(cli.store("list", "--json").expect(0)).path("count").asInt());
    }

    @Test
    void standardInputIsRefusedWithTheReason() {
        assertTrue(cli.store("import", "--from", "zoho-csv", "-").expect(2).err().contains("read twice"));
    }

    @Test
    void anImportWithinOneCommitIsAllOrNothingInTheStore() {
        try (TokenVault vault = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            List<OAuthToken> rows = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                rows.add(OAuthToken.builder().id("s" + i).userName("s" + i + "@example.com")
                        .refreshToken(zohoToken()).build());
            }
            // a row the pre-check cannot see: it conflicts only with a row saved earlier in the same commit
            rows.add(OAuthToken.builder().id("s3").userName("s0@example.com").refreshToken(zohoToken()).build());
            assertThrows(TokenStoreException.class, () -> vault.saveTokens(rows));
            assertEquals(0, vault.getTokens().size());
        }
    }
}
