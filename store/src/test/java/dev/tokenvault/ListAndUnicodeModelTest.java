package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link ModelTest} does not generate, against its {@link ModelTest.Model} of the contract (README, "The contract"):
 * {@code saveTokens} lists of one to three tokens (all or nothing: a failing token fails the call with its code and
 * changes no token; on success each token carries its merged record as of its own place in the list), and values that
 * differ only in Unicode form, case or a space (NFC {@code é} against NFD {@code e\u0301}, surrogate pairs, {@code ann}
 * against {@code Ann}, {@code a1} against {@code " a1"}), none of which the store may fold together. Four set-ups:
 * cache on, cache off, refresh single-flight on (300 seeds of 40 steps each), and a file store reopened at random (50).
 */
class ListAndUnicodeModelTest {
    private static final int ID = 0;
    private static final int CLIENT_ID = 2;
    private static final int CLIENT_SECRET = 3;
    private static final int FIELDS = 10;
    private static final int SEEDS = 300;
    /** A file store costs a file and its opens per seed: about 0.1 s each. */
    private static final int FILE_SEEDS = 50;
    private static final int STEPS = 40;

    private static final List<Function<OAuthToken, String>> GET = ModelTest.GET;
    private static final List<BiConsumer<OAuthToken, String>> SET = ModelTest.SET;
    /** Per field, in the order of {@link #GET}: values that must stay apart ({@code ""} is an absent value). */
    private static final String[][] VALUES = {
        {"id-1", "id-2", "ID-1", "id-\uD83D\uDE00"},
        {"", "ann", "Ann", "\u00e9", "e\u0301", "\uD83D\uDE00", "\uD83D\uDE01"},
        {"", "c1", "c2"},
        {"", "s1", "s2"},
        {"", "r1", "R1", "r\u00e9", "re\u0301"},
        {"", "a1", "A1", "a\uD83D\uDE00", " a1"},
        {"", "g1", "G1", "g2"},
        {"", "0", "007", "1700000000000"},
        {"", "https://x/cb"},
        {"", "https://www.zohoapis.com"},
    };

    /** How a run opens its vault. */
    private enum Setup { CACHED, UNCACHED, SINGLE_FLIGHT, FILE_REOPENED }

    @TempDir
    Path dir;

    @Test
    void cacheOn() {
        run(Setup.CACHED);
    }

    @Test
    void cacheOff() {
        run(Setup.UNCACHED);
    }

    @Test
    void refreshSingleFlightOn() {
        run(Setup.SINGLE_FLIGHT);
    }

    @Test
    void fileStoreReopenedAtRandom() {
        run(Setup.FILE_REOPENED);
    }

    private TokenVault open(Setup setup, int seed, MasterKey key) {
        TokenVault.Builder b = TokenVault.builder().masterKey(key);
        return switch (setup) {
            case CACHED -> b.inMemory().open();
            case UNCACHED -> b.inMemory().cacheMaximumSize(0).open();
            case SINGLE_FLIGHT -> b.inMemory().refreshSingleFlight(Duration.ofSeconds(5), Duration.ofMillis(50)).open();
            case FILE_REOPENED -> b.path(dir.resolve("s" + seed + ".db")).open();
        };
    }

    private void run(Setup setup) {
        for (int seed = 0; seed < (setup == Setup.FILE_REOPENED ? FILE_SEEDS : SEEDS); seed++) {
            Random random = new Random(seed);
            List<String> log = new ArrayList<>();
            ModelTest.Model model = new ModelTest.Model();
            MasterKey key = MasterKey.generate();
            TokenVault v = open(setup, seed, key);
            try {
                for (int step = 0; step < STEPS; step++) {
                    if (setup == Setup.FILE_REOPENED && random.nextInt(8) == 0) {
                        v.close();
                        v = open(setup, seed, key);
                        log.add("reopen");
                    }
                    try {
                        step(random, v, model, log);
                    } catch (AssertionError e) {
                        throw new AssertionError(setup + ", seed " + seed + ":\n" + String.join("\n", log) + "\n"
                                + e.getMessage(), e);
                    }
                }
            } finally {
                v.close();
            }
        }
    }

    private void step(Random random, TokenVault v, ModelTest.Model model, List<String> log) {
        int op = random.nextInt(10);
        if (op < 5) {
            saveList(random, v, model, log);
        } else if (op < 8) {
            find(random, v, model, log);
        } else if (op < 9) {
            if (!model.records.isEmpty()) {
                String id = model.records.get(random.nextInt(model.records.size()))[ID];
                log.add("deleteToken " + id);
                v.deleteToken(id);
                model.records.removeIf(r -> r[ID].equals(id));
            }
        } else {
            log.add("getTokens, findTokenById of each");
            checkAll(v, model);
        }
    }

    /** A saveTokens list, against the model applied token by token to a copy of itself. */
    private void saveList(Random random, TokenVault v, ModelTest.Model model, List<String> log) {
        List<OAuthToken> list = new ArrayList<>();
        for (int i = 1 + random.nextInt(3); i > 0; i--) {
            list.add(token(random, model, 0.4));
        }
        List<OAuthToken> sent = new ArrayList<>();
        list.forEach(t -> sent.add(t.copy()));
        log.add("saveTokens " + list.stream().map(ListAndUnicodeModelTest::show).toList());

        ModelTest.Model trial = copyOf(model);
        ErrorCode expected = null;
        for (OAuthToken t : list) {
            Object planned = trial.planSave(fields(t));
            if (planned instanceof ErrorCode code) {
                expected = code;
                break;
            }
            String[] merged = (String[]) planned;
            if (merged[ID] == null) {
                merged[ID] = "new-" + trial.records.size(); // a stand-in: the store draws the real id
            }
            trial.put(merged);
        }
        TokenStoreException failure = null;
        try {
            v.saveTokens(list);
        } catch (TokenStoreException e) {
            failure = e;
        }
        if (expected != null) {
            assertNotNull(failure, "saveTokens succeeded where the model fails with " + expected);
            assertEquals(expected, failure.code(), failure.getMessage());
            assertEquals(sent, list, "a failed saveTokens changed the caller's tokens");
            return;
        }
        if (failure != null) {
            throw new AssertionError("saveTokens failed: " + failure.code() + " " + failure.getMessage(), failure);
        }
        ModelTest.Model applied = copyOf(model);
        for (int i = 0; i < list.size(); i++) {
            String[] merged = (String[]) applied.planSave(fields(sent.get(i)));
            if (merged[ID] == null) {
                merged[ID] = list.get(i).getId(); // the id the store drew, which the caller's token now carries
            }
            assertEquals(Arrays.asList(merged), Arrays.asList(fields(list.get(i))),
                    "token " + i + " of the list, after saveTokens");
            applied.put(merged);
        }
        model.records.clear();
        model.records.addAll(applied.records);
    }

    /** A findToken: the model's record, with the query's own present fields kept as the caller gave them. */
    private void find(Random random, TokenVault v, ModelTest.Model model, List<String> log) {
        OAuthToken query = token(random, model, 0.3);
        if (random.nextInt(3) == 0) {
            query.setClientId(value(random, model, CLIENT_ID));
            query.setClientSecret(value(random, model, CLIENT_SECRET));
        }
        OAuthToken sent = query.copy();
        log.add("findToken " + show(query));
        String[] match = model.find(fields(query));
        OAuthToken got = v.findToken(query);
        if (match == null) {
            assertNull(got, () -> "found " + show(got) + " where the model finds nothing");
            return;
        }
        assertNotNull(got, () -> "found nothing where the model finds " + Arrays.toString(match));
        String[] expected = new String[FIELDS];
        for (int f = 0; f < FIELDS; f++) {
            String asked = GET.get(f).apply(sent);
            expected[f] = asked == null || asked.isEmpty() ? match[f] : asked;
        }
        expected[ID] = match[ID];
        String[] found = new String[FIELDS];
        for (int f = 0; f < FIELDS; f++) {
            found[f] = GET.get(f).apply(got);
        }
        assertEquals(Arrays.asList(expected), Arrays.asList(found), "findToken");
    }

    private static void checkAll(TokenVault v, ModelTest.Model model) {
        List<String> stored = new ArrayList<>();
        for (OAuthToken t : v.getTokens()) {
            stored.add(Arrays.toString(fields(t)));
        }
        List<String> modelled = new ArrayList<>();
        model.records.forEach(r -> modelled.add(Arrays.toString(r)));
        stored.sort(null);
        modelled.sort(null);
        assertEquals(modelled, stored, "getTokens");
        for (String[] r : model.records) {
            assertTrue(Arrays.equals(r, fields(v.findTokenById(r[ID]))), () -> "findTokenById " + r[ID]);
        }
    }

    /** A token whose fields are each present with probability {@code p}, and an id one time in six. */
    private static OAuthToken token(Random random, ModelTest.Model model, double p) {
        OAuthToken t = new OAuthToken();
        for (int f = 1; f < FIELDS; f++) {
            if (random.nextDouble() < p) {
                SET.get(f).accept(t, value(random, model, f));
            }
        }
        if (random.nextInt(6) == 0) {
            t.setId(value(random, model, ID));
        }
        return t;
    }

    /** A value of field {@code f}: half the time one a stored record holds, else one of {@link #VALUES}. */
    private static String value(Random random, ModelTest.Model model, int f) {
        if (f != CLIENT_ID && f != CLIENT_SECRET && !model.records.isEmpty() && random.nextBoolean()) {
            String v = model.records.get(random.nextInt(model.records.size()))[f];
            if (v != null) {
                return v;
            }
        }
        return VALUES[f][random.nextInt(VALUES[f].length)];
    }

    /** The token's fields in the model's form: an absent or empty value is {@code null}. */
    private static String[] fields(OAuthToken t) {
        String[] out = new String[FIELDS];
        for (int f = 0; f < FIELDS; f++) {
            String v = GET.get(f).apply(t);
            out[f] = v == null || v.isEmpty() ? null : v;
        }
        return out;
    }

    private static ModelTest.Model copyOf(ModelTest.Model model) {
        ModelTest.Model copy = new ModelTest.Model();
        model.records.forEach(r -> copy.records.add(r.clone()));
        return copy;
    }

    /** For the failure log: test values, never real secrets. */
    private static String show(OAuthToken t) {
        return Arrays.toString(fields(t));
    }
}
