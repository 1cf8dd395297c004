package dev.tokenvault.cli;

import static dev.tokenvault.cli.CommandsTest.concat;
import static dev.tokenvault.cli.CommandsTest.json;
import static dev.tokenvault.cli.CommandsTest.zohoToken;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The maintenance commands, stats, --wait and the help and usage rules, through the CLI's entry point. */
class CommandsMaintenanceTest {
    @TempDir
    Path dir;
    CliHarness cli;

    @BeforeEach
    void setUp() {
        cli = new CliHarness(dir);
    }

    void saveSome(int n) {
        for (int i = 0; i < n; i++) {
            cli.storeWithStdin(zohoToken(), "save", "--user", "u" + i + "@example.com", "--access-token-file", "-")
                    .expect(0);
        }
    }

    /** A missing store (6), the wrong key (3) and a locked store (4), for one command. */
    void badInput(String... command) throws Exception {
        Path absent = dir.resolve("absent.db");
        assertTrue(cli.run(concat(new String[] {"--store", absent.toString(), "--key-file", cli.key.toString()},
                command)).expect(6).err().contains("tokenvault init"), String.join(" ", command));
        assertFalse(Files.exists(absent));
        Path other = dir.resolve("other.key");
        if (!Files.exists(other)) {
            cli.run("keygen", "--out", other.toString()).expect(0);
        }
        assertTrue(cli.run(concat(new String[] {"--store", cli.store.toString(), "--key-file", other.toString()},
                command)).expect(3).err().contains("master key does not open"), String.join(" ", command));
        try (TokenVault held = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key)).open()) {
            JsonNode error = json(cli.store(concat(command, "--json")).expect(4)).path("error");
            assertEquals("LOCKED", error.path("code").asText());
        }
    }

    @Test
    void compactShrinksNothingAwayAndReportsSizes() throws Exception {
        cli.initStore();
        saveSome(3);
        JsonNode doc = json(cli.store("compact", "--json").expect(0));
        assertTrue(doc.path("bytesBefore").asLong() > 0 && doc.path("bytesAfter").asLong() > 0, doc.toString());
        assertTrue(cli.store("compact").expect(0).out().startsWith("compacted " + cli.store));
        assertEquals(3, json(cli.store("list", "--json").expect(0)).path("count").asInt());
        cli.store("verify").expect(0);
        badInput("compact");
    }

    @Test
    void repairOfACleanStoreChangesNothing() throws Exception {
        cli.initStore();
        saveSome(2);
        JsonNode doc = json(cli.store("repair", "--json").expect(0));
        assertFalse(doc.path("rebuilt").asBoolean());
        assertTrue(doc.path("clean").asBoolean());
        assertEquals(0, doc.path("problemsFound").size());
        assertTrue(cli.store("repair").expect(0).out().contains("nothing to repair"));
        badInput("repair");
    }

    @Test
    void resealRetiresTheOldDataKeyAndStatsShowRecordsPerVersion() throws Exception {
        cli.initStore();
        saveSome(3);
        cli.store("rotate-data-key").expect(0);
        JsonNode before = json(cli.store("stats", "--json").expect(0));
        assertEquals(3, before.path("recordsPerKeyVersion").path("1").asInt());
        String table = cli.store("stats").expect(0).out();
        assertTrue(table.contains("DATA KEY VERSION") && table.contains("2 (current)"), table);
        assertFalse(table.contains("{1="), table);

        JsonNode doc = json(cli.store("reseal", "--json").expect(0));
        assertEquals(3, doc.path("recordsResealed").asInt());
        assertEquals(2, doc.path("currentKeyVersion").asInt());
        assertEquals(1, doc.path("removedKeyVersions").get(0).asInt());
        JsonNode after = json(cli.store("stats", "--json").expect(0));
        assertEquals(3, after.path("recordsPerKeyVersion").path("2").asInt());
        assertTrue(after.path("recordsPerKeyVersion").path("1").isMissingNode());
        assertTrue(cli.store("reseal").expect(0).out().contains("resealed 0 record(s)"));
        cli.store("verify").expect(0);
        badInput("reseal");
    }

    @Test
    void rotateIndexKeyKeepsEveryLookupWorking() throws Exception {
        cli.initStore();
        saveSome(2);
        assertEquals(2, json(cli.store("rotate-index-key", "--json").expect(0)).path("recordsIndexed").asInt());
        cli.store("find", "--user", "u1@example.com").expect(0);
        cli.store("verify").expect(0);
        badInput("rotate-index-key");
        badInput("verify");
        badInput("stats");
    }

    @Test
    void waitRetriesWhileTheStoreIsLocked() throws Exception {
        cli.initStore();
        CountDownLatch opened = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            try (TokenVault held = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key))
                    .open()) {
                opened.countDown();
                Thread.sleep(1_500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        holder.start();
        opened.await();
        assertTrue(cli.store("--wait", "200ms", "list").expect(4).err().contains("(waited 200 ms)"));
        cli.store("--wait", "60s", "list").expect(0); // the holder lets go after 1.5 s
        holder.join();
        assertTrue(cli.store("--wait", "soon", "list").expect(2).err().contains("30s"));
        cli.store("--wait", "25h", "list").expect(2);
    }

    /** Every duration form the README names is accepted; plain seconds wait that long on a locked store. */
    @Test
    void waitTakesEveryDocumentedDurationForm() throws Exception {
        cli.initStore();
        for (String d : List.of("30s", "5m", "1h", "500ms", "7", "24h")) {
            cli.store("--wait", d, "list").expect(0);
        }
        try (TokenVault held = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key)).open()) {
            long start = System.nanoTime();
            assertTrue(cli.store("--wait", "1", "list").expect(4).err().contains("waited 1 s"), cli.allOutput());
            long waitedMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(waitedMillis >= 900 && waitedMillis < 2_500, waitedMillis + " ms");
        }
    }

    /** copy opens its source as the other commands open their store: --wait waits for a writer to let go. */
    @Test
    void copyWaitsForALockedSource() throws Exception {
        cli.initStore();
        cli.storeWithStdin("1000.refresh-ada", "save", "--user", "ada@example.com", "--refresh-token-file", "-")
                .expect(0);
        Path target = dir.resolve("copy.db");
        CountDownLatch opened = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            try (TokenVault held = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key))
                    .open()) {
                opened.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        holder.start();
        opened.await();
        String[] copy = {"--key-file", cli.key.toString(), "copy", "--from", cli.store.toString(), "--to",
                target.toString()};
        CliHarness.Run locked = cli.run(concat(new String[] {"--wait", "200ms"}, copy)).expect(4);
        assertTrue(locked.err().contains("waited"), locked.err());
        assertFalse(Files.exists(target) || Files.exists(dir.resolve("copy.db.copying")), "a locked copy wrote");
        Thread letGo = new Thread(() -> {
            try {
                Thread.sleep(1_000); // while the copy below waits
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            release.countDown();
        });
        letGo.start();
        JsonNode done = json(cli.run(concat(new String[] {"--wait", "60s", "--json"}, copy)).expect(0));
        assertEquals(1, done.path("records").asLong(), done.toString());
        assertTrue(done.path("clean").asBoolean(), done.toString());
        letGo.join();
        holder.join();
    }

    @Test
    void unknownCommandsAndUsageErrorsAreOneLine() {
        CliHarness.Run bogus = cli.run("bogus", "--help").expect(2);
        assertTrue(bogus.err().contains("bogus") && bogus.out().isEmpty(), bogus.all());
        CliHarness.Run option = cli.run("list", "--no-such-option").expect(2);
        assertEquals(2, option.err().strip().lines().count(), option.err());
        assertTrue(option.err().contains("see `tokenvault list --help`"), option.err());
        assertTrue(cli.run("compact", "--help").expect(0).out().contains("Rewrites the store file"));
        assertEquals(2, cli.run().expect(2).err().strip().lines().count());
    }

    @Test
    void helpReadsWell() {
        String main = cli.run("--help").expect(0).out();
        for (String line : main.lines().toList()) {
            assertFalse(line.strip().endsWith("decides:"), line);
            assertFalse(line.strip().equals("/tokenvault.db") || line.strip().startsWith("else ."), line);
        }
        for (String c : List.of("compact", "repair", "reseal", "rotate-index-key")) {
            assertTrue(main.contains(c), c);
        }
        for (String c : List.of("keygen", "demo")) {
            String help = cli.run(c, "--help").expect(0).out();
            assertFalse(help.contains("--store") || help.contains("--key-file") || help.contains("--passphrase"),
                    help);
            assertTrue(help.contains("--json"), help);
        }
        String importHelp = cli.run("import", "--help").expect(0).out();
        assertTrue(importHelp.contains("    jdbc:mariadb://127.0.0.1:3306/zohooauth --user U --password-file F"),
                importHelp);
        assertTrue(importHelp.contains("per chunk") && importHelp.contains("--resume"), importHelp);
    }

    @Test
    void rotateKeyToTheCurrentKeyWarns() {
        cli.initStore();
        CliHarness.Run same = cli.store("rotate-key", "--new-key-file", cli.key.toString()).expect(0);
        assertTrue(same.err().contains("the new key is the current one"), same.err());
        // the result line must not contradict the warning
        assertTrue(same.out().contains("still opens with the same key in " + cli.key), same.out());
        assertFalse(same.out().contains("only with the new"), same.out());
        Path other = dir.resolve("next.key");
        cli.run("keygen", "--out", other.toString()).expect(0);
        CliHarness.Run rotated = cli.store("rotate-key", "--new-key-file", other.toString()).expect(0);
        assertFalse(rotated.err().contains("current one"), rotated.err());
        assertTrue(rotated.out().contains("now opens only with the new key in " + other), rotated.out());
    }

    @Test
    void demoKeepKeepsTheKeyToo() throws Exception {
        JsonNode doc = json(cli.run("demo", "--keep", "--json").expect(0));
        Path kept = Path.of(doc.path("directory").asText());
        Path key = Path.of(doc.path("keyFile").asText());
        assertTrue(Files.exists(key));
        assertFalse(doc.path("secretsFoundInStoreFiles").asBoolean());
        assertEquals(1, json(cli.run("--store", kept.resolve("tokenvault.db").toString(), "--key-file",
                key.toString(), "list", "--json").expect(0)).path("count").asInt());
        try (var files = Files.walk(kept)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void listMarksExpiredTokens() {
        cli.initStore();
        cli.storeWithStdin(zohoToken(), "save", "--user", "old@example.com", "--access-token-file", "-",
                "--expiry-time", "1000").expect(0);
        cli.storeWithStdin(zohoToken(), "save", "--user", "new@example.com", "--access-token-file", "-",
                "--expires-in", "3600").expect(0);
        List<String> lines = cli.store("list").expect(0).out().lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.contains("new@example.com") && !l.contains("(expired)")), lines
                .toString());
        assertTrue(lines.stream().anyMatch(l -> l.contains("old@example.com") && l.contains("(expired)")), lines
                .toString());
    }

    @Test
    void progressShowsOnATerminalOnlyAndNeverWithJson() throws Exception {
        cli.initStore();
        Path csv = dir.resolve("t.csv");
        BigImportTest.writeCsv(csv, 50);
        cli.store("import", "--from", "zoho-csv", csv.toString()).expect(0);
        cli.store("verify").expect(0);
        assertEquals("", cli.progress.toString(), "no terminal: no progress");
        cli.progressTerminal = true;
        cli.store("verify", "--json").expect(0);
        cli.store("purge", "--yes").expect(0);
        cli.store("import", "--json", "--from", "zoho-csv", csv.toString()).expect(0);
        assertEquals("", cli.progress.toString(), "--json: no progress");
        cli.store("purge", "--yes").expect(0);
        cli.store("import", "--from", "zoho-csv", csv.toString()).expect(0);
        String shown = cli.progress.toString();
        assertTrue(shown.contains("import: checking") && shown.contains("rows/s"), shown);
        assertTrue(shown.contains("import: saving") && shown.contains(" of 50 rows"), shown);
        cli.progress.getBuffer().setLength(0);
        cli.store("verify").expect(0);
        assertTrue(cli.progress.toString().contains("verify: working"), cli.progress.toString());
    }

    /** A command that fails the way a JVM error does (the import's chunk path has its own test). */
    @picocli.CommandLine.Command(name = "boom")
    static final class Boom implements java.util.concurrent.Callable<Integer> {
        @Override
        public Integer call() {
            throw new OutOfMemoryError("Java heap space");
        }
    }

    @Test
    void aJvmErrorIsOneLineAndTheIoExitCode() {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        Io io = new Io(java.io.InputStream.nullInputStream(), new java.io.PrintWriter(out, true),
                new java.io.PrintWriter(err, true), java.util.Map.of(), prompt -> null);
        picocli.CommandLine cl = TokenvaultCli.commandLine(io);
        cl.addSubcommand("boom", new Boom());
        assertEquals(ExitCode.IO, cl.execute("boom"));
        assertEquals("tokenvault: stopped by OutOfMemoryError (Java heap space); give the JVM more memory "
                + "(JAVA_TOOL_OPTIONS=-Xmx...)", err.toString().strip());
    }
}
