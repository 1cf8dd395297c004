package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.StoreFixtures.Variant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A table of inputs and their outcomes: rejected with a code and a message naming the field, or round-tripped. */
class BadInputTest {
    @TempDir Path dir;

    static final int LIMIT = 16 * 1024;

    static final Map<String, BiConsumer<OAuthToken, String>> SETTERS = new LinkedHashMap<>();
    static final Map<String, java.util.function.Function<OAuthToken, String>> GETTERS = Map.of(
            "id", OAuthToken::getId, "userName", OAuthToken::getUserName, "clientId", OAuthToken::getClientId,
            "clientSecret", OAuthToken::getClientSecret, "refreshToken", OAuthToken::getRefreshToken,
            "accessToken", OAuthToken::getAccessToken, "grantToken", OAuthToken::getGrantToken,
            "expiryTime", OAuthToken::getExpiryTime, "redirectUrl", OAuthToken::getRedirectUrl,
            "apiDomain", OAuthToken::getApiDomain);
    static final Set<String> SECRET = Set.of("clientSecret", "refreshToken", "accessToken", "grantToken");

    static {
        SETTERS.put("id", OAuthToken::setId);
        SETTERS.put("userName", OAuthToken::setUserName);
        SETTERS.put("clientId", OAuthToken::setClientId);
        SETTERS.put("clientSecret", OAuthToken::setClientSecret);
        SETTERS.put("refreshToken", OAuthToken::setRefreshToken);
        SETTERS.put("accessToken", OAuthToken::setAccessToken);
        SETTERS.put("grantToken", OAuthToken::setGrantToken);
        SETTERS.put("expiryTime", OAuthToken::setExpiryTime);
        SETTERS.put("redirectUrl", OAuthToken::setRedirectUrl);
        SETTERS.put("apiDomain", OAuthToken::setApiDomain);
    }

    /** What a call does to a store that holds {@code existing}. */
    interface Call {
        void run(TokenVault v, OAuthToken existing);
    }

    /**
     * One row. {@code code == null}: the call succeeds and {@code field}'s {@code value} round-trips; otherwise it
     * fails with {@code code}, the message names {@code field} and, for a secret field, never holds {@code value}.
     */
    record Case(String name, ErrorCode code, String field, String value, Call call) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A new token with one field set: an insert (it carries an access token unless the field is one). */
    static OAuthToken insertWith(String field, String value) {
        OAuthToken t = OAuthToken.builder().accessToken("fresh-access").build();
        SETTERS.get(field).accept(t, value);
        return t;
    }

    static Case insertRejected(String name, String field, String value) {
        return new Case("insert " + field + ": " + name, ErrorCode.INVALID_ARGUMENT, field, value,
                (v, e) -> v.saveToken(insertWith(field, value)));
    }

    static Case updateRejected(String name, String field, String value) {
        return new Case("update " + field + ": " + name, ErrorCode.INVALID_ARGUMENT, field, value, (v, e) -> {
            OAuthToken t = OAuthToken.builder().id(e.getId()).accessToken("changed-access").build();
            SETTERS.get(field).accept(t, value);
            v.saveToken(t);
        });
    }

    static Case roundTrip(String name, String field, String value) {
        return new Case("round trip " + field + ": " + name, null, field, value,
                (v, e) -> v.saveToken(insertWith(field, value)));
    }

    static String over(String field, String unit) {
        String prefix = SECRET.contains(field) ? "S3CR3T" : "";
        if (field.equals("expiryTime")) {
            return "1".repeat(LIMIT + 1);
        }
        int unitBytes = unit.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        String s = prefix + unit.repeat((LIMIT - prefix.length()) / unitBytes + 1);
        assertTrue(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > LIMIT);
        return s;
    }

    static List<Case> table() {
        List<Case> t = new ArrayList<>();
        // nulls
        t.add(new Case("null token", ErrorCode.INVALID_ARGUMENT, "token", null, (v, e) -> v.saveToken(null)));
        t.add(new Case("null query", ErrorCode.INVALID_ARGUMENT, "query", null, (v, e) -> v.findToken(null)));
        t.add(new Case("null id to findTokenById", ErrorCode.INVALID_ARGUMENT, "id", null,
                (v, e) -> v.findTokenById(null)));
        t.add(new Case("null id to deleteToken", ErrorCode.INVALID_ARGUMENT, "id", null,
                (v, e) -> v.deleteToken(null)));
        // empty strings: an insert with no token
        t.add(new Case("all fields empty", ErrorCode.INVALID_ARGUMENT, "accessToken", null, (v, e) -> {
            OAuthToken x = new OAuthToken();
            SETTERS.values().forEach(s -> s.accept(x, ""));
            v.saveToken(x);
        }));
        // length: 16 KiB of UTF-8 is the limit
        for (String field : SETTERS.keySet()) {
            if (field.equals("id")) {
                continue;
            }
            t.add(insertRejected("16 KiB + 1 byte", field, over(field, "x")));
            t.add(roundTrip("exactly 16 KiB", field, field.equals("expiryTime") ? "1".repeat(LIMIT)
                    : ContractTest.exact16k(field.substring(0, 4), "x")));
        }
        t.add(insertRejected("16 KiB + 2 bytes of three-byte chars, fewer chars", "accessToken", over("accessToken", "€")));
        t.add(insertRejected("16 KiB + 1 byte after emoji", "refreshToken",
                ContractTest.exact16k("S3CR", "😀") + "x"));
        t.add(insertRejected("16 KiB + 4 bytes of emoji", "userName", "😀".repeat(LIMIT / 4 + 1)));
        t.add(roundTrip("exactly 16 KiB of emoji", "grantToken", "😀".repeat(LIMIT / 4)));
        t.add(updateRejected("16 KiB + 1 byte", "clientSecret", over("clientSecret", "x")));
        // ids
        for (String id : List.of("a\u0000b", "a\nb", "tab\t", "\u007fdel", "nel\u0085", "esc\u001b[0m")) {
            String shown = id.chars().mapToObj(c -> c < 0x20 || (c >= 0x7f && c < 0xa0)
                    ? String.format("\\u%04x", c) : String.valueOf((char) c)).collect(Collectors.joining());
            t.add(insertRejected("control character " + shown, "id", id));
            t.add(new Case("findTokenById control character " + shown, ErrorCode.INVALID_ARGUMENT, "id", id,
                    (v, e) -> v.findTokenById(id)));
            t.add(new Case("deleteToken control character " + shown, ErrorCode.INVALID_ARGUMENT, "id", id,
                    (v, e) -> v.deleteToken(id)));
        }
        String id129 = "i".repeat(129);
        t.add(insertRejected("129 characters", "id", id129));
        t.add(new Case("findTokenById 129 characters", ErrorCode.INVALID_ARGUMENT, "id", id129,
                (v, e) -> v.findTokenById(id129)));
        t.add(new Case("deleteToken 129 characters", ErrorCode.INVALID_ARGUMENT, "id", id129,
                (v, e) -> v.deleteToken(id129)));
        t.add(roundTrip("128 characters", "id", "i".repeat(128)));
        t.add(roundTrip("128 characters of surrogate pairs", "id", "😀".repeat(64)));
        // an empty id is an absent id: there is nothing to find or delete
        t.add(new Case("findTokenById empty", ErrorCode.INVALID_ARGUMENT, "id", "", (v, e) -> v.findTokenById("")));
        t.add(new Case("deleteToken empty", ErrorCode.INVALID_ARGUMENT, "id", "", (v, e) -> v.deleteToken("")));
        for (String id : List.of("a/b", "..\\x", "../../../etc/passwd", "C:\\Windows\\x", "/abs", "%2F..%2F",
                "ключ-😀", "id with spaces", "'; DROP TABLE tokens; --", "\"quoted\"", "*", "?", "tokens.db")) {
            t.add(roundTrip(id, "id", id));
        }
        // queries: the lookup value and every other present field keep the field rules, cache hit or not
        t.add(new Case("findToken by a cached user name with a bad expiryTime", ErrorCode.INVALID_ARGUMENT,
                "expiryTime", "12a", (v, e) -> v.findToken(OAuthToken.builder().userName(e.getUserName())
                        .expiryTime("12a").build())));
        t.add(new Case("findToken by a cached refresh token with a clientSecret over 16 KiB",
                ErrorCode.INVALID_ARGUMENT, "clientSecret", over("clientSecret", "x"),
                (v, e) -> v.findToken(OAuthToken.builder().refreshToken(e.getRefreshToken()).clientId(e.getClientId())
                        .clientSecret(over("clientSecret", "x")).build())));
        t.add(new Case("findToken by a cached grant token with a refresh token holding an unpaired surrogate",
                ErrorCode.INVALID_ARGUMENT, "refreshToken", "S3CR3T\uD800", (v, e) -> v.findToken(OAuthToken.builder()
                        .grantToken(e.getGrantToken()).refreshToken("S3CR3T\uD800").clientId(e.getClientId())
                        .clientSecret(e.getClientSecret()).build())));
        t.add(new Case("findToken by a user name over 16 KiB", ErrorCode.INVALID_ARGUMENT, "userName",
                over("userName", "x"), (v, e) -> v.findToken(OAuthToken.builder().userName(over("userName", "x"))
                        .build())));
        t.add(new Case("findToken by an id over 128 characters", ErrorCode.INVALID_ARGUMENT, "id", "i".repeat(129),
                (v, e) -> v.findToken(OAuthToken.builder().id("i".repeat(129)).build())));
        // expiryTime: decimal digits only
        for (String bad : List.of("12a", "-1", " 1", "1 ", "1.5", "+1", "1e3", "0x1F", "١٢", "１２")) {
            t.add(insertRejected("'" + bad + "'", "expiryTime", bad));
        }
        t.add(updateRejected("'-1'", "expiryTime", "-1"));
        for (String good : List.of("0", "0000", "1700000000000", "99999999999999999999999999")) {
            t.add(roundTrip(good, "expiryTime", good));
        }
        // unpaired surrogates
        t.add(insertRejected("unpaired high surrogate", "accessToken", "S3CR3T\uD800tail"));
        t.add(insertRejected("unpaired high surrogate at the end", "refreshToken", "S3CR3T\uD83D"));
        t.add(insertRejected("unpaired low surrogate", "userName", "\uDC00user"));
        t.add(insertRejected("unpaired low surrogate", "clientSecret", "S3CR3T\uDFFF"));
        t.add(insertRejected("reversed pair", "grantToken", "S3CR3T\uDE00\uD83D"));
        t.add(insertRejected("unpaired surrogate", "apiDomain", "https://\uD800"));
        t.add(insertRejected("unpaired surrogate", "id", "id\uD800"));
        t.add(updateRejected("unpaired surrogate", "accessToken", "S3CR3T\uDBFF"));
        // text that round-trips in every field
        for (String field : SETTERS.keySet()) {
            if (field.equals("id") || field.equals("expiryTime")) {
                continue;
            }
            t.add(roundTrip("unicode", field, "Zürich 東京 ☃ 😀👩‍💻 e\u0301"));
            t.add(roundTrip("quotes", field, "it's \"quoted\" `back` \\"));
            t.add(roundTrip("SQL", field, "x' OR '1'='1'; DROP TABLE tokens; --"));
            t.add(roundTrip("white space", field, "  \t padded \n "));
            t.add(roundTrip("control characters", field, "\u0000\u0001\u001b"));
        }
        return t;
    }

    static Stream<Arguments> cases() {
        return table().stream().flatMap(c -> Stream.of(Variant.MEMORY_CACHED, Variant.FILE_UNCACHED)
                .map(variant -> Arguments.of(variant, c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void outcome(Variant variant, Case c) throws IOException {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken existing = saved(v, full("existing"));
            ContractTest.lookAllWays(v, existing); // warm the cache
            List<OAuthToken> before = snapshot(v);
            Set<String> filesBefore = files();
            if (c.code() == null) {
                c.call().run(v, existing);
                List<OAuthToken> after = snapshot(v);
                assertEquals(before.size() + 1, after.size());
                after.removeAll(before);
                OAuthToken stored = after.get(0);
                assertEquals(c.value(), GETTERS.get(c.field()).apply(stored));
                assertEquals(stored, v.findTokenById(stored.getId()));
                ContractTest.lookAllWays(v, stored);
                v.deleteToken(stored.getId());
                assertEquals(before, snapshot(v));
                // ids that look like paths name no file
                assertEquals(filesBefore, files());
                return;
            }
            TokenStoreException e = assertThrows(TokenStoreException.class, () -> c.call().run(v, existing));
            assertEquals(c.code(), e.code(), e.getMessage());
            String message = e.getMessage();
            assertTrue(message.contains(c.field()), () -> "message does not name " + c.field() + ": " + message);
            if (c.value() != null && SECRET.contains(c.field())) {
                assertFalse(message.contains(c.value()), message);
                assertFalse(message.contains("S3CR3T"), message);
            }
            assertEquals(before, snapshot(v));
            ContractTest.lookAllWays(v, existing);
        }
    }

    /**
     * A lookup value with an unpaired surrogate hashes (as UTF-8, with its replacement byte) to the blind key of a
     * stored value: the store must refuse it as input before reading the index, not report the mismatch it would
     * find as an integrity failure; and a refused lookup leaves nothing in the cache, so it is refused again.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(Variant.class)
    void lookupValueBreakingTheRulesIsRefusedBeforeTheIndex(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken stored = saved(v, OAuthToken.builder().accessToken("S3CR3T?").build());
            assertEquals(stored, v.findToken(OAuthToken.builder().accessToken("S3CR3T?").build()));
            for (int round = 0; round < 2; round++) {
                TokenStoreException e = assertThrows(TokenStoreException.class,
                        () -> v.findToken(OAuthToken.builder().accessToken("S3CR3T\uD800").build()));
                assertEquals(ErrorCode.INVALID_ARGUMENT, e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("accessToken"), e.getMessage());
            }
        }
    }

    /**
     * A query found in the cache by user name or by id still has every other present field checked against its rules,
     * field by field: each field in turn holds a value that breaks them (by id, a bad user name or token makes that
     * the lookup value instead, which is refused too).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = Variant.class, names = {"MEMORY_CACHED", "FILE_CACHED"})
    void aCacheHitRefusesAQueryWithAnyOtherFieldBreakingTheRules(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken stored = saved(v, full("hit"));
            for (String lookup : List.of("userName", "id")) {
                OAuthToken query = new OAuthToken();
                SETTERS.get(lookup).accept(query, GETTERS.get(lookup).apply(stored));
                assertEquals(stored, v.findToken(query.copy())); // cached now
                for (String field : SETTERS.keySet()) {
                    if (field.equals(lookup)) {
                        continue;
                    }
                    String bad = field.equals("id") ? "bad\u0001id" : field.equals("expiryTime") ? "12a"
                            : "S3CR3T\uD800";
                    OAuthToken q = query.copy();
                    SETTERS.get(field).accept(q, bad);
                    TokenStoreException e = assertThrows(TokenStoreException.class, () -> v.findToken(q),
                            lookup + " hit with a bad " + field);
                    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code(), e.getMessage());
                    assertTrue(e.getMessage().contains(field), e.getMessage());
                    assertFalse(e.getMessage().contains("S3CR3T"), e.getMessage());
                    assertEquals(bad, GETTERS.get(field).apply(q)); // the query is left as it was
                }
            }
        }
    }

    private Set<String> files() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p).toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
