package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.tokenvault.ErrorCode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SIGKILL in the middle of {@code copy --from FILE --to JDBC-URL}: cli/README.md says that a copy into a database
 * interrupted after its first commit leaves tables with records but no header, which every open refuses, and that one
 * stopped before its first commit leaves empty tables, which the CLI reports as no store; either way, the tables
 * dropped, the copy runs again.
 *
 * <p>Before this test, the library's non-creating opens of a shared store took records without a header for no
 * store ({@code NOT_FOUND}), and the read commands said "no store; create one with `tokenvault init`".
 *
 * <p>An uninterrupted copy in a JVM of its own is timed first, from the moment its tables appear to the moment its
 * header does (its last write; the count check and the verify follow); then each round copies under a new table
 * prefix and kills the copy: at once after its tables appeared, as soon as its first commit's records can be seen, and
 * two thirds of that time after its tables appeared plus a random few milliseconds. The target is then one of: the
 * whole copy (verifies clean through the CLI and opens in the library); records without a header, which the CLI's
 * read commands and
 * {@code init} refuse as {@code CORRUPT} (exit 3) and which the library refuses to open even where it may create a
 * store, writing nothing; or nothing (no tables, or empty ones), which the read commands report as no store (exit 6)
 * and the library opened without creating as {@code NOT_FOUND}. Then the copy is run again as the README says: into
 * empty tables as they are; over records without a header it is refused (exit 5) until the tables are dropped. It
 * verifies clean. At least one kill must land between the first commit and the header, or the test fails saying so.
 */
class CopyKillDatabaseTest {
    /** About a second of writes to a database here (records and index entries in commits of 1,000, the keys last). */
    static final int RECORDS = 1_500;

    @TempDir
    Path dir;

    private final List<Runnable> cleanup = new ArrayList<>();

    enum Outcome { NOTHING_AT_TARGET, RECORDS_WITHOUT_HEADER, WHOLE_COPY, COPY_ENDED }

    @AfterEach
    void dropTables() {
        cleanup.forEach(Runnable::run);
    }

    @ParameterizedTest
    @EnumSource(DatabaseServer.class)
    void aKilledCopyIntoADatabaseLeavesNothingOrWhatEveryOpenRefusesOrTheWholeCopy(DatabaseServer db)
            throws Exception {
        db.url(); // first: skips the test (fails it under CI=true) when the server is not configured
        long start = System.nanoTime();
        SplittableRandom random = new SplittableRandom();
        CliHarness cli = new CliHarness(dir).initStore();
        CopyKillTest.fill(cli, random, RECORDS);
        Path passwordFile = dir.resolve("db.password");
        Files.writeString(passwordFile, db.password() + "\n");
        cli.env.put(DatabaseStore.ENV_PASSWORD, db.password());

        String reference = prefix(db);
        ChildCli timed = copy(cli, db, reference, passwordFile);
        long appeared = awaitTables(timed, db, reference);
        while (!hasHeader(db, reference) && timed.isAlive()) {
            LockSupport.parkNanos(1_000_000);
        }
        long span = System.nanoTime() - appeared; // its writes: the key metadata is the last of them
        int code = timed.awaitExit(120);
        assertEquals(0, code, timed::output);
        assertWhole(cli, db, reference, "the uninterrupted copy");
        System.out.printf("CopyKillDatabaseTest: %s: the copy wrote for %.2f s, from its tables' creation to its"
                + " header%n", db, span / 1e9);

        double[] parts = {0, -1, 2 / 3.0}; // -1: as soon as the first commit's records can be seen
        List<Outcome> outcomes = new ArrayList<>();
        for (int round = 0; round < parts.length; round++) {
            String what = db + " round " + round;
            String prefix = prefix(db);
            ChildCli child = copy(cli, db, prefix, passwordFile);
            long at = awaitTables(child, db, prefix);
            if (parts[round] < 0) {
                while (records(db, prefix) <= 0 && child.isAlive()) {
                    LockSupport.parkNanos(500_000);
                }
            } else {
                long delay = (long) (span * parts[round]) + random.nextLong(20_000_000);
                while (System.nanoTime() - at < delay) {
                    LockSupport.parkNanos(100_000);
                }
            }
            int exit = child.kill();
            long killedAfter = System.nanoTime() - at;
            long records = records(db, prefix);
            Outcome outcome;
            if (exit != ChildCli.KILLED) {
                assertEquals(0, exit, child::output);
                assertWhole(cli, db, prefix, what + ", a copy that ended before the kill");
                outcome = Outcome.COPY_ENDED;
            } else if (records == 0) {
                assertNothingAt(cli, db, prefix, what);
                outcome = Outcome.NOTHING_AT_TARGET;
            } else if (hasHeader(db, prefix)) {
                assertWhole(cli, db, prefix, what + ", a killed copy left a header: it must be the whole copy");
                outcome = Outcome.WHOLE_COPY;
            } else {
                assertRefusedEverywhere(cli, db, prefix, records, what);
                outcome = Outcome.RECORDS_WITHOUT_HEADER;
            }
            System.out.printf("CopyKillDatabaseTest: %s, killed %.0f ms after the tables appeared: %s (%d records)%n",
                    what, killedAfter / 1e6, outcome, records);
            outcomes.add(outcome);

            // as the README says: empty tables the next copy fills; records without a header it refuses (exit 5)
            // until the tables are dropped
            if (outcome != Outcome.NOTHING_AT_TARGET) {
                if (outcome == Outcome.RECORDS_WITHOUT_HEADER) {
                    copyInProcess(cli, db, prefix, passwordFile).expect(ExitCode.CONFLICT);
                }
                db.drop(prefix);
            }
            JsonNode again = CommandsTest.json(copyInProcess(cli, db, prefix, passwordFile).expect(0));
            assertTrue(again.path("clean").asBoolean(), again.toString());
            assertEquals(RECORDS, again.path("records").asLong());
        }
        assertTrue(outcomes.contains(Outcome.RECORDS_WITHOUT_HEADER), "no kill landed between the copy's first"
                + " commit and its header (outcomes " + outcomes + ", the copy wrote for " + span / 1_000_000
                + " ms): the state every open must refuse was not shown");
        String all = cli.allOutput();
        assertTrue(!java.util.regex.Pattern.compile("1000\\.[0-9a-f]{8}").matcher(all).find()
                && !all.contains(db.password()), "a secret or the database password in the output");
        System.out.printf("CopyKillDatabaseTest: %s: %s in %.1f s%n", db, outcomes, (System.nanoTime() - start) / 1e9);
    }

    private String prefix(DatabaseServer db) {
        String prefix = DatabaseServer.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        return prefix;
    }

    private ChildCli copy(CliHarness cli, DatabaseServer db, String prefix, Path passwordFile) throws Exception {
        return ChildCli.start(dir, false, "--key-file", cli.key.toString(), "--db-user", db.user(), "--json", "copy",
                "--from", cli.store.toString(), "--to", db.url(), "--to-table-prefix", prefix, "--to-password-file",
                passwordFile.toString());
    }

    private static CliHarness.Run copyInProcess(CliHarness cli, DatabaseServer db, String prefix, Path passwordFile) {
        return cli.run("--key-file", cli.key.toString(), "--db-user", db.user(), "--json", "copy", "--from",
                cli.store.toString(), "--to", db.url(), "--to-table-prefix", prefix, "--to-password-file",
                passwordFile.toString());
    }

    /** Waits while {@code child} runs until the target's records table exists; returns when (System.nanoTime()). */
    private static long awaitTables(ChildCli child, DatabaseServer db, String prefix) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (records(db, prefix) < 0) {
            if (!child.isAlive()) {
                fail("the copy ended before it made its tables:\n" + child.output());
            }
            if (System.nanoTime() - deadline > 0) {
                fail("no table " + prefix + "_records after 120 s");
            }
            LockSupport.parkNanos(1_000_000);
        }
        return System.nanoTime();
    }

    /** The rows of the target's records table, or -1 when it does not exist (yet). */
    private static long records(DatabaseServer db, String prefix) throws SQLException {
        return count(db, "SELECT COUNT(*) FROM " + prefix + "_records");
    }

    private static boolean hasHeader(DatabaseServer db, String prefix) throws SQLException {
        // the engine's own rows (format, generation) are there from the start; the store's header comes last
        return count(db, "SELECT COUNT(*) FROM " + prefix + "_meta WHERE name = 'header'") > 0;
    }

    private static long count(DatabaseServer db, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
             Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            } catch (SQLException e) {
                if (!c.getAutoCommit()) {
                    c.rollback();
                }
                return -1; // no such table yet (each server says it with its own SQLSTATE)
            }
        }
    }

    /** {@code --store URL --db-user U --table-prefix P --key-file K --json args...} */
    private static CliHarness.Run on(CliHarness cli, DatabaseServer db, String prefix, String... args) {
        List<String> all = new ArrayList<>(List.of("--store", db.url(), "--db-user", db.user(), "--table-prefix",
                prefix, "--key-file", cli.key.toString(), "--json"));
        all.addAll(List.of(args));
        return cli.run(all.toArray(String[]::new));
    }

    private static HikariDataSource pool(DatabaseServer db) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.url());
        config.setUsername(db.user());
        config.setPassword(db.password());
        config.setMaximumPoolSize(4);
        return new HikariDataSource(config);
    }

    /** Nothing is at the target: the read commands say no store (exit 6), the library's non-creating open NOT_FOUND. */
    private static void assertNothingAt(CliHarness cli, DatabaseServer db, String prefix, String what)
            throws Exception {
        for (String command : new String[] {"verify", "list", "stats"}) {
            CliHarness.Run r = on(cli, db, prefix, command);
            assertEquals(ExitCode.IO, r.code(), () -> what + ": " + command + ": " + r.all());
            assertEquals("NO_STORE", CommandsTest.json(r).path("error").path("code").asText(),
                    () -> what + ": " + r.all());
        }
        try (HikariDataSource ds = pool(db)) {
            for (TokenVault.Builder b : List.of(
                    TokenVault.builder().dataSource(ds).tablePrefix(prefix).masterKey(MasterKey.fromFile(cli.key))
                            .readOnly(),
                    TokenVault.builder().dataSource(ds).tablePrefix(prefix).masterKey(MasterKey.fromFile(cli.key))
                            .createIfMissing(false))) {
                TokenStoreException refused = CopyKillTest.refusal(b);
                assertTrue(refused != null && refused.code() == ErrorCode.NOT_FOUND, () -> what + ": " + refused);
            }
        }
        assertEquals(0, Math.max(0, records(db, prefix)), what + ": an open wrote records");
        assertTrue(!hasHeader(db, prefix), what + ": an open that may not create a store wrote a header");
    }

    /**
     * Records without a header: the read commands and {@code init} exit 3 with CORRUPT, and the library refuses the
     * store with CORRUPT however it is opened, also where it may create one, and writes nothing.
     */
    private static void assertRefusedEverywhere(CliHarness cli, DatabaseServer db, String prefix, long records,
                                                String what) throws Exception {
        for (String command : new String[] {"verify", "list", "stats", "init"}) {
            CliHarness.Run r = on(cli, db, prefix, command);
            assertEquals(ExitCode.KEY_OR_INTEGRITY, r.code(), () -> what + ": " + command + ": " + r.all());
            assertEquals("CORRUPT", CommandsTest.json(r).path("error").path("code").asText(),
                    () -> what + ": " + r.all());
        }
        try (HikariDataSource ds = pool(db)) {
            MasterKey key = MasterKey.fromFile(cli.key);
            for (TokenVault.Builder b : List.of(
                    TokenVault.builder().dataSource(ds).tablePrefix(prefix).masterKey(key).readOnly(),
                    TokenVault.builder().dataSource(ds).tablePrefix(prefix).masterKey(key).createIfMissing(false),
                    TokenVault.builder().dataSource(ds).tablePrefix(prefix).masterKey(key),
                    TokenVault.builder().dataSource(ds).tablePrefix(prefix).masterKey(MasterKey.generate()))) {
                TokenStoreException refused = CopyKillTest.refusal(b);
                assertTrue(refused != null && refused.code() == ErrorCode.CORRUPT, () -> what + ": " + refused);
            }
        }
        assertEquals(records, records(db, prefix), what + ": an open changed the records");
        assertTrue(!hasHeader(db, prefix), what + ": an open wrote a header over the copied records");
    }

    /** The target opens through the CLI and the library, holds every record of the source, and verifies clean. */
    private static void assertWhole(CliHarness cli, DatabaseServer db, String prefix, String what) throws Exception {
        JsonNode verify = CommandsTest.json(on(cli, db, prefix, "verify").expect(0));
        assertTrue(verify.path("clean").asBoolean(), () -> what + ": " + verify);
        assertEquals(RECORDS, verify.path("recordsChecked").asLong(), what);
        assertEquals(RECORDS, CommandsTest.json(on(cli, db, prefix, "stats").expect(0)).path("records").asLong(),
                what);
        try (HikariDataSource ds = pool(db);
             TokenVault vault = TokenVault.builder().dataSource(ds).tablePrefix(prefix)
                     .masterKey(MasterKey.fromFile(cli.key)).createIfMissing(false).open()) {
            List<OAuthToken> all = vault.getTokens();
            assertEquals(RECORDS, all.size(), what);
        }
    }
}
