package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenvault.ErrorCode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL in the middle of {@code copy --from FILE --to FILE}: cli/README.md says that a killed copy leaves nothing at
 * the target, only the unfinished copy {@code TARGET.copying}, which the next copy refuses until it is removed; and
 * that the target, once there, is the whole copy.
 *
 * <p>An uninterrupted copy in a JVM of its own is timed first, from the moment its unfinished copy appears to its
 * end; then each round starts the same copy to a new target and kills it a chosen part of that time after the
 * unfinished copy (or a file at the target) appeared (at once, a third, two thirds), plus a random few milliseconds.
 * The target is then opened every way there is that does not create a store: the CLI's {@code verify}, {@code list}
 * and {@code stats}, and {@code TokenVault.builder()...open()}, read-only and for writing with
 * {@code createIfMissing(false)}. Either it is the whole copy, which verifies clean with every record, or there is
 * nothing at it, which every one of them reports (exit 6 and {@code NO_STORE} from the CLI, {@code NOT_FOUND} from
 * the library). Then the copy is run again as the README says: refused (exit 5) while {@code TARGET.copying} is
 * there, naming it; after that file alone is removed, it succeeds and verifies clean. At least one kill must land
 * before the copy was put in place, or the test fails saying so.
 *
 * <p>Before the copy was made under another name (commit "copy: a file target appears only whole"), the first round
 * failed: a kill a second into the copy, before its first commit, left a store file without records or keys at the
 * target; the read commands said "no store at" it, and an open for writing initialised it as a new, empty store.
 */
class CopyKillTest {
    /** Records in the source: the copy takes a second or so (about 5 commits per 1,000 records, then a verify). */
    static final int RECORDS = 3_000;

    @TempDir
    Path dir;

    enum Outcome { NOTHING_AT_TARGET, WHOLE_COPY, COPY_ENDED }

    @Test
    void aKilledCopyLeavesNothingAtTheTargetOrTheWholeCopy() throws Exception {
        long start = System.nanoTime();
        SplittableRandom random = new SplittableRandom();
        CliHarness cli = new CliHarness(dir).initStore();
        fill(cli, random, RECORDS);
        System.out.printf("CopyKillTest: %,d records saved in %.1f s%n", RECORDS, (System.nanoTime() - start) / 1e9);

        Path reference = dir.resolve("reference.db");
        ChildCli timed = copy(cli, reference);
        long appeared = awaitFile(timed, reference, unfinished(reference));
        int code = timed.awaitExit(120);
        long span = System.nanoTime() - appeared;
        assertEquals(0, code, timed::output);
        assertWhole(cli, reference, "the uninterrupted copy");
        System.out.printf("CopyKillTest: the copy took %.2f s from its start of writing to its end%n", span / 1e9);

        double[] parts = {0, 1 / 3.0, 2 / 3.0};
        List<Outcome> outcomes = new ArrayList<>();
        for (int round = 0; round < parts.length; round++) {
            String what = "round " + round;
            Path target = dir.resolve("copy" + round + ".db");
            Path unfinished = unfinished(target);
            ChildCli child = copy(cli, target);
            long at = awaitFile(child, target, unfinished);
            long delay = (long) (span * parts[round]) + random.nextLong(20_000_000);
            while (System.nanoTime() - at < delay) {
                LockSupport.parkNanos(100_000);
            }
            int exit = child.kill();
            long killedAfter = System.nanoTime() - at;
            Outcome outcome;
            if (exit != ChildCli.KILLED) {
                assertEquals(0, exit, child::output);
                assertWhole(cli, target, what + ", a copy that ended before the kill");
                outcome = Outcome.COPY_ENDED;
            } else if (Files.exists(target)) {
                assertWhole(cli, target, what + ", a killed copy left a file at the target: it must be the whole "
                        + "copy");
                outcome = Outcome.WHOLE_COPY;
            } else {
                assertNothingAt(cli, target, what);
                outcome = Outcome.NOTHING_AT_TARGET;
            }
            System.out.printf("CopyKillTest: %s, killed %.0f ms after the copy began writing: %s (%s)%n", what,
                    killedAfter / 1e6, outcome, Files.exists(unfinished) ? "left " + unfinished.getFileName()
                            + ", " + Files.size(unfinished) + " bytes" : "nothing left beside it");
            outcomes.add(outcome);

            // copy again, as the README says: remove what the kill left
            if (Files.exists(target)) {
                Files.delete(target);
            }
            if (Files.exists(unfinished)) {
                CliHarness.Run refused = copyInProcess(cli, target).expect(ExitCode.CONFLICT);
                assertTrue(refused.err().contains(unfinished + " exists") && refused.err().contains("remove "
                        + unfinished), refused::err);
                Files.delete(unfinished);
            }
            JsonNode again = CommandsTest.json(copyInProcess(cli, target).expect(0));
            assertTrue(again.path("clean").asBoolean(), again.toString());
            assertEquals(RECORDS, again.path("records").asLong());
            assertFalse(Files.exists(unfinished), what + ": " + unfinished + " left after a copy");
        }
        assertTrue(outcomes.contains(Outcome.NOTHING_AT_TARGET), "no kill landed in the middle of the copy "
                + "(outcomes " + outcomes + ", the copy took " + span / 1_000_000 + " ms): nothing was shown");
        assertNoSecretInOutput(cli);
        System.out.printf("CopyKillTest: %s in %.1f s%n", outcomes, (System.nanoTime() - start) / 1e9);
    }

    /** Saves {@code records} generated tokens with ids into {@code cli}'s store. */
    static void fill(CliHarness cli, SplittableRandom random, int records) {
        List<OAuthToken> tokens = ImportKillTest.tokens(records, true, random);
        try (TokenVault vault = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key))
                .cacheMaximumSize(0).open()) {
            for (int i = 0; i < tokens.size(); i += 5_000) {
                vault.saveTokens(tokens.subList(i, Math.min(tokens.size(), i + 5_000)));
            }
        }
    }

    private ChildCli copy(CliHarness cli, Path target) throws Exception {
        return ChildCli.start(dir, false, "--key-file", cli.key.toString(), "--json", "copy", "--from",
                cli.store.toString(), "--to", target.toString());
    }

    /** Where the README says the copy to {@code target} is made until it is whole: {@code TARGET.copying}. */
    private static Path unfinished(Path target) {
        return target.resolveSibling(target.getFileName() + ".copying");
    }

    private static CliHarness.Run copyInProcess(CliHarness cli, Path target) {
        return cli.run("--key-file", cli.key.toString(), "--json", "copy", "--from", cli.store.toString(), "--to",
                target.toString());
    }

    /**
     * Waits while {@code child} runs until the copy begins to write: until {@code target} or {@code unfinished}
     * appears (the first, where a copy is made in place); returns when (System.nanoTime()).
     */
    private static long awaitFile(ChildCli child, Path target, Path unfinished) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!Files.exists(unfinished) && !Files.exists(target)) {
            if (!child.isAlive()) {
                fail("the copy ended before it wrote anything:\n" + child.output());
            }
            if (System.nanoTime() - deadline > 0) {
                fail("no " + unfinished + " after 120 s");
            }
            LockSupport.parkNanos(100_000);
        }
        return System.nanoTime();
    }

    /**
     * Nothing is at {@code target}, and every open says so: the CLI's read commands (exit 6, NO_STORE, one line) and
     * the library, read-only or for writing without creating; none of them creates anything there.
     */
    private static void assertNothingAt(CliHarness cli, Path target, String what) throws Exception {
        for (CliHarness.Run r : reads(cli, target)) {
            assertEquals(ExitCode.IO, r.code(), () -> what + ": " + r.args() + ": " + r.all());
            JsonNode error = CommandsTest.json(r).path("error");
            assertEquals("NO_STORE", error.path("code").asText(), () -> what + ": " + r.all());
            assertEquals(ExitCode.IO, error.path("exitCode").asInt(), () -> what + ": " + r.all());
            assertTrue(r.err().startsWith("tokenvault: no store at " + target + ";")
                    && r.err().strip().lines().count() == 1, () -> what + ": " + r.err());
        }
        for (TokenVault.Builder b : List.of(
                TokenVault.builder().path(target).masterKey(MasterKey.fromFile(cli.key)).readOnly(),
                TokenVault.builder().path(target).masterKey(MasterKey.fromFile(cli.key)).createIfMissing(false))) {
            TokenStoreException refused = refusal(b);
            assertTrue(refused != null && refused.code() == ErrorCode.NOT_FOUND, () -> what + ": " + refused);
        }
        assertFalse(Files.exists(target), what + ": an open created " + target);
    }

    /** {@code verify}, {@code list} and {@code stats} of {@code target}, with --json. */
    private static List<CliHarness.Run> reads(CliHarness cli, Path target) {
        List<CliHarness.Run> runs = new ArrayList<>();
        for (String command : new String[] {"verify", "list", "stats"}) {
            runs.add(cli.run("--store", target.toString(), "--key-file", cli.key.toString(), "--json", command));
        }
        return runs;
    }

    /** The open's refusal, or {@code null} when it opened (and was closed again). */
    static TokenStoreException refusal(TokenVault.Builder builder) {
        try (TokenVault vault = builder.open()) {
            return null;
        } catch (TokenStoreException e) {
            return e;
        }
    }

    /** {@code target} opens, through the CLI and for writing, holds every record of the source, and verifies clean. */
    private static void assertWhole(CliHarness cli, Path target, String what) throws Exception {
        String[] store = {"--store", target.toString(), "--key-file", cli.key.toString(), "--json"};
        JsonNode verify = CommandsTest.json(succeeded(cli.run(CommandsTest.concat(store, "verify")), what));
        assertTrue(verify.path("clean").asBoolean(), () -> what + ": " + verify);
        assertEquals(RECORDS, verify.path("recordsChecked").asLong(), what);
        assertEquals(RECORDS, CommandsTest.json(succeeded(cli.run(CommandsTest.concat(store, "stats")), what))
                .path("records").asLong(), what);
        assertEquals(RECORDS, CommandsTest.json(succeeded(cli.run(CommandsTest.concat(store, "list")), what))
                .path("count").asLong(), what);
        try (TokenVault vault = TokenVault.builder().path(target).masterKey(MasterKey.fromFile(cli.key))
                .createIfMissing(false).open()) {
            assertEquals(RECORDS, vault.stats().records(), what);
        }
    }

    private static CliHarness.Run succeeded(CliHarness.Run r, String what) {
        assertEquals(0, r.code(), () -> what + ": " + r.args().get(r.args().size() - 1) + " exit " + r.code() + ": "
                + r.err().strip());
        return r;
    }

    private static void assertNoSecretInOutput(CliHarness cli) {
        String all = cli.allOutput();
        // every generated secret holds "1000." and 32 hex digits; masking shows four characters
        assertFalse(java.util.regex.Pattern.compile("1000\\.[0-9a-f]{8}").matcher(all).find(),
                "a client secret or token in the output");
    }
}
