package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.StoreFixtures.Variant;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Model-based test: seeded random sequences of operations run against {@link TokenVault} and against a plain
 * in-memory model of the contract of docs/ARCHITECTURE.md section 3 (written here from the text, sharing no code with
 * the store), comparing every result, every error code and every object the caller gets back, step by step.
 *
 * <p>Field values come from small pools, so that lookups hit, saves collide, updates merge and conflicts happen
 * often. Sequences run on all four store variants; file stores are closed and reopened at random steps, and every
 * object the store returns is scribbled over afterwards (the store must keep its own copies).
 *
 * <p>Quick form (CI): 200 sequences of 50 steps. Long form: {@code -Dtokenvault.modelSequences=N} (and
 * {@code -Dtokenvault.modelSteps=M}). The seed is printed; {@code -Dtokenvault.modelSeed=S} replays a run.
 */
class ModelTest {
    private static final int SEQUENCES = Integer.getInteger("tokenvault.modelSequences", 200);
    private static final int STEPS = Integer.getInteger("tokenvault.modelSteps", 50);

    // field order of a model record
    private static final int ID = 0;
    private static final int USER = 1;
    private static final int CLIENT_ID = 2;
    private static final int CLIENT_SECRET = 3;
    private static final int REFRESH = 4;
    private static final int ACCESS = 5;
    private static final int GRANT = 6;
    private static final int EXPIRY = 7;
    private static final int REDIRECT = 8;
    private static final int DOMAIN = 9;
    private static final int FIELDS = 10;
    private static final String[] NAMES = {"id", "userName", "clientId", "clientSecret", "refreshToken",
        "accessToken", "grantToken", "expiryTime", "redirectUrl", "apiDomain"};
    /** The unique fields (docs/ARCHITECTURE.md section 3.3): user name, access, grant and refresh token. */
    private static final int[] UNIQUE = {USER, ACCESS, GRANT, REFRESH};

    /** A token's fields in the model's order (shared with {@link ListAndUnicodeModelTest}). */
    static final List<Function<OAuthToken, String>> GET = List.of(OAuthToken::getId,
            OAuthToken::getUserName, OAuthToken::getClientId, OAuthToken::getClientSecret, OAuthToken::getRefreshToken,
            OAuthToken::getAccessToken, OAuthToken::getGrantToken, OAuthToken::getExpiryTime,
            OAuthToken::getRedirectUrl, OAuthToken::getApiDomain);
    static final List<BiConsumer<OAuthToken, String>> SET = List.of(OAuthToken::setId,
            OAuthToken::setUserName, OAuthToken::setClientId, OAuthToken::setClientSecret, OAuthToken::setRefreshToken,
            OAuthToken::setAccessToken, OAuthToken::setGrantToken, OAuthToken::setExpiryTime,
            OAuthToken::setRedirectUrl, OAuthToken::setApiDomain);

    /** Small pools (index = field); "" must behave exactly like absent. Ids are drawn separately. */
    private static final String[][] POOLS = {
        {},
        {"", "ann", "bob", "cy", "Ann"},
        {"", "c1", "c2"},
        {"", "s1", "s2"},
        {"", "r1", "r2", "r3", "r4"},
        {"", "a1", "a2", "a3", "a4", "a5", " a1"},
        {"", "g1", "g2", "g3"},
        {"", "1", "1700000000000", "0042"},
        {"", "https://app.example.com/cb", "https://other.example.com/cb"},
        {"", "https://www.zohoapis.com", "https://www.zohoapis.eu"},
    };
    private static final String[] CHOSEN_IDS = {"id-1", "id-2", "id-3"};

    @TempDir
    Path dir;

    @Test
    void storeAgreesWithTheModelStepByStep() throws Exception {
        Map<String, Integer> counts = run("embedded", Variant.EMBEDDED, SEQUENCES);
        // the generator must reach every interesting outcome, or the comparison proves little
        for (String outcome : List.of("save:insert", "save:update", "save:CONFLICT", "save:INVALID_ARGUMENT",
                "find:branch1", "find:branch2", "find:branch3", "find:branch4", "find:null", "findById:NOT_FOUND",
                "delete:ok", "delete:NOT_FOUND", "reopen")) {
            assertTrue(counts.getOrDefault(outcome, 0) > 0 || SEQUENCES < 50,
                    "the generator never produced " + outcome + ": " + counts);
        }
    }

    /**
     * The same comparison on each database server (skipped without one), at a modest size: every call there is a
     * round trip. {@code -Dtokenvault.sharedModelSequences=N} for more.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void sharedStoreAgreesWithTheModelStepByStep(TestDatabase db) throws Exception {
        db.assumeAvailable();
        Variant[] variants = Arrays.stream(Variant.SHARED).filter(v -> v.db == db).toArray(Variant[]::new);
        Map<String, Integer> counts = run(db.toString(), variants,
                Integer.getInteger("tokenvault.sharedModelSequences", 8));
        assertTrue(counts.getOrDefault("save:CONFLICT", 0) > 0 && counts.getOrDefault("reopen", 0) > 0,
                counts::toString);
    }

    /** Runs {@code sequences} sequences over {@code variants} in turn; returns how often each outcome occurred. */
    private Map<String, Integer> run(String what, Variant[] variants, int sequences) throws Exception {
        long seed = Long.getLong("tokenvault.modelSeed", System.nanoTime());
        System.out.printf("ModelTest (%s): seed %d (replay with -Dtokenvault.modelSeed=%d), %d sequences x %d steps%n",
                what, seed, seed, sequences, STEPS);
        MasterKey key = MasterKey.generate();
        Map<String, Integer> counts = new HashMap<>();
        // This test checks the contract, not durability: file stores live in memory-backed /dev/shm when there is
        // one, where an fsync costs nothing (CrashTest covers durability on a real disk).
        // The directory is named after this JVM's pid, so that a run removes what a killed one left (memory, in /dev/shm).
        Path shm = Path.of("/dev/shm");
        boolean inMemory = Files.isDirectory(shm) && Files.isWritable(shm);
        if (inMemory) {
            removeLeftoversOfDeadRuns(shm);
        }
        Path base = inMemory ? Files.createTempDirectory(shm, SHM_PREFIX + ProcessHandle.current().pid() + "-") : dir;
        try {
            for (int s = 0; s < sequences; s++) {
                Variant variant = variants[s % variants.length];
                Path seqDir = Files.createDirectories(base.resolve("s" + s));
                new Sequence(new Random(seed * 1_000_003L + s), variant, seqDir, key, counts,
                        "seed " + seed + ", sequence " + s + " (" + variant + ")").run(STEPS);
                if (variant.db != null) {
                    variant.db.drop(variant.db.prefixFor(seqDir));
                }
                deleteTree(seqDir);
            }
        } finally {
            if (!base.equals(dir)) {
                deleteTree(base);
            }
        }
        System.out.println("ModelTest (" + what + "): outcomes " + new java.util.TreeMap<>(counts));
        return counts;
    }

    private static final String SHM_PREFIX = "tokenvault-model-";

    /** Removes {@code tokenvault-model-<pid>-*} directories whose JVM is gone (killed before its cleanup ran). */
    private static void removeLeftoversOfDeadRuns(Path shm) throws IOException {
        try (var dirs = Files.list(shm)) {
            for (Path d : dirs.toList()) {
                String name = d.getFileName().toString();
                if (!name.startsWith(SHM_PREFIX)) {
                    continue;
                }
                String[] parts = name.substring(SHM_PREFIX.length()).split("-", 2);
                try {
                    long pid = Long.parseLong(parts[0]);
                    if (parts.length == 2 && ProcessHandle.of(pid).isEmpty()) {
                        deleteTree(d);
                    }
                } catch (NumberFormatException e) {
                    // not one of ours (an older run's name without a pid): left alone
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var files = Files.walk(root)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    // ------------------------------------------------------------------ the model

    /** The contract of docs/ARCHITECTURE.md section 3 over a list of records (String[FIELDS], null = absent). */
    static final class Model {
        final List<String[]> records = new ArrayList<>();

        String[] by(int field, String value) {
            if (value == null) {
                return null;
            }
            for (String[] r : records) {
                if (value.equals(r[field])) {
                    return r;
                }
            }
            return null;
        }

        /** Which findToken branch applies (1 to 5). */
        static int branch(String[] q) {
            boolean ci = q[CLIENT_ID] != null;
            boolean cs = q[CLIENT_SECRET] != null;
            if (q[USER] != null) {
                return 1;
            }
            if (q[ACCESS] != null && !ci && !cs) {
                return 2;
            }
            if ((q[GRANT] != null || q[REFRESH] != null) && ci && cs) {
                return 3;
            }
            if (q[ID] != null) {
                return 4;
            }
            return 5;
        }

        /** Branches 1 to 3 (no id): the record they select, or null. */
        String[] selectByContent(String[] q) {
            switch (branch(q)) {
                case 1:
                    return by(USER, q[USER]);
                case 2:
                    return by(ACCESS, q[ACCESS]);
                case 3: {
                    String[] byGrant = by(GRANT, q[GRANT]);
                    return byGrant != null ? byGrant : by(REFRESH, q[REFRESH]);
                }
                default:
                    return null;
            }
        }

        /** findToken: the record the query selects, or null. */
        String[] find(String[] q) {
            int b = branch(q);
            if (b <= 3) {
                return selectByContent(q);
            }
            return b == 4 ? by(ID, q[ID]) : null;
        }

        /** saveToken row selection (a) to (c); null = insert. */
        String[] selectForSave(String[] t) {
            if (t[ID] != null) {
                return by(ID, t[ID]);
            }
            String[] b = selectByContent(t);
            if (b != null) {
                return b;
            }
            for (int f : new int[] {ACCESS, GRANT, REFRESH}) {
                String[] holder = by(f, t[f]);
                if (holder != null && (holder[USER] == null || t[USER] == null || holder[USER].equals(t[USER]))) {
                    return holder;
                }
            }
            return null;
        }

        /**
         * The outcome of a save: the merged record (its id null when the store must generate one) or an error code.
         */
        Object planSave(String[] t) {
            String[] existing = selectForSave(t);
            String[] merged;
            if (existing == null) {
                if (t[ACCESS] == null && t[REFRESH] == null && t[GRANT] == null) {
                    return ErrorCode.INVALID_ARGUMENT;
                }
                merged = t.clone();
            } else {
                merged = existing.clone();
                for (int f = 0; f < FIELDS; f++) {
                    if (t[f] != null) {
                        merged[f] = t[f];
                    }
                }
            }
            for (int f : UNIQUE) {
                String[] owner = by(f, merged[f]);
                if (owner != null && (merged[ID] == null || !owner[ID].equals(merged[ID]))) {
                    return ErrorCode.CONFLICT;
                }
            }
            return merged;
        }

        void put(String[] merged) {
            records.removeIf(r -> r[ID].equals(merged[ID]));
            records.add(merged.clone());
        }
    }

    // ------------------------------------------------------------------ one sequence

    private static final class Sequence {
        final Random random;
        final Variant variant;
        final Path dir;
        final MasterKey key;
        final Map<String, Integer> counts;
        final String where;
        final Model model = new Model();
        final List<String> log = new ArrayList<>();
        TokenVault vault;

        Sequence(Random random, Variant variant, Path dir, MasterKey key, Map<String, Integer> counts, String where) {
            this.random = random;
            this.variant = variant;
            this.dir = dir;
            this.key = key;
            this.counts = counts;
            this.where = where;
        }

        void run(int steps) {
            vault = variant.open(dir, key);
            try {
                for (int step = 0; step < steps; step++) {
                    step(step);
                }
                checkAll("end");
                VerifyReport report = vault.verify();
                if (!report.isClean()) {
                    fail("verify() after the sequence: " + report.problems());
                }
            } finally {
                vault.close();
            }
        }

        void count(String outcome) {
            counts.merge(outcome, 1, Integer::sum);
        }

        void step(int step) {
            int op = random.nextInt(100);
            if (op < 40) {
                save(step);
            } else if (op < 65) {
                find(step);
            } else if (op < 73) {
                findById(step);
            } else if (op < 81) {
                delete(step);
            } else if (op < 88) {
                log.add(step + ": getTokens");
                checkAll("getTokens at step " + step);
            } else if (op < 90) {
                log.add(step + ": deleteTokens");
                vault.deleteTokens();
                model.records.clear();
                count("deleteTokens");
            } else if (op < 95 && variant.persists()) {
                log.add(step + ": close and reopen");
                vault.close();
                expectCode(ErrorCode.CLOSED, () -> vault.getTokens(), "getTokens after close");
                vault = variant.open(dir, key);
                count("reopen");
            } else if (op < 97) {
                nullArgument(step);
            } else {
                find(step);
            }
        }

        // ---- generators

        /** A pool value, or (often) the value a stored record holds, so that lookups and collisions hit. */
        String pick(int field) {
            if (field != CLIENT_ID && field != CLIENT_SECRET && !model.records.isEmpty() && random.nextInt(2) == 0) {
                String v = model.records.get(random.nextInt(model.records.size()))[field];
                if (v != null) {
                    return v;
                }
            }
            String[] pool = POOLS[field];
            return pool[random.nextInt(pool.length)];
        }

        String pickId() {
            int r = random.nextInt(10);
            if (r < 6 && !model.records.isEmpty()) {
                return model.records.get(random.nextInt(model.records.size()))[ID];
            }
            if (r < 9) {
                return CHOSEN_IDS[random.nextInt(CHOSEN_IDS.length)];
            }
            return "no-such-id";
        }

        /** A token with a random subset of fields; ids only sometimes. */
        OAuthToken randomToken(double presence, double idChance) {
            OAuthToken t = new OAuthToken();
            for (int f = 1; f < FIELDS; f++) {
                if (random.nextDouble() < presence) {
                    SET.get(f).accept(t, pick(f));
                }
            }
            if (random.nextDouble() < idChance) {
                t.setId(pickId());
            }
            if (random.nextInt(10) < 7 && t.getAccessToken() == null && t.getRefreshToken() == null
                    && t.getGrantToken() == null) {
                int f = new int[] {ACCESS, REFRESH, GRANT}[random.nextInt(3)];
                SET.get(f).accept(t, pick(f));
            }
            return t;
        }

        /** A query aimed at one branch (or a random one), with random extra fields that must not matter. */
        OAuthToken randomQuery() {
            int aim = random.nextInt(7);
            OAuthToken q = new OAuthToken();
            switch (aim) {
                case 0 -> q.setUserName(pick(USER));
                case 1 -> q.setAccessToken(pick(ACCESS));
                case 2 -> {
                    q.setClientId(pick(CLIENT_ID));
                    q.setClientSecret(pick(CLIENT_SECRET));
                    if (random.nextBoolean()) {
                        q.setGrantToken(pick(GRANT));
                    }
                    if (random.nextBoolean()) {
                        q.setRefreshToken(pick(REFRESH));
                    }
                }
                case 3 -> q.setId(pickId());
                case 4 -> { // only fields no branch looks at (and maybe half the client credentials): null
                    q.setExpiryTime(pick(EXPIRY));
                    q.setApiDomain(pick(DOMAIN));
                    if (random.nextBoolean()) {
                        q.setClientId(pick(CLIENT_ID));
                    }
                }
                default -> {
                    return randomToken(0.35, 0.2);
                }
            }
            // extras that must not change the branch's choice (but may change which branch applies)
            for (int f : new int[] {EXPIRY, REDIRECT, DOMAIN, REFRESH, GRANT, ID}) {
                if (random.nextInt(5) == 0 && GET.get(f).apply(q) == null) {
                    SET.get(f).accept(q, f == ID ? pickId() : pick(f));
                }
            }
            return q;
        }

        // ---- operations

        void save(int step) {
            OAuthToken t = random.nextInt(4) == 0 && !model.records.isEmpty()
                    ? refreshOf(model.records.get(random.nextInt(model.records.size())))
                    : randomToken(0.4, 0.15);
            OAuthToken sent = t.copy();
            log.add(step + ": saveToken " + describe(sent));
            String[] in = normalize(t);
            Object expected = model.planSave(in);
            TokenStoreException error = null;
            try {
                vault.saveToken(t);
            } catch (TokenStoreException e) {
                error = e;
            }
            if (expected instanceof ErrorCode code) {
                if (error == null) {
                    fail("saveToken succeeded (" + describe(t) + "), the model says " + code);
                }
                if (error.code() != code) {
                    fail("saveToken failed with " + error.code() + " (" + error.getMessage() + "), the model says "
                            + code);
                }
                if (!t.equals(sent)) {
                    fail("a failed saveToken changed the caller's token: " + describe(t));
                }
                count("save:" + code);
                return;
            }
            if (error != null) {
                fail("saveToken failed with " + error.code() + " (" + error.getMessage() + "), the model says "
                        + "it saves " + Arrays.toString((String[]) expected));
            }
            String[] merged = (String[]) expected;
            boolean insert = merged[ID] == null || model.by(ID, merged[ID]) == null;
            if (merged[ID] == null) {
                String id = t.getId();
                if (id == null || id.isEmpty() || !id.matches("[A-Za-z0-9_-]+") || model.by(ID, id) != null) {
                    fail("an insert got the id " + id + ": not new, or not URL-safe");
                }
                merged[ID] = id;
            }
            expectToken(merged, t, "the token after saveToken");
            model.put(merged);
            count(insert ? "save:insert" : "save:update");
            scribble(t);
        }

        /** What the SDK does on a refresh: the user (or the id) with a new access token and expiry. */
        OAuthToken refreshOf(String[] r) {
            OAuthToken t = new OAuthToken();
            if (r[USER] != null && random.nextBoolean()) {
                t.setUserName(r[USER]);
            } else {
                t.setId(r[ID]);
            }
            t.setAccessToken(pick(ACCESS));
            t.setExpiryTime(pick(EXPIRY));
            return t;
        }

        void find(int step) {
            OAuthToken q = randomQuery();
            OAuthToken sent = q.copy();
            log.add(step + ": findToken " + describe(sent));
            String[] nq = normalize(q);
            String[] match = model.find(nq);
            OAuthToken got;
            try {
                got = vault.findToken(q);
            } catch (TokenStoreException e) {
                fail("findToken failed with " + e.code() + " (" + e.getMessage() + ")");
                return;
            }
            if (match == null) {
                if (got != null) {
                    fail("findToken returned " + describe(got) + ", the model finds nothing");
                }
                if (!q.equals(sent)) {
                    fail("findToken without a match changed the query: " + describe(q));
                }
                count("find:null");
                return;
            }
            if (got == null) {
                fail("findToken returned null, the model finds record " + match[ID]);
            }
            if (got != q) {
                fail("findToken must return the query object it was given");
            }
            String[] expected = new String[FIELDS];
            for (int f = 0; f < FIELDS; f++) {
                String sentValue = GET.get(f).apply(sent);
                expected[f] = sentValue == null || sentValue.isEmpty() ? match[f] : sentValue;
            }
            expected[ID] = match[ID];
            expectToken(expected, got, "the query after findToken");
            count("find:branch" + Model.branch(nq));
            scribble(got);
        }

        void findById(int step) {
            String id = pickId();
            log.add(step + ": findTokenById " + id);
            String[] r = model.by(ID, id);
            try {
                OAuthToken got = vault.findTokenById(id);
                if (r == null) {
                    fail("findTokenById(" + id + ") returned " + describe(got) + ", the model has no such id");
                }
                expectToken(r, got, "findTokenById(" + id + ")");
                count("findById:ok");
                scribble(got);
            } catch (TokenStoreException e) {
                if (r != null || e.code() != ErrorCode.NOT_FOUND) {
                    fail("findTokenById(" + id + ") failed with " + e.code() + ", the model says "
                            + (r == null ? "NOT_FOUND" : "record " + Arrays.toString(r)));
                }
                count("findById:NOT_FOUND");
            }
        }

        void delete(int step) {
            String id = pickId();
            log.add(step + ": deleteToken " + id);
            String[] r = model.by(ID, id);
            try {
                vault.deleteToken(id);
                if (r == null) {
                    fail("deleteToken(" + id + ") succeeded, the model has no such id");
                }
                model.records.remove(r);
                count("delete:ok");
            } catch (TokenStoreException e) {
                if (r != null || e.code() != ErrorCode.NOT_FOUND) {
                    fail("deleteToken(" + id + ") failed with " + e.code() + ", the model says "
                            + (r == null ? "NOT_FOUND" : "it deletes"));
                }
                count("delete:NOT_FOUND");
            }
        }

        void nullArgument(int step) {
            int which = random.nextInt(4);
            log.add(step + ": null argument to call " + which);
            switch (which) {
                case 0 -> expectCode(ErrorCode.INVALID_ARGUMENT, () -> vault.findToken(null), "findToken(null)");
                case 1 -> expectCode(ErrorCode.INVALID_ARGUMENT, () -> vault.saveToken(null), "saveToken(null)");
                case 2 -> expectCode(ErrorCode.INVALID_ARGUMENT, () -> vault.deleteToken(null), "deleteToken(null)");
                default -> expectCode(ErrorCode.INVALID_ARGUMENT, () -> vault.findTokenById(null),
                        "findTokenById(null)");
            }
            count("null");
        }

        /** getTokens equals the model, as new objects; each record is found by its id and by each unique value. */
        void checkAll(String when) {
            List<OAuthToken> all = vault.getTokens();
            if (all.size() != model.records.size()) {
                fail(when + ": getTokens holds " + all.size() + " records, the model " + model.records.size());
            }
            for (OAuthToken t : all) {
                String[] r = model.by(ID, t.getId());
                if (r == null) {
                    fail(when + ": getTokens holds id " + t.getId() + ", which the model does not");
                }
                expectToken(r, t, when + ", record " + t.getId());
                scribble(t);
            }
        }

        // ---- helpers

        void expectToken(String[] expected, OAuthToken got, String what) {
            for (int f = 0; f < FIELDS; f++) {
                String v = GET.get(f).apply(got);
                if (!Objects.equals(expected[f], v)) {
                    fail(what + ": " + NAMES[f] + " is " + quote(v) + ", the model says " + quote(expected[f])
                            + "\n  got   " + describe(got) + "\n  model " + Arrays.toString(expected));
                }
            }
        }

        void expectCode(ErrorCode code, Runnable call, String what) {
            try {
                call.run();
            } catch (TokenStoreException e) {
                if (e.code() != code) {
                    fail(what + " failed with " + e.code() + ", expected " + code);
                }
                return;
            }
            fail(what + " succeeded, expected " + code);
        }

        /** The caller owns what it gets back: changing it must change nothing in the store. */
        void scribble(OAuthToken t) {
            for (int f = 0; f < FIELDS; f++) {
                if (random.nextInt(3) == 0) {
                    SET.get(f).accept(t, "scribbled-" + f);
                }
            }
        }

        void fail(String message) {
            int from = Math.max(0, log.size() - 25);
            throw new AssertionError(where + ": " + message + "\nlast steps:\n  "
                    + String.join("\n  ", log.subList(from, log.size()))
                    + "\nmodel: " + model.records.stream().map(Arrays::toString).toList());
        }
    }

    /** The token as a model record: empty strings are absent. */
    static String[] normalize(OAuthToken t) {
        String[] r = new String[FIELDS];
        for (int f = 0; f < FIELDS; f++) {
            String v = GET.get(f).apply(t);
            r[f] = v == null || v.isEmpty() ? null : v;
        }
        return r;
    }

    static String describe(OAuthToken t) {
        StringBuilder sb = new StringBuilder("{");
        for (int f = 0; f < FIELDS; f++) {
            String v = GET.get(f).apply(t);
            if (v != null) {
                sb.append(sb.length() > 1 ? ", " : "").append(NAMES[f]).append('=').append(quote(v));
            }
        }
        return sb.append('}').toString();
    }

    static String quote(String v) {
        return v == null ? "null" : '"' + v + '"';
    }
}
