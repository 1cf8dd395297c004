package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenVault;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL in the middle of an import's saves, then {@code import --resume} of the same source: cli/README.md says
 * that "SIGKILL or a power cut leaves the chunks committed before it" and that "--resume finishes such an import".
 *
 * <p>The import runs in a JVM of its own ({@link ChildCli}), which shows its progress line on standard error; each
 * round kills it once the saves have shown that line a chosen number of times (once, at their first row; twice, at
 * least 0.25 s in; three times, at least 0.5 s in), after a random few milliseconds more, so the kill lands at a
 * different moment of a commit each time. A round whose kill came after the import had ended fails, saying so: it
 * would have shown nothing. Then the resume (in this JVM)
 * must report every row as imported or already present, the already present ones whole chunks and at least the
 * chunks that were committed before the kill, and the store must hold exactly the source's rows, every field equal,
 * and verify clean. A source with ids (kept by the import) and one without (the store gives the ids, and the resume
 * finds the saved rows by user name or token).
 */
class ImportKillTest {
    /** Eight chunks of 500: about a second of saves or more, room for kills up to 0.5 s in. */
    static final int ROWS = 4_000;

    @TempDir
    Path dir;

    @Test
    void killedImportOfRowsWithIdsResumesToExactlyTheSource() throws Exception {
        rounds(true);
    }

    @Test
    void killedImportOfRowsWithoutIdsResumesToExactlyTheSource() throws Exception {
        rounds(false);
    }

    private void rounds(boolean withIds) throws Exception {
        SplittableRandom random = new SplittableRandom();
        for (int round = 0; round < 3; round++) {
            round(round, round + 1, withIds, random);
        }
    }

    /** Imports, kills the import once its progress line has been shown {@code killAtLine} times, resumes. */
    private void round(int round, int killAtLine, boolean withIds, SplittableRandom random) throws Exception {
        long start = System.nanoTime();
        Path roundDir = Files.createDirectory(dir.resolve("round" + round));
        CliHarness cli = new CliHarness(roundDir).initStore();
        List<OAuthToken> source = tokens(ROWS, withIds, random);
        Path csv = roundDir.resolve("source.csv");
        writeCsv(csv, source);

        ChildCli child = ChildCli.start(roundDir, true, cli.withStore("import", "--from", "zoho-csv",
                csv.toString()));
        boolean running = child.awaitSavingLines(killAtLine, 120);
        if (!running) {
            int code = child.awaitExit(60);
            fail("round " + round + ": the import ended (exit " + code + ") before its progress line was shown "
                    + killAtLine + " time(s) in its saves, so it could not be killed in the middle:\n"
                    + child.output());
        }
        Thread.sleep(random.nextInt(150));
        long shown = child.savingRows();
        int code = child.kill();
        String childOutput = child.output();
        assertEquals(ChildCli.KILLED, code, () -> "round " + round + ": the import was not killed mid-way "
                + "(it ended by itself, exit " + code + ", before the kill landed):\n" + childOutput);
        long committedBeforeKill = shown / Importer.CHUNK_ROWS * Importer.CHUNK_ROWS;

        // Before a writer has replayed the redo log, a read command either reads the store (whole chunks) or
        // refuses it as needing recovery (exit 6), saying what does that.
        CliHarness.Run stats = cli.store("stats", "--json");
        if (stats.code() == 0) {
            long records = CommandsTest.json(stats).path("records").asLong();
            assertTrue(records % Importer.CHUNK_ROWS == 0 && records >= committedBeforeKill,
                    "round " + round + ": " + records + " records read after the kill");
        } else {
            assertEquals(ExitCode.IO, stats.code(), stats::all);
            assertEquals("READ_ONLY", CommandsTest.json(stats).path("error").path("code").asText(), stats::all);
            assertTrue(stats.err().contains("tokenvault repair"), stats::err);
        }

        CliHarness.Run resumed = cli.store("import", "--json", "--resume", "--from", "zoho-csv", csv.toString())
                .expect(0);
        JsonNode doc = CommandsTest.json(resumed);
        long imported = doc.path("imported").asLong(-1);
        long present = doc.path("alreadyPresent").asLong(-1);
        String counts = "round " + round + " (" + (withIds ? "with" : "without") + " ids; killed once the "
                + "progress showed row " + shown + "): imported " + imported + ", alreadyPresent " + present;
        System.out.println("ImportKillTest: " + counts);
        assertEquals(ROWS, doc.path("rows").asLong(), counts);
        assertEquals(0, doc.path("problemCount").asLong(), () -> counts + "\n" + resumed.out());
        assertFalse(doc.path("stopped").asBoolean(), counts);
        assertEquals(ROWS, imported + present, counts);
        // SIGKILL leaves the chunks committed before it: at least those the progress line had passed, whole
        assertTrue(present >= committedBeforeKill, counts + ": chunks committed before the kill were lost");
        assertEquals(0, present % Importer.CHUNK_ROWS, counts + ": part of a chunk was saved");
        assertTrue(present < ROWS, counts + ": every row was saved before the kill landed, so it was not "
                + "mid-way");

        assertExactly(cli, source, withIds, "round " + round);
        JsonNode verify = CommandsTest.json(cli.store("verify", "--json").expect(0));
        assertTrue(verify.path("clean").asBoolean(), verify.toString());
        assertEquals(ROWS, verify.path("recordsChecked").asLong());
        assertNoSecret(source, childOutput + cli.allOutput());
        System.out.printf("ImportKillTest: round %d took %.1f s%n", round, (System.nanoTime() - start) / 1e9);
    }

    /** The store holds the source's rows, each once, every field equal (the ids too, when the source has them). */
    static void assertExactly(CliHarness cli, List<OAuthToken> source, boolean withIds, String what) {
        // ids are the key with ids; without, the refresh token (every generated row has one, and no two share it)
        Function<OAuthToken, String> key = withIds ? OAuthToken::getId : OAuthToken::getRefreshToken;
        Map<String, OAuthToken> expected = new HashMap<>();
        for (OAuthToken t : source) {
            expected.put(key.apply(t), t);
        }
        List<OAuthToken> stored;
        try (TokenVault vault = TokenVault.builder().path(cli.store).masterKey(MasterKey.fromFile(cli.key))
                .readOnly().open()) {
            stored = vault.getTokens();
        }
        assertEquals(source.size(), stored.size(), what + ": records in the store");
        List<String> ids = new ArrayList<>();
        for (OAuthToken t : stored) {
            assertNotNull(t.getId(), what + ": a record without an id");
            ids.add(t.getId());
            OAuthToken want = expected.remove(key.apply(t));
            // messages name the record by id only: never a secret
            assertNotNull(want, what + ": record " + t.getId() + " is not a row of the source, or is there twice");
            OAuthToken got = t.copy();
            if (!withIds) {
                got.setId(null);
            }
            if (!got.equals(want)) {
                fail(what + ": record " + t.getId() + " differs from its source row in " + differences(want, got));
            }
        }
        assertTrue(expected.isEmpty(), what + ": " + expected.size() + " source row(s) missing");
        assertEquals(ids.size(), ids.stream().distinct().count(), what + ": an id twice");
    }

    /** The names of the fields in which two tokens differ (not their values). */
    static String differences(OAuthToken a, OAuthToken b) {
        List<String> names = new ArrayList<>();
        Map<String, Function<OAuthToken, String>> fields = new java.util.LinkedHashMap<>();
        fields.put("id", OAuthToken::getId);
        fields.put("userName", OAuthToken::getUserName);
        fields.put("clientId", OAuthToken::getClientId);
        fields.put("clientSecret", OAuthToken::getClientSecret);
        fields.put("refreshToken", OAuthToken::getRefreshToken);
        fields.put("accessToken", OAuthToken::getAccessToken);
        fields.put("grantToken", OAuthToken::getGrantToken);
        fields.put("expiryTime", OAuthToken::getExpiryTime);
        fields.put("redirectUrl", OAuthToken::getRedirectUrl);
        fields.put("apiDomain", OAuthToken::getApiDomain);
        fields.forEach((name, get) -> {
            if (!java.util.Objects.equals(get.apply(a), get.apply(b))) {
                names.add(name);
            }
        });
        return names.toString();
    }

    /** No secret of the source (client secret, tokens) appears in {@code output}, whole or its last 12 characters. */
    static void assertNoSecret(List<OAuthToken> source, String output) {
        for (int row = 0; row < source.size(); row++) {
            OAuthToken t = source.get(row);
            for (String s : new String[] {t.getClientSecret(), t.getRefreshToken(), t.getAccessToken(),
                t.getGrantToken()}) {
                if (s != null && output.contains(s.substring(s.length() - 12))) {
                    fail("a secret of source row " + (row + 1) + " appears in the output");
                }
            }
        }
    }

    /**
     * {@code n} rows unlike each other: some without a user name (found by token on resume), without an access
     * token, with a grant token, a redirect URL that needs quoting, no API domain; ids 1..n or none.
     */
    static List<OAuthToken> tokens(int n, boolean withIds, SplittableRandom random) {
        HexFormat hex = HexFormat.of();
        byte[] b = new byte[16];
        Function<Integer, String> secret = i -> {
            random.nextBytes(b);
            return "1000." + hex.formatHex(b) + "." + Integer.toHexString(i);
        };
        List<OAuthToken> tokens = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            tokens.add(OAuthToken.builder()
                    .id(withIds ? Integer.toString(100_000 + i) : null)
                    .userName(i % 7 == 0 ? null : "user" + i + "@example.com")
                    .clientId("1000.CLIENT" + i % 3)
                    .clientSecret("cs-" + secret.apply(i))
                    .refreshToken(secret.apply(i))
                    .accessToken(i % 5 == 0 ? null : secret.apply(i))
                    .grantToken(i % 11 == 0 ? secret.apply(i) : null)
                    .expiryTime(Long.toString(1_800_000_000_000L + i))
                    .redirectUrl(i % 2 == 0 ? "https://app.example.com/cb?n=" + i + ", \"quoted\"" : null)
                    .apiDomain(i % 4 == 0 ? null : "https://www.zohoapis.com")
                    .build());
        }
        return tokens;
    }

    /** The Zoho SDK's CSV file store: an absent field is an empty cell. */
    static void writeCsv(Path csv, List<OAuthToken> tokens) throws Exception {
        try (BufferedWriter w = Files.newBufferedWriter(csv)) {
            w.write(ZohoCsvSource.HEADER);
            w.write("\r\n");
            for (OAuthToken t : tokens) {
                String[] cells = {t.getId(), t.getUserName(), t.getClientId(), t.getClientSecret(),
                    t.getRefreshToken(), t.getAccessToken(), t.getGrantToken(), t.getExpiryTime(), t.getRedirectUrl(),
                    t.getApiDomain()};
                for (int c = 0; c < cells.length; c++) {
                    if (c > 0) {
                        w.write(',');
                    }
                    w.write(ZohoCsvSource.quote(cells[c]));
                }
                w.write("\r\n");
            }
        }
    }
}
