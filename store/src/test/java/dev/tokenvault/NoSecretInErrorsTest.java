package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.StoreFixtures.Variant;
import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.function.ThrowingSupplier;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Secrets never leave in the clear: every failure path the public API reaches, driven with tokens whose every secret
 * field (user name, client secret, refresh, access and grant token) and every key, passphrase and key file holds a
 * marker starting with {@value #MARK}. Each call must fail with the expected {@link ErrorCode} (so no check passes
 * vacuously), and neither its exception (message, {@code toString}, causes, suppressed, the printed stack trace), nor
 * any object it returns, nor anything written to {@code System.out}, {@code System.err} or java.util.logging while it
 * ran may hold a marker or the key material.
 *
 * <p>What other tests already assert: {@code BadInputTest} (the message, for oversized fields and unpaired
 * surrogates of a secret field), {@code SecretsOnDiskTest} (CONFLICT messages and {@code toString}, the files),
 * {@code MasterKeyTest} (messages of fromBase64, a typed key file, an invalid passphrase, fromEnvironment). This test
 * adds the causes, suppressed exceptions, returned objects and output streams, and the paths those do not drive.
 */
class NoSecretInErrorsTest {
    /** Every secret this test hands the store starts with this; it is searched for anywhere, case included. */
    static final String MARK = "SECRET-";
    private static final int LIMIT = TokenVault.MAX_FIELD_BYTES;

    @TempDir
    Path dir;

    /** Strings no output may hold besides {@link #MARK}: key material in its printable forms. */
    private final List<String> forbidden = new ArrayList<>(List.of(MARK));
    // ------------------------------------------------------------------ tokens

    /** A token whose every secret field holds a marker naming the field and {@code tag}. */
    static OAuthToken secretToken(String tag) {
        return OAuthToken.builder()
                .userName(MARK + "user-" + tag + "-7f3a9c@example.com")
                .clientId("client-" + tag) // not a secret: toString prints it
                .clientSecret(MARK + "client-" + tag + "-7f3a9c")
                .refreshToken(MARK + "refresh-" + tag + "-7f3a9c")
                .accessToken(MARK + "access-" + tag + "-7f3a9c")
                .grantToken(MARK + "grant-" + tag + "-7f3a9c")
                .expiryTime("1700000000000")
                .redirectUrl("https://app.example.com/cb")
                .apiDomain("https://www.zohoapis.com")
                .build();
    }

    static final Map<String, BiConsumer<OAuthToken, String>> SECRET_SETTERS = new LinkedHashMap<>();

    static {
        for (String field : List.of("userName", "clientSecret", "refreshToken", "accessToken", "grantToken")) {
            SECRET_SETTERS.put(field, BadInputTest.SETTERS.get(field));
        }
    }

    /** Values that break a field's rules, each holding a marker: too long, and not valid Unicode. */
    static Map<String, String> brokenValues(String field) {
        Map<String, String> m = new LinkedHashMap<>();
        String head = MARK + field + "-broken-";
        m.put("16 KiB + 1 byte", head + "x".repeat(LIMIT));
        m.put("16 KiB of three-byte characters", head + "\u20ac".repeat(LIMIT / 3 + 1));
        m.put("an unpaired high surrogate", head + "\uD800tail");
        m.put("an unpaired high surrogate at the end", head + "\uD83D");
        m.put("an unpaired low surrogate", head + "\uDC00x");
        m.put("a reversed pair", head + "\uDE00\uD83D");
        return m;
    }

    static Stream<Variant> variants() {
        return Stream.concat(Stream.of(Variant.EMBEDDED), Stream.of(Variant.SHARED));
    }

    // ------------------------------------------------------------------ the checks

    /** {@code call} must throw a {@link TokenStoreException} with {@code code}; nothing it shows may hold a secret. */
    TokenStoreException fails(ErrorCode code, String what, Executable call) {
        Throwable[] thrown = new Throwable[1];
        String output = capture(() -> {
            try {
                call.execute();
            } catch (Throwable t) {
                thrown[0] = t;
            }
        });
        Throwable t = thrown[0];
        if (!(t instanceof TokenStoreException e)) {
            throw new AssertionError(what + ": expected " + code + ", got " + (t == null ? "no exception" : t), t);
        }
        assertEquals(code, e.code(), () -> what + ": wrong code; message: " + e.getMessage());
        assertClean(what, describe(e) + "\n--- output ---\n" + output);
        return e;
    }

    /** {@code call} must succeed; its result's {@code toString} and its output may hold no secret. */
    <T> T returns(String what, ThrowingSupplier<T> call) {
        Object[] result = new Object[1];
        String output = capture(() -> {
            try {
                result[0] = call.get();
            } catch (Throwable t) {
                throw new AssertionError(what + ": failed: " + t, t);
            }
        });
        assertClean(what, result[0] + "\n--- output ---\n" + output);
        @SuppressWarnings("unchecked")
        T r = (T) result[0];
        return r;
    }

    void assertClean(String what, String text) {
        for (String s : forbidden) {
            if (text.contains(s)) {
                fail(what + ": a secret (" + (s.equals(MARK) ? "marker " + MARK : "key material") + ") left in:\n"
                        + text);
            }
        }
    }

    /** Message, toString, localized message, causes and suppressed (each once), and the printed stack trace. */
    static String describe(Throwable top) {
        StringBuilder b = new StringBuilder();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Throwable> todo = new ArrayList<>(List.of(top));
        while (!todo.isEmpty()) {
            Throwable t = todo.remove(todo.size() - 1);
            if (t == null || !seen.add(t)) {
                continue;
            }
            b.append(t.getMessage()).append('\n').append(t.getLocalizedMessage()).append('\n').append(t).append('\n');
            todo.add(t.getCause());
            todo.addAll(Arrays.asList(t.getSuppressed()));
        }
        StringWriter trace = new StringWriter();
        top.printStackTrace(new PrintWriter(trace));
        return b.append(trace).toString();
    }

    /** Runs {@code body} with System.out, System.err and java.util.logging captured; returns what they got. */
    static String capture(Runnable body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream into = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        PrintStream out = System.out;
        PrintStream err = System.err;
        Logger root = Logger.getLogger("");
        Level level = root.getLevel();
        StringBuilder logged = new StringBuilder();
        Handler handler = new Handler() {
            private final SimpleFormatter format = new SimpleFormatter();

            @Override
            public synchronized void publish(LogRecord r) {
                logged.append(format.format(r));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        handler.setLevel(Level.ALL);
        root.addHandler(handler);
        root.setLevel(Level.ALL);
        System.setOut(into);
        System.setErr(into);
        try {
            body.run();
        } finally {
            System.setOut(out);
            System.setErr(err);
            root.setLevel(level);
            root.removeHandler(handler);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        synchronized (handler) {
            text += logged;
        }
        err.print(text); // what the calls printed stays visible in the test's output
        return text;
    }

    // ------------------------------------------------------------------ invalid fields

    @ParameterizedTest
    @MethodSource("variants")
    void invalidFieldsAreRefusedNamingTheFieldNeverAValue(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken held = secretToken("held");
            returns("save of a valid token", () -> {
                v.saveToken(held);
                return held;
            });
            List<OAuthToken> before = snapshot(v);
            for (Map.Entry<String, BiConsumer<OAuthToken, String>> field : SECRET_SETTERS.entrySet()) {
                String label = field.getKey();
                for (Map.Entry<String, String> broken : brokenValues(label).entrySet()) {
                    String what = label + " with " + broken.getKey();
                    OAuthToken insert = secretToken("insert");
                    field.getValue().accept(insert, broken.getValue());
                    OAuthToken update = secretToken("update");
                    update.setId(held.getId());
                    field.getValue().accept(update, broken.getValue());
                    for (OAuthToken bad : List.of(insert, update)) {
                        String kind = bad == insert ? "insert: " : "update: ";
                        assertNamed(label, fails(ErrorCode.INVALID_ARGUMENT, kind + what, () -> v.saveToken(bad)));
                        assertNamed(label, fails(ErrorCode.INVALID_ARGUMENT, "saveTokens of one, " + kind + what,
                                () -> v.saveTokens(List.of(bad))));
                        TokenStoreException e = fails(ErrorCode.INVALID_ARGUMENT, "saveTokens at a position, "
                                + kind + what, () -> v.saveTokens(List.of(secretToken("first"), bad)));
                        assertNamed("tokens[1]", e);
                        assertNamed(label, e);
                        assertNamed(label, fails(ErrorCode.INVALID_ARGUMENT, "validate, " + kind + what,
                                () -> TokenVault.validate(bad)));
                        assertNamed(label, fails(ErrorCode.INVALID_ARGUMENT, "validateNew, " + kind + what,
                                () -> TokenVault.validateNew(bad)));
                        assertClean("the refused token's toString", bad.toString());
                    }
                }
            }
            // the other fields broken, with every secret present and valid beside them
            Map<String, OAuthToken> others = new LinkedHashMap<>();
            for (String id : List.of("a\u0000b", "esc\u001b[0m", "nel\u0085", "i".repeat(129), "id\uD800")) {
                OAuthToken t = secretToken("bad-id");
                t.setId(id);
                others.put("id", t);
                assertNamed("id", fails(ErrorCode.INVALID_ARGUMENT, "an id breaking the rules",
                        () -> v.saveToken(t)));
            }
            OAuthToken expiry = secretToken("expiry");
            expiry.setExpiryTime("12a");
            others.put("expiryTime", expiry);
            OAuthToken url = secretToken("url");
            url.setRedirectUrl("https://x/" + "x".repeat(LIMIT));
            others.put("redirectUrl", url);
            OAuthToken domain = secretToken("domain");
            domain.setApiDomain("https://\uD800");
            others.put("apiDomain", domain);
            for (Map.Entry<String, OAuthToken> o : others.entrySet()) {
                assertNamed(o.getKey(), fails(ErrorCode.INVALID_ARGUMENT, o.getKey() + " broken",
                        () -> v.saveToken(o.getValue())));
                assertNamed("tokens[2]", fails(ErrorCode.INVALID_ARGUMENT, o.getKey() + " broken at a position",
                        () -> v.saveTokens(List.of(secretToken("one"), secretToken("two"), o.getValue()))));
            }
            // a new token with secrets but no token to authenticate with
            OAuthToken noToken = OAuthToken.builder().userName(MARK + "user-lonely").clientSecret(MARK + "cs-lonely")
                    .build();
            assertNamed("accessToken", fails(ErrorCode.INVALID_ARGUMENT, "a new token without a token",
                    () -> v.saveToken(noToken)));
            assertNamed("tokens[1]", fails(ErrorCode.INVALID_ARGUMENT, "a new token without a token at a position",
                    () -> v.saveTokens(List.of(secretToken("ok"), noToken))));
            assertEquals(before, snapshot(v), "a refused save wrote something");
        }
    }

    private static void assertNamed(String name, TokenStoreException e) {
        assertTrue(e.getMessage().contains(name), () -> "the message does not name " + name + ": " + e.getMessage());
    }

    // ------------------------------------------------------------------ uniqueness

    @ParameterizedTest
    @MethodSource("variants")
    void conflictsNameTheFieldAndTheRecordNeverTheValue(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = secretToken("a");
            OAuthToken b = secretToken("b");
            returns("saveTokens of two", () -> {
                v.saveTokens(List.of(a, b));
                return List.of(a, b);
            });
            List<OAuthToken> before = snapshot(v);
            Map<String, java.util.function.Function<OAuthToken, String>> fields = new LinkedHashMap<>();
            fields.put("accessToken", OAuthToken::getAccessToken);
            fields.put("refreshToken", OAuthToken::getRefreshToken);
            fields.put("grantToken", OAuthToken::getGrantToken);
            fields.put("userName", OAuthToken::getUserName);
            for (Map.Entry<String, java.util.function.Function<OAuthToken, String>> f : fields.entrySet()) {
                String label = f.getKey();
                String taken = f.getValue().apply(a);
                // an update of b by id that would take a's value
                OAuthToken update = OAuthToken.builder().id(b.getId()).clientSecret(MARK + "cs-update").build();
                SECRET_SETTERS.get(label).accept(update, taken);
                TokenStoreException e = fails(ErrorCode.CONFLICT, "update by id taking " + label,
                        () -> v.saveToken(update));
                assertNamed(label, e);
                assertNamed(a.getId(), e);
                assertNamed("tokens[1]", fails(ErrorCode.CONFLICT, "the same at a position",
                        () -> v.saveTokens(List.of(secretToken("fresh-" + label), update))));
                // a new token (another user) holding a's value
                if (!label.equals("userName")) {
                    OAuthToken insert = secretToken("insert-" + label);
                    SECRET_SETTERS.get(label).accept(insert, taken);
                    assertNamed(label, fails(ErrorCode.CONFLICT, "insert holding " + label,
                            () -> v.saveToken(insert)));
                }
                // two new tokens of one list holding one value
                OAuthToken first = secretToken("first-" + label);
                OAuthToken second = secretToken("second-" + label);
                SECRET_SETTERS.get(label).accept(second, f.getValue().apply(first));
                if (label.equals("userName")) {
                    second.setId("second-" + label); // else it updates the first by user name
                }
                TokenStoreException both = fails(ErrorCode.CONFLICT, "two tokens of one list sharing " + label,
                        () -> v.saveTokens(List.of(first, second)));
                assertNamed("tokens[1]", both);
                assertNamed(label, both);
            }
            assertEquals(before, snapshot(v), "a refused save wrote something");
        }
    }

    // ------------------------------------------------------------------ lookups and deletes

    @ParameterizedTest
    @MethodSource("variants")
    void badQueriesAndIdsAreRefusedWithoutTheirValues(Variant variant) {
        checkQueriesAndIds(variant.open(dir));
    }

    /** The same through refresh single-flight, whose finds take another path (a lease table around the reader). */
    @Test
    void badQueriesAndIdsUnderRefreshSingleFlight() {
        checkQueriesAndIds(Variant.FILE_CACHED.builder(dir, MasterKey.generate())
                .refreshSingleFlight(Duration.ofSeconds(5), Duration.ofMillis(200)).open());
    }

    private void checkQueriesAndIds(TokenVault opened) {
        try (TokenVault v = opened) {
            OAuthToken a = secretToken("a");
            returns("save", () -> {
                v.saveToken(a);
                return a;
            });
            // found: what comes back prints no secret
            returns("findToken by user name", () -> v.findToken(OAuthToken.builder().userName(a.getUserName())
                    .build()));
            returns("findToken by access token", () -> v.findToken(OAuthToken.builder()
                    .accessToken(a.getAccessToken()).build()));
            returns("findToken by refresh token", () -> v.findToken(OAuthToken.builder()
                    .refreshToken(a.getRefreshToken()).clientId(a.getClientId()).clientSecret(a.getClientSecret())
                    .build()));
            returns("findTokenById", () -> v.findTokenById(a.getId()));
            returns("getTokens", v::getTokens);
            returns("the vault", v::toString);
            returns("stats", v::stats);
            returns("verify", v::verify);
            // not found: null, and nothing printed
            assertNull(returns("findToken of an unknown access token", () -> v.findToken(OAuthToken.builder()
                    .accessToken(MARK + "access-unknown").build())));
            // the lookup value breaking the rules, in each field a find looks up by
            for (Map.Entry<String, BiConsumer<OAuthToken, String>> field : SECRET_SETTERS.entrySet()) {
                String label = field.getKey();
                for (Map.Entry<String, String> broken : brokenValues(label).entrySet()) {
                    OAuthToken q = new OAuthToken();
                    field.getValue().accept(q, broken.getValue());
                    if (label.equals("refreshToken") || label.equals("grantToken")) {
                        q.setClientId(a.getClientId());
                        q.setClientSecret(a.getClientSecret());
                    }
                    if (label.equals("clientSecret")) { // looked up by refresh token, the secret checked beside it
                        q.setRefreshToken(a.getRefreshToken());
                        q.setClientId(a.getClientId());
                    }
                    assertNamed(label, fails(ErrorCode.INVALID_ARGUMENT, "findToken by " + label + " with "
                            + broken.getKey(), () -> v.findToken(q)));
                    // a cache hit by a valid user name with this field broken beside it
                    if (!label.equals("userName")) {
                        OAuthToken hit = OAuthToken.builder().userName(a.getUserName()).build();
                        field.getValue().accept(hit, broken.getValue());
                        assertNamed(label, fails(ErrorCode.INVALID_ARGUMENT, "findToken by a valid user name, "
                                + label + " with " + broken.getKey(), () -> v.findToken(hit)));
                    }
                }
            }
            OAuthToken badExpiry = OAuthToken.builder().accessToken(a.getAccessToken()).expiryTime("12a").build();
            assertNamed("expiryTime", fails(ErrorCode.INVALID_ARGUMENT, "findToken with a bad expiryTime",
                    () -> v.findToken(badExpiry)));
            fails(ErrorCode.INVALID_ARGUMENT, "findToken(null)", () -> v.findToken(null));
            // ids
            for (String id : List.of("a\u0000b", "esc\u001b[0m", "i".repeat(129), "id\uD800", "")) {
                OAuthToken byId = secretToken("query");
                byId.setUserName(null);
                byId.setAccessToken(null);
                byId.setId(id.isEmpty() ? "i".repeat(200) : id);
                assertNamed("id", fails(ErrorCode.INVALID_ARGUMENT, "findTokenById of a bad id",
                        () -> v.findTokenById(id)));
                assertNamed("id", fails(ErrorCode.INVALID_ARGUMENT, "deleteToken of a bad id",
                        () -> v.deleteToken(id)));
                assertNamed("id", fails(ErrorCode.INVALID_ARGUMENT, "findToken by a bad id, secrets beside it",
                        () -> v.findToken(byId)));
            }
            fails(ErrorCode.INVALID_ARGUMENT, "findTokenById(null)", () -> v.findTokenById(null));
            fails(ErrorCode.INVALID_ARGUMENT, "deleteToken(null)", () -> v.deleteToken(null));
            fails(ErrorCode.NOT_FOUND, "findTokenById of an unknown id", () -> v.findTokenById("no-such-id"));
            fails(ErrorCode.NOT_FOUND, "deleteToken of an unknown id", () -> v.deleteToken("no-such-id"));
            assertEquals(a.getId(), v.findTokenById(a.getId()).getId(), "the record was lost");
        }
    }

    // ------------------------------------------------------------------ a damaged record

    @Test
    void aDamagedRecordFailsIntegrityWithoutItsValues() {
        MasterKey key = MasterKey.generate();
        Path file = dir.resolve("damaged.db");
        OAuthToken a = secretToken("a");
        OAuthToken b = secretToken("b");
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            v.saveTokens(List.of(a, b));
        }
        try (MapDbEngine engine = MapDbEngine.open(file, Field.INDEXED.length)) {
            byte[] sealed = engine.get(a.getId());
            sealed[sealed.length - 1] ^= 1; // the tag
            engine.commit(new Batch().putRecord(a.getId(), sealed));
        }
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).cacheMaximumSize(0).open()) {
            fails(ErrorCode.INTEGRITY, "findTokenById", () -> v.findTokenById(a.getId()));
            fails(ErrorCode.INTEGRITY, "findToken by user name", () -> v.findToken(OAuthToken.builder()
                    .userName(a.getUserName()).build()));
            fails(ErrorCode.INTEGRITY, "findToken by access token", () -> v.findToken(OAuthToken.builder()
                    .accessToken(a.getAccessToken()).build()));
            fails(ErrorCode.INTEGRITY, "findToken by grant token", () -> v.findToken(OAuthToken.builder()
                    .grantToken(a.getGrantToken()).clientId(a.getClientId()).clientSecret(a.getClientSecret())
                    .build()));
            fails(ErrorCode.INTEGRITY, "getTokens", v::getTokens);
            OAuthToken update = secretToken("update");
            update.setId(a.getId());
            fails(ErrorCode.INTEGRITY, "an update of it by id", () -> v.saveToken(update));
            OAuthToken taking = OAuthToken.builder().id(b.getId()).refreshToken(a.getRefreshToken()).build();
            fails(ErrorCode.INTEGRITY, "an update of another record taking its refresh token",
                    () -> v.saveToken(taking));
            fails(ErrorCode.INTEGRITY, "rotateIndexKey", v::rotateIndexKey);
            VerifyReport report = returns("verify", v::verify);
            assertFalse(report.isClean());
            returns("resealAll", v::resealAll);
            returns("repair", v::repair);
            returns("deleteToken of the damaged record", () -> {
                v.deleteToken(a.getId());
                return "deleted";
            });
            fails(ErrorCode.NOT_FOUND, "findTokenById after its delete", () -> v.findTokenById(a.getId()));
            assertEquals(b.getId(), v.findToken(OAuthToken.builder().accessToken(b.getAccessToken()).build())
                    .getId());
        }
    }

    // ------------------------------------------------------------------ a failing disk

    @Test
    void aWriteTheDiskRefusesFailsWithoutTheToken() {
        FailingEngine[] engine = new FailingEngine[1];
        try (TokenVault v = TokenVault.builder().path(dir.resolve("io.db")).masterKey(MasterKey.generate())
                .engineWrapper(e -> engine[0] = new FailingEngine(e)).open()) {
            engine[0].failNextStage();
            fails(ErrorCode.IO, "saveToken while staging fails", () -> v.saveToken(secretToken("io")));
            engine[0].failNextStage();
            fails(ErrorCode.IO, "saveTokens while staging fails",
                    () -> v.saveTokens(List.of(secretToken("io1"), secretToken("io2"))));
            assertTrue(v.getTokens().isEmpty());
        }
    }

    // ------------------------------------------------------------------ read-only and closed vaults

    @Test
    void writesToAReadOnlyOrClosedVaultFailWithoutTheToken() {
        Path file = dir.resolve("ro.db");
        byte[] raw = keyBytes(0x10);
        forbidKey(raw);
        OAuthToken a = secretToken("a");
        TokenVault closed;
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromBytes(raw)).open()) {
            v.saveToken(a);
            closed = v;
        }
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromBytes(raw)).readOnly().open()) {
            byte[] other = keyBytes(0x40);
            forbidKey(other);
            for (Map.Entry<String, Executable> w : writes(v, a.getId(), other).entrySet()) {
                assertNamed(w.getKey(), fails(ErrorCode.READ_ONLY, "read-only " + w.getKey(), w.getValue()));
            }
            returns("a find on the read-only vault", () -> v.findTokenById(a.getId()));
        }
        byte[] other = keyBytes(0x40);
        for (Map.Entry<String, Executable> w : writes(closed, a.getId(), other).entrySet()) {
            fails(ErrorCode.CLOSED, "closed " + w.getKey(), w.getValue());
        }
        fails(ErrorCode.CLOSED, "closed findToken", () -> closed.findToken(secretToken("q")));
        fails(ErrorCode.CLOSED, "closed findTokenById", () -> closed.findTokenById(a.getId()));
    }

    private static Map<String, Executable> writes(TokenVault v, String id, byte[] newKey) {
        Map<String, Executable> w = new LinkedHashMap<>();
        w.put("saveToken", () -> v.saveToken(secretToken("new")));
        w.put("saveTokens", () -> v.saveTokens(List.of(secretToken("new1"), secretToken("new2"))));
        w.put("deleteToken", () -> v.deleteToken(id));
        w.put("deleteTokens", v::deleteTokens);
        w.put("rotateMasterKey", () -> v.rotateMasterKey(MasterKey.fromBytes(newKey)));
        w.put("rotateDataKey", v::rotateDataKey);
        w.put("resealAll", v::resealAll);
        w.put("rotateIndexKey", v::rotateIndexKey);
        w.put("repair", v::repair);
        w.put("compact", v::compact);
        return w;
    }

    // ------------------------------------------------------------------ keys and passphrases

    @Test
    void aWrongKeyOrPassphraseIsNeverPrinted() {
        byte[] right = keyBytes(0x20);
        byte[] wrong = keyBytes(0x60);
        forbidKey(right);
        forbidKey(wrong);
        Path raw = dir.resolve("raw.db");
        try (TokenVault v = TokenVault.builder().path(raw).masterKey(MasterKey.fromBytes(right)).open()) {
            v.saveToken(secretToken("raw"));
        }
        fails(ErrorCode.WRONG_KEY, "open with the wrong raw key",
                () -> TokenVault.builder().path(raw).masterKey(MasterKey.fromBytes(wrong)).open());
        fails(ErrorCode.WRONG_KEY, "open with the wrong raw key, read-only",
                () -> TokenVault.builder().path(raw).masterKey(MasterKey.fromBytes(wrong)).readOnly().open());
        fails(ErrorCode.WRONG_KEY, "open a raw-key store with a passphrase", () -> TokenVault.builder().path(raw)
                .masterKey(MasterKey.fromPassphrase((MARK + "pass-for-raw").toCharArray())).open());

        Path pass = dir.resolve("pass.db");
        String passphrase = MARK + "pass-right-\u00e9\u00e8";
        try (TokenVault v = TokenVault.builder().path(pass)
                .masterKey(MasterKey.fromPassphrase(passphrase.toCharArray())).open()) {
            v.saveToken(secretToken("pass"));
        }
        fails(ErrorCode.WRONG_KEY, "open with the wrong passphrase", () -> TokenVault.builder().path(pass)
                .masterKey(MasterKey.fromPassphrase((MARK + "pass-wrong").toCharArray())).open());
        fails(ErrorCode.WRONG_KEY, "open a passphrase store with a raw key",
                () -> TokenVault.builder().path(pass).masterKey(MasterKey.fromBytes(wrong)).open());

        // rotated: the old key no longer opens, the new one does
        try (TokenVault v = TokenVault.builder().path(raw).masterKey(MasterKey.fromBytes(right)).open()) {
            returns("rotateMasterKey", () -> {
                v.rotateMasterKey(MasterKey.fromBytes(wrong));
                return v;
            });
        }
        fails(ErrorCode.WRONG_KEY, "open with the key before the rotation",
                () -> TokenVault.builder().path(raw).masterKey(MasterKey.fromBytes(right)).open());

        for (String bad : List.of(MARK + "pass\uD800", "\uDC00" + MARK + "pass", MARK + "pass\uDBFF",
                MARK + "pass\uDE00\uD83D")) {
            assertNamed("passphrase", fails(ErrorCode.INVALID_ARGUMENT, "a passphrase that is not valid Unicode",
                    () -> MasterKey.fromPassphrase(bad.toCharArray())));
        }
        MasterKey destroyed = MasterKey.fromPassphrase((MARK + "pass-destroyed").toCharArray());
        returns("a passphrase key", destroyed::toString);
        destroyed.destroy();
        returns("a destroyed key", destroyed::toString);
        assertNamed("destroyed", fails(ErrorCode.INVALID_ARGUMENT, "open with a destroyed key",
                () -> TokenVault.builder().path(pass).masterKey(destroyed).open()));
        MasterKey rawKey = MasterKey.fromBytes(right);
        returns("a raw key", rawKey::toString);
    }

    @Test
    void masterKeyFactoriesNeverEchoTheirInput() throws IOException {
        String shortKey = Base64.getEncoder().encodeToString(keyBytes(0x30, 31));
        String longKey = Base64.getEncoder().encodeToString(keyBytes(0x30, 33));
        forbidden.add(shortKey);
        forbidden.add(longKey);
        for (String bad : List.of(MARK + "base64-not!!", "  " + MARK + "base64  ", shortKey, longKey,
                shortKey.substring(0, 20) + "*%")) {
            fails(ErrorCode.INVALID_ARGUMENT, "fromBase64 of bad text", () -> MasterKey.fromBase64(bad));
        }
        for (int n : new int[] {0, 16, 31, 33}) {
            byte[] b = Arrays.copyOf(MARK.getBytes(StandardCharsets.US_ASCII), n);
            assertNamed("32", fails(ErrorCode.INVALID_ARGUMENT, "fromBytes of " + n + " bytes",
                    () -> MasterKey.fromBytes(b)));
        }
        Map<String, byte[]> contents = new LinkedHashMap<>();
        contents.put("text that is not base64", (MARK + "keyfile-not base64!").getBytes(StandardCharsets.UTF_8));
        contents.put("32 typed characters", pad(MARK + "keyfile-typed-", 32));
        contents.put("base64 of 31 bytes", (shortKey + "\n").getBytes(StandardCharsets.US_ASCII));
        contents.put("base64 of 33 bytes", (longKey + "\n").getBytes(StandardCharsets.US_ASCII));
        contents.put("more than 1024 bytes", pad(MARK + "keyfile-big-", 1025));
        contents.put("empty", new byte[0]);
        int i = 0;
        for (Map.Entry<String, byte[]> c : contents.entrySet()) {
            Path f = dir.resolve("key" + i++ + ".key");
            Files.write(f, c.getValue());
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
            assertNamed(f.toString(), fails(ErrorCode.INVALID_ARGUMENT, "fromFile of " + c.getKey(),
                    () -> MasterKey.fromFile(f)));
        }
        Path open = dir.resolve("readable.key");
        Files.write(open, pad(MARK + "keyfile-readable-", 44));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        assertNamed("chmod 600", fails(ErrorCode.INVALID_ARGUMENT, "fromFile of a file others can read",
                () -> MasterKey.fromFile(open)));
        fails(ErrorCode.INVALID_ARGUMENT, "fromFile of a directory", () -> MasterKey.fromFile(dir));
        fails(ErrorCode.INVALID_ARGUMENT, "fromFile of a missing file",
                () -> MasterKey.fromFile(dir.resolve("missing.key")));
    }

    /** fromEnvironment reads this process's environment: a child JVM gets a variable holding bad key text. */
    @Test
    void fromEnvironmentNeverEchoesTheVariable() throws Exception {
        String var = "TOKENVAULT_TEST_SECRET_KEY";
        String shortKey = Base64.getEncoder().encodeToString(keyBytes(0x50, 31));
        forbidden.add(shortKey);
        for (String value : List.of(MARK + "env-not-base64!", shortKey, "  " + MARK + "env  ")) {
            ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(EnvProbe.class, var)).redirectErrorStream(true);
            pb.environment().put(var, value);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish");
            assertTrue(out.contains("code=INVALID_ARGUMENT") && out.contains(var), out);
            assertClean("fromEnvironment of bad text, in a child JVM", out);
        }
    }

    /** Main class of the child JVM: prints everything a failed {@code MasterKey.fromEnvironment} shows. */
    static final class EnvProbe {
        public static void main(String[] args) {
            try {
                MasterKey k = MasterKey.fromEnvironment(args[0]);
                System.out.println("OK " + k);
            } catch (TokenStoreException e) {
                System.out.println("code=" + e.code());
                System.out.println(describe(e));
            }
            System.out.flush();
        }
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] keyBytes(int seed) {
        return keyBytes(seed, 32);
    }

    private static byte[] keyBytes(int seed, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + i * 7);
        }
        return b;
    }

    /** The key's printable forms join the forbidden strings. */
    private void forbidKey(byte[] raw) {
        forbidden.add(Base64.getEncoder().encodeToString(raw));
        forbidden.add(HexFormat.of().formatHex(raw));
        forbidden.add(HexFormat.of().withUpperCase().formatHex(raw));
        forbidden.add(Arrays.toString(raw));
        forbidden.add(new String(raw, StandardCharsets.ISO_8859_1));
    }

    private static byte[] pad(String head, int length) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) 'k');
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(h, 0, b, 0, Math.min(h.length, length));
        return b;
    }
}
