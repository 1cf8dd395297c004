package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.q;
import static dev.tokenvault.StoreFixtures.saved;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.StoreFixtures.Variant;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** docs/ARCHITECTURE.md section 3, rule by rule, on the file and memory stores with the cache on and off. */
class ContractTest {
    @TempDir Path dir;

    // ------------------------------------------------------------------ findToken

    @ParameterizedTest
    @EnumSource(Variant.class)
    void branch1UserNameDecidesWithoutFallThrough(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            // the user name matches nothing: the access token that would match is never consulted
            assertNull(v.findToken(OAuthToken.builder().userName("nobody").accessToken(a.getAccessToken()).build()));
            assertNull(v.findToken(OAuthToken.builder().userName("nobody").id(a.getId()).build()));
            assertNull(v.findToken(OAuthToken.builder().userName("nobody").refreshToken(a.getRefreshToken())
                    .clientId(a.getClientId()).clientSecret(a.getClientSecret()).build()));
            // the user name decides even when the access token belongs to another record
            OAuthToken b = saved(v, full("b"));
            OAuthToken found = v.findToken(OAuthToken.builder().userName(a.getUserName()).build());
            assertEquals(a.getId(), found.getId());
            OAuthToken mixed = v.findToken(OAuthToken.builder().userName(b.getUserName())
                    .accessToken(a.getAccessToken()).build());
            assertEquals(b.getId(), mixed.getId());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void branch2AccessTokenOnlyWithoutClientCredentials(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            assertEquals(a.getId(), v.findToken(OAuthToken.builder().accessToken(a.getAccessToken()).build()).getId());
            // a client id or a client secret makes branch 2 inapplicable; branch 3 needs grant/refresh: no match
            assertNull(v.findToken(OAuthToken.builder().accessToken(a.getAccessToken())
                    .clientId(a.getClientId()).build()));
            assertNull(v.findToken(OAuthToken.builder().accessToken(a.getAccessToken())
                    .clientSecret(a.getClientSecret()).build()));
            assertNull(v.findToken(OAuthToken.builder().accessToken(a.getAccessToken())
                    .clientId(a.getClientId()).clientSecret(a.getClientSecret()).build()));
            // branch 2 applies and matches nothing: no fall-through to the id
            assertNull(v.findToken(OAuthToken.builder().accessToken("unknown").id(a.getId()).build()));
            // branch 2 applies and matches nothing: no fall-through to branch 3's refresh token either
            assertNull(v.findToken(OAuthToken.builder().accessToken("unknown")
                    .refreshToken(a.getRefreshToken()).build()));
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void branch3GrantThenRefreshWithBothClientCredentials(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            OAuthToken b = saved(v, OAuthToken.builder().refreshToken("refresh-b").clientId("cb").build());
            String cid = "any-client";
            String cs = "any-secret";
            // grant token first
            assertEquals(a.getId(), v.findToken(OAuthToken.builder().grantToken(a.getGrantToken())
                    .refreshToken(b.getRefreshToken()).clientId(cid).clientSecret(cs).build()).getId());
            // no record with that grant token: the refresh token decides
            assertEquals(b.getId(), v.findToken(OAuthToken.builder().grantToken("unknown-grant")
                    .refreshToken(b.getRefreshToken()).clientId(cid).clientSecret(cs).build()).getId());
            assertEquals(a.getId(), v.findToken(OAuthToken.builder().refreshToken(a.getRefreshToken())
                    .clientId(cid).clientSecret(cs).build()).getId());
            // one credential only: branch 3 does not apply
            assertNull(v.findToken(OAuthToken.builder().refreshToken(a.getRefreshToken()).clientId(cid).build()));
            assertNull(v.findToken(OAuthToken.builder().grantToken(a.getGrantToken()).clientSecret(cs).build()));
            assertNull(v.findToken(OAuthToken.builder().refreshToken(a.getRefreshToken()).build()));
            // branch 3 applies and matches nothing: no fall-through to the id
            assertNull(v.findToken(OAuthToken.builder().grantToken("g?").refreshToken("r?")
                    .clientId(cid).clientSecret(cs).id(a.getId()).build()));
            // a grant token alone that matches nothing does not fall back to anything
            assertNull(v.findToken(OAuthToken.builder().grantToken("g?").clientId(cid).clientSecret(cs).build()));
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void branch4IdOnlyQueryMatches(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            saved(v, full("b"));
            OAuthToken query = OAuthToken.builder().id(a.getId()).build();
            OAuthToken found = v.findToken(query);
            assertSame(query, found);
            assertEquals(a, found); // the SDK's revoke(id) reads the refresh token back from it
            assertNull(v.findToken(OAuthToken.builder().id("no-such-id").build()));
            // id together with fields that do not open a branch (client id alone, expiry, domain)
            OAuthToken q2 = OAuthToken.builder().id(a.getId()).clientId("other").apiDomain("d").build();
            assertEquals(a.getRefreshToken(), v.findToken(q2).getRefreshToken());
            assertEquals("other", q2.getClientId());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void unidentifiableQueryReturnsNullNeverSomeRecord(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            saved(v, full("b"));
            assertNull(v.findToken(new OAuthToken()));
            assertNull(v.findToken(OAuthToken.builder().clientId(a.getClientId())
                    .clientSecret(a.getClientSecret()).build()));
            assertNull(v.findToken(OAuthToken.builder().apiDomain(a.getApiDomain())
                    .redirectUrl(a.getRedirectUrl()).expiryTime(a.getExpiryTime()).build()));
            assertNull(v.findToken(OAuthToken.builder().userName("").accessToken("").refreshToken("")
                    .grantToken("").id("").clientId("").clientSecret("").build()));
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void findTokenFillsAbsentFieldsKeepsPresentSetsIdAndReturnsTheQuery(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken stored = full("a");
            stored.setRedirectUrl(null);
            OAuthToken a = saved(v, stored);
            OAuthToken query = OAuthToken.builder().userName(a.getUserName()).apiDomain("https://mine.example")
                    .expiryTime("").clientSecret("query-secret").build();
            OAuthToken result = v.findToken(query);
            assertSame(query, result);
            assertAll(
                    () -> assertEquals(a.getId(), query.getId()),
                    () -> assertEquals("https://mine.example", query.getApiDomain()),     // present: kept
                    () -> assertEquals("query-secret", query.getClientSecret()),          // present: kept
                    () -> assertEquals(a.getExpiryTime(), query.getExpiryTime()),         // "" is absent: filled
                    () -> assertEquals(a.getAccessToken(), query.getAccessToken()),
                    () -> assertEquals(a.getRefreshToken(), query.getRefreshToken()),
                    () -> assertEquals(a.getGrantToken(), query.getGrantToken()),
                    () -> assertEquals(a.getClientId(), query.getClientId()),
                    () -> assertNull(query.getRedirectUrl()));                              // absent in the record
            // the store did not take the query's values
            assertEquals(a, v.findTokenById(a.getId()));
            // no match: the query is left as it was
            OAuthToken miss = OAuthToken.builder().userName("nobody").apiDomain("d").build();
            OAuthToken before = miss.copy();
            assertNull(v.findToken(miss));
            assertEquals(before, miss);
        }
    }

    // ------------------------------------------------------------------ findTokenById, deleteToken

    @ParameterizedTest
    @EnumSource(Variant.class)
    void findTokenByIdReturnsNewCompleteTokenOrNotFound(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            OAuthToken first = v.findTokenById(a.getId());
            OAuthToken second = v.findTokenById(a.getId());
            assertEquals(a, first);
            assertNotSame(first, second);
            assertNotSame(a, first);
            TokenStoreException e = expect(ErrorCode.NOT_FOUND, () -> v.findTokenById("missing-id"));
            assertTrue(e.getMessage().contains("missing-id"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void deleteTokenRemovesRecordAndEveryIndexEntry(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            OAuthToken b = saved(v, full("b"));
            lookAllWays(v, a); // warm the cache
            v.deleteToken(a.getId());
            assertNoPathFinds(v, a);
            expect(ErrorCode.NOT_FOUND, () -> v.findTokenById(a.getId()));
            expect(ErrorCode.NOT_FOUND, () -> v.deleteToken(a.getId()));
            assertEquals(List.of(b), v.getTokens());
            // every value is free again
            OAuthToken again = full("a");
            v.saveToken(again);
            assertNotEquals(a.getId(), again.getId());
            assertEquals(2, v.getTokens().size());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void deleteTokenOfUnknownIdIsNotFoundAndChangesNothing(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            saved(v, full("a"));
            List<OAuthToken> before = snapshot(v);
            expect(ErrorCode.NOT_FOUND, () -> v.deleteToken("nope"));
            assertEquals(before, snapshot(v));
        }
    }

    // ------------------------------------------------------------------ saveToken: row selection

    @ParameterizedTest
    @EnumSource(Variant.class)
    void saveSelectsByIdAndInsertsUnderAGivenId(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            // (a) update by id
            OAuthToken upd = OAuthToken.builder().id(a.getId()).accessToken("access-a2").build();
            v.saveToken(upd);
            assertEquals(1, v.getTokens().size());
            assertEquals("access-a2", v.findTokenById(a.getId()).getAccessToken());
            assertEquals(a.getUserName(), upd.getUserName());
            // (a) insert under a given id
            OAuthToken given = OAuthToken.builder().id("my-own-id").refreshToken("refresh-x").build();
            v.saveToken(given);
            assertEquals("my-own-id", given.getId());
            assertEquals("refresh-x", v.findTokenById("my-own-id").getRefreshToken());
            assertEquals(2, v.getTokens().size());
            // (a) decides before (b): an absent id with another record's user name is an insert, hence a conflict
            List<OAuthToken> before = snapshot(v);
            TokenStoreException e = expect(ErrorCode.CONFLICT, () -> v.saveToken(OAuthToken.builder()
                    .id("third-id").userName(a.getUserName()).accessToken("access-new").build()));
            assertTrue(e.getMessage().contains("userName"), e.getMessage());
            assertEquals(before, snapshot(v));
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void saveSelectsByBranchesOneToThree(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            // branch 1: user name
            OAuthToken s1 = OAuthToken.builder().userName(a.getUserName()).accessToken("access-a2").build();
            v.saveToken(s1);
            assertEquals(a.getId(), s1.getId());
            // branch 2: access token alone
            OAuthToken s2 = OAuthToken.builder().accessToken("access-a2").expiryTime("42").build();
            v.saveToken(s2);
            assertEquals(a.getId(), s2.getId());
            // branch 3: refresh token with both client credentials (new access token)
            OAuthToken s3 = OAuthToken.builder().refreshToken(a.getRefreshToken()).clientId("c").clientSecret("s")
                    .accessToken("access-a3").build();
            v.saveToken(s3);
            assertEquals(a.getId(), s3.getId());
            // branch 3: grant token with both client credentials
            OAuthToken s4 = OAuthToken.builder().grantToken(a.getGrantToken()).clientId("c2").clientSecret("s2")
                    .build();
            v.saveToken(s4);
            assertEquals(a.getId(), s4.getId());
            List<OAuthToken> all = v.getTokens();
            assertEquals(1, all.size());
            OAuthToken r = all.get(0);
            assertEquals("access-a3", r.getAccessToken());
            assertEquals("42", r.getExpiryTime());
            assertEquals("c2", r.getClientId());
            assertEquals("s2", r.getClientSecret());
            assertEquals(a.getUserName(), r.getUserName());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void saveSelectsARecordHoldingATokenWhenUserNamesAreCompatible(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            // the SDK case: saved first with a refresh token and no user name
            OAuthToken first = saved(v, OAuthToken.builder().refreshToken("rt-1").clientId("cid")
                    .clientSecret("cs").accessToken("at-1").build());
            OAuthToken second = OAuthToken.builder().userName("sdk-user").refreshToken("rt-1").accessToken("at-2")
                    .build();
            v.saveToken(second);
            assertEquals(first.getId(), second.getId());
            assertEquals(1, v.getTokens().size());
            OAuthToken byUser = v.findToken(OAuthToken.builder().userName("sdk-user").build());
            assertEquals(first.getId(), byUser.getId());
            assertEquals("at-2", byUser.getAccessToken());
            assertEquals("cid", byUser.getClientId());
            // the same through an access token held by a record without a user name (branch 3 inapplicable)
            OAuthToken other = saved(v, OAuthToken.builder().accessToken("at-x").build());
            OAuthToken viaAccess = OAuthToken.builder().userName("user-x").accessToken("at-x").clientId("c")
                    .build();
            v.saveToken(viaAccess);
            assertEquals(other.getId(), viaAccess.getId());
            // and a grant token held by a record, without both client credentials (branch 3 inapplicable)
            OAuthToken g = saved(v, OAuthToken.builder().grantToken("gt-1").build());
            OAuthToken viaGrant = OAuthToken.builder().grantToken("gt-1").clientId("c").redirectUrl("u").build();
            v.saveToken(viaGrant);
            assertEquals(g.getId(), viaGrant.getId());
            assertEquals(3, v.getTokens().size());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void saveWithAnotherUsersTokenIsAConflictNotATakeover(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, OAuthToken.builder().userName("alice").refreshToken("rt-alice").build());
            List<OAuthToken> before = snapshot(v);
            TokenStoreException e = expect(ErrorCode.CONFLICT, () -> v.saveToken(OAuthToken.builder()
                    .userName("mallory").refreshToken("rt-alice").accessToken("at-m").build()));
            assertTrue(e.getMessage().contains("refreshToken"), e.getMessage());
            assertTrue(e.getMessage().contains(a.getId()), e.getMessage());
            assertFalse(e.getMessage().contains("rt-alice"), e.getMessage());
            assertEquals(before, snapshot(v));
            assertNull(v.findToken(OAuthToken.builder().userName("mallory").build()));
            assertNull(v.findToken(OAuthToken.builder().accessToken("at-m").build()));
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void saveInsertsWithAGeneratedUniqueUrlSafeId(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < 20; i++) {
                OAuthToken t = OAuthToken.builder().userName("u" + i).accessToken("a" + i).build();
                v.saveToken(t);
                assertNotNull(t.getId());
                assertTrue(t.getId().matches("[A-Za-z0-9_-]+"), t.getId());
                assertTrue(ids.add(t.getId()));
            }
            assertEquals(20, v.getTokens().size());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void insertWithoutAnyTokenIsInvalidAndWritesNothing(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            List<OAuthToken> before = snapshot(v);
            OAuthToken noTokens = OAuthToken.builder().userName("u-new").clientId("c").clientSecret("s")
                    .expiryTime("1").apiDomain("d").redirectUrl("r").build();
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.saveToken(noTokens));
            assertNull(noTokens.getId());
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.saveToken(OAuthToken.builder().userName("u-new")
                    .accessToken("").refreshToken("").grantToken("").build()));
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.saveToken(OAuthToken.builder().id("fresh-id")
                    .userName("u-new").build()));
            assertEquals(before, snapshot(v));
            expect(ErrorCode.NOT_FOUND, () -> v.findTokenById("fresh-id"));
            assertNull(v.findToken(OAuthToken.builder().userName("u-new").build()));
            // an update needs no token
            v.saveToken(OAuthToken.builder().id(a.getId()).apiDomain("https://eu").build());
            assertEquals("https://eu", v.findTokenById(a.getId()).getApiDomain());
        }
    }

    // ------------------------------------------------------------------ saveToken: update

    @ParameterizedTest
    @EnumSource(Variant.class)
    void updateMergesAndTheTokenCarriesTheMergedRecord(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            OAuthToken upd = OAuthToken.builder().userName(a.getUserName()).accessToken("access-new")
                    .expiryTime("99").apiDomain("").clientSecret(null).build();
            v.saveToken(upd);
            OAuthToken expected = a.copy();
            expected.setAccessToken("access-new");
            expected.setExpiryTime("99");
            assertEquals(expected, upd);                                   // id and every kept field
            assertEquals(expected, v.findTokenById(a.getId()));
            assertEquals(expected, v.getTokens().get(0));
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void aChangedValueNoLongerFindsTheRecord(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            lookAllWays(v, a); // warm the cache with the old values
            OAuthToken changed = OAuthToken.builder().id(a.getId()).userName("renamed").accessToken("access-2")
                    .refreshToken("refresh-2").grantToken("grant-2").build();
            v.saveToken(changed);
            assertNull(v.findToken(OAuthToken.builder().userName(a.getUserName()).build()));
            assertNull(v.findToken(OAuthToken.builder().accessToken(a.getAccessToken()).build()));
            assertNull(v.findToken(OAuthToken.builder().refreshToken(a.getRefreshToken())
                    .clientId("c").clientSecret("s").build()));
            assertNull(v.findToken(OAuthToken.builder().grantToken(a.getGrantToken())
                    .clientId("c").clientSecret("s").build()));
            lookAllWays(v, changed);
            // the old values are free for another record
            OAuthToken other = saved(v, OAuthToken.builder().userName(a.getUserName()).accessToken(a.getAccessToken())
                    .refreshToken(a.getRefreshToken()).grantToken(a.getGrantToken()).build());
            assertNotEquals(a.getId(), other.getId());
            assertEquals(2, v.getTokens().size());
            // the SDK's refresh: new access token by user name
            OAuthToken refresh = OAuthToken.builder().userName("renamed").accessToken("access-3").build();
            v.saveToken(refresh);
            assertNull(v.findToken(OAuthToken.builder().accessToken("access-2").build()));
            assertEquals(a.getId(), v.findToken(OAuthToken.builder().accessToken("access-3").build()).getId());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void eachUniqueFieldConflictsAndNothingChanges(Variant variant) {
        List<String> fields = List.of("userName", "accessToken", "grantToken", "refreshToken");
        List<Function<OAuthToken, String>> getters = List.of(OAuthToken::getUserName, OAuthToken::getAccessToken,
                OAuthToken::getGrantToken, OAuthToken::getRefreshToken);
        List<BiConsumer<OAuthToken, String>> setters = List.of(OAuthToken::setUserName, OAuthToken::setAccessToken,
                OAuthToken::setGrantToken, OAuthToken::setRefreshToken);
        try (TokenVault v = variant.open(dir)) {
            OAuthToken a = saved(v, full("a"));
            OAuthToken b = saved(v, full("b"));
            lookAllWays(v, a);
            lookAllWays(v, b);
            List<OAuthToken> before = snapshot(v);
            for (int i = 0; i < fields.size(); i++) {
                String field = fields.get(i);
                String value = getters.get(i).apply(a);
                // update of b by id, taking a's value, plus another change that must not be applied
                OAuthToken bad = OAuthToken.builder().id(b.getId()).apiDomain("changed").build();
                setters.get(i).accept(bad, value);
                TokenStoreException e = expect(ErrorCode.CONFLICT, () -> v.saveToken(bad));
                assertTrue(e.getMessage().contains(field), e.getMessage());
                assertTrue(e.getMessage().contains(a.getId()), e.getMessage());
                assertFalse(e.getMessage().contains(value), e.getMessage());
                assertEquals(b.getId(), bad.getId()); // the token was not rewritten
                assertEquals("changed", bad.getApiDomain());
                assertEquals(before, snapshot(v), field);
                lookAllWays(v, a);
                lookAllWays(v, b);
                if (i == 0) {
                    continue; // a save with a's user name selects a (branch 1): covered by the update above
                }
                // insert with a's token: the user names differ, so rule (c) does not select a either
                OAuthToken ins = OAuthToken.builder().userName("new-user").accessToken("new-at")
                        .refreshToken("new-rt").grantToken("new-gt").build();
                setters.get(i).accept(ins, value);
                TokenStoreException e2 = expect(ErrorCode.CONFLICT, () -> v.saveToken(ins));
                assertTrue(e2.getMessage().contains(field), e2.getMessage());
                assertTrue(e2.getMessage().contains(a.getId()), e2.getMessage());
                assertFalse(e2.getMessage().contains(value), e2.getMessage());
                assertNull(ins.getId());
                assertEquals(before, snapshot(v), field);
                assertNull(v.findToken(OAuthToken.builder().userName("new-user").build()));
            }
            // values that point at two different records
            TokenStoreException e = expect(ErrorCode.CONFLICT, () -> v.saveToken(OAuthToken.builder()
                    .userName(a.getUserName()).refreshToken(b.getRefreshToken()).build()));
            assertTrue(e.getMessage().contains("refreshToken"), e.getMessage());
            assertTrue(e.getMessage().contains(b.getId()), e.getMessage());
            assertEquals(before, snapshot(v));
            lookAllWays(v, a);
            lookAllWays(v, b);
        }
    }

    // ------------------------------------------------------------------ values

    static List<String> trickyValues() {
        return List.of(
                "  padded  ", "\ttab\nnewline\r\n", "MiXeD-CaSe", "UPPER", "ünïcödé Zürich 東京 ☃ 😀👩‍💻",
                "it's \"quoted\" `back`", "x'; DROP TABLE tokens; --", "%_\\% LIKE '%'", "null", "NULL",
                "\u0000nul\u0001ctl", "\u00a0nbsp\u200bzwsp\ufeffbom", "e\u0301 vs \u00e9");
    }

    /** {@code prefix} (4 bytes of UTF-8) padded with {@code unit} to exactly 16 KiB of UTF-8. */
    static String exact16k(String prefix, String unit) {
        int unitBytes = unit.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        String s = prefix + unit.repeat((16 * 1024 - 4) / unitBytes);
        assertEquals(16 * 1024, s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        return s;
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void everyFieldRoundTripsExactly(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            List<OAuthToken> toSave = new ArrayList<>();
            int n = 10;
            for (String s : trickyValues()) {
                n++;
                toSave.add(OAuthToken.builder().userName(s + "#u").clientId(s + "#c").clientSecret(s + "#s")
                        .refreshToken(s + "#r").accessToken(s + "#a").grantToken(s + "#g")
                        .expiryTime("000170000000000" + n).redirectUrl(s + "#url").apiDomain(s + "#d").build());
            }
            for (String unit : List.of("a", "😀", "€")) {
                n++;
                toSave.add(OAuthToken.builder().userName(exact16k("u" + n + "_", unit))
                        .clientId(exact16k("c" + n + "_", unit)).clientSecret(exact16k("s" + n + "_", unit))
                        .refreshToken(exact16k("r" + n + "_", unit)).accessToken(exact16k("a" + n + "_", unit))
                        .grantToken(exact16k("g" + n + "_", unit)).expiryTime("1".repeat(16 * 1024))
                        .redirectUrl(exact16k("l" + n + "_", unit)).apiDomain(exact16k("d" + n + "_", unit))
                        .build());
            }
            List<OAuthToken> saved = new ArrayList<>();
            for (OAuthToken t : toSave) {
                OAuthToken expected = t.copy();
                v.saveToken(t);
                expected.setId(t.getId());
                assertEquals(expected, t);
                saved.add(expected);
            }
            for (OAuthToken e : saved) {
                assertEquals(e, v.findTokenById(e.getId()));
                lookAllWays(v, e);
                assertEquals(e, v.findToken(OAuthToken.builder().userName(e.getUserName()).build()));
            }
            assertEquals(new HashSet<>(saved), new HashSet<>(v.getTokens()));
            // no normalising on lookup either
            OAuthToken up = saved(v, OAuthToken.builder().userName("Case@Example.com").accessToken("Tok").build());
            assertNull(v.findToken(OAuthToken.builder().userName("case@example.com").build()));
            assertNull(v.findToken(OAuthToken.builder().userName(" Case@Example.com").build()));
            assertNull(v.findToken(OAuthToken.builder().accessToken("tok").build()));
            assertNull(v.findToken(OAuthToken.builder().accessToken("Tok ").build()));
            assertEquals(up.getId(), v.findToken(OAuthToken.builder().accessToken("Tok").build()).getId());
            // distinct values differing only in case or white space are distinct records
            saved(v, OAuthToken.builder().userName("case@example.com").accessToken("tok").build());
            saved(v, OAuthToken.builder().userName("Case@Example.com ").accessToken("Tok ").build());
            assertEquals(saved.size() + 3, v.getTokens().size());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void emptyStringsAreAbsentNeverMatchAndNeverReadBack(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken t = OAuthToken.builder().id("").userName("").clientId("").clientSecret("").refreshToken("")
                    .accessToken("at-1").grantToken("").expiryTime("").redirectUrl("").apiDomain("").build();
            v.saveToken(t);
            assertNotNull(t.getId());
            assertFalse(t.getId().isEmpty());
            OAuthToken back = v.findTokenById(t.getId());
            OAuthToken expected = OAuthToken.builder().id(t.getId()).accessToken("at-1").build();
            assertEquals(expected, back);
            assertEquals(expected, t);
            assertEquals(List.of(expected), v.getTokens());
            // a second record with "" everywhere is no conflict
            OAuthToken t2 = OAuthToken.builder().userName("").refreshToken("").grantToken("").accessToken("at-2")
                    .build();
            v.saveToken(t2);
            assertNotEquals(t.getId(), t2.getId());
            // "" never matches and does not open a branch
            assertNull(v.findToken(OAuthToken.builder().userName("").build()));
            assertNull(v.findToken(OAuthToken.builder().accessToken("").build()));
            assertNull(v.findToken(OAuthToken.builder().refreshToken("").grantToken("").clientId("c")
                    .clientSecret("s").build()));
            assertEquals(t.getId(), v.findToken(OAuthToken.builder().userName("").clientId("").clientSecret("")
                    .accessToken("at-1").build()).getId());
            // filling: "" in the query counts as absent; an absent stored field reads back null, never ""
            OAuthToken query = OAuthToken.builder().accessToken("at-1").apiDomain("").userName("").build();
            v.findToken(query);
            assertNull(query.getApiDomain());
            assertNull(query.getUserName());
            // an update with "" keeps the stored value
            v.saveToken(OAuthToken.builder().id(t.getId()).apiDomain("https://d").build());
            v.saveToken(OAuthToken.builder().id(t.getId()).apiDomain("").accessToken("").build());
            OAuthToken after = v.findTokenById(t.getId());
            assertEquals("https://d", after.getApiDomain());
            assertEquals("at-1", after.getAccessToken());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void getTokensReturnsNewObjectsNeverNull(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            assertNotNull(v.getTokens());
            assertTrue(v.getTokens().isEmpty());
            OAuthToken a = saved(v, full("a"));
            List<OAuthToken> one = v.getTokens();
            List<OAuthToken> two = v.getTokens();
            assertEquals(one, two);
            assertNotSame(one.get(0), two.get(0));
            one.get(0).setAccessToken("mutated");
            one.get(0).setUserName("mutated");
            one.clear();
            assertEquals(List.of(a), v.getTokens());
            lookAllWays(v, a);
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void deleteTokensRemovesEverything(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            List<OAuthToken> all = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                all.add(saved(v, full("t" + i)));
            }
            all.forEach(t -> lookAllWays(v, t));
            v.deleteTokens();
            assertEquals(List.of(), v.getTokens());
            for (OAuthToken t : all) {
                assertNoPathFinds(v, t);
                expect(ErrorCode.NOT_FOUND, () -> v.findTokenById(t.getId()));
            }
            v.deleteTokens(); // on an empty store too
            OAuthToken again = saved(v, full("t0"));
            assertEquals(List.of(again), v.getTokens());
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void objectsGoingInAndOutAreCopies(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            OAuthToken t = full("a");
            v.saveToken(t);
            OAuthToken expected = t.copy();
            // mutate the saved object
            t.setAccessToken("evil-access");
            t.setUserName("evil-user");
            t.setApiDomain("evil-domain");
            assertEquals(expected, v.findTokenById(expected.getId()));
            assertNull(v.findToken(OAuthToken.builder().accessToken("evil-access").build()));
            // mutate objects that came out (after the cache was warmed by the lookups)
            OAuthToken byId = v.findTokenById(expected.getId());
            byId.setRefreshToken("evil");
            byId.setClientSecret("evil");
            OAuthToken byUser = v.findToken(OAuthToken.builder().userName(expected.getUserName()).build());
            byUser.setAccessToken("evil2");
            byUser.setExpiryTime("1");
            OAuthToken byAccess = v.findToken(OAuthToken.builder().accessToken(expected.getAccessToken()).build());
            byAccess.setRedirectUrl("evil");
            OAuthToken byQueryId = v.findToken(OAuthToken.builder().id(expected.getId()).build());
            byQueryId.setGrantToken("evil");
            v.getTokens().get(0).setUserName("evil3");
            assertEquals(expected, v.findTokenById(expected.getId()));
            assertEquals(expected, v.findToken(OAuthToken.builder().userName(expected.getUserName()).build()));
            assertEquals(expected, v.findToken(OAuthToken.builder().accessToken(expected.getAccessToken()).build()));
            assertEquals(expected, v.findToken(OAuthToken.builder().id(expected.getId()).build()));
            assertEquals(expected, v.findToken(OAuthToken.builder().refreshToken(expected.getRefreshToken())
                    .clientId(expected.getClientId()).clientSecret(expected.getClientSecret()).build()));
            // the token object of an update is the caller's too
            OAuthToken upd = OAuthToken.builder().id(expected.getId()).expiryTime("5").build();
            v.saveToken(upd);
            upd.setAccessToken("evil4");
            expected.setExpiryTime("5");
            assertEquals(expected, v.findTokenById(expected.getId()));
            assertEquals(List.of(expected), v.getTokens());
        }
    }

    // ------------------------------------------------------------------ null, close

    @ParameterizedTest
    @EnumSource(Variant.class)
    void nullArgumentsAreInvalid(Variant variant) {
        try (TokenVault v = variant.open(dir)) {
            saved(v, full("a"));
            List<OAuthToken> before = snapshot(v);
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.findToken(null));
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.findTokenById(null));
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.saveToken(null));
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.deleteToken(null));
            expect(ErrorCode.INVALID_ARGUMENT, () -> v.rotateMasterKey(null));
            assertEquals(before, snapshot(v));
        }
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void everyCallAfterCloseIsClosedAndCloseIsIdempotent(Variant variant) {
        TokenVault v = variant.open(dir);
        OAuthToken a = saved(v, full("a"));
        v.close();
        v.close();
        expect(ErrorCode.CLOSED, () -> v.findToken(OAuthToken.builder().userName(a.getUserName()).build()));
        expect(ErrorCode.CLOSED, () -> v.findTokenById(a.getId()));
        expect(ErrorCode.CLOSED, () -> v.saveToken(full("b")));
        expect(ErrorCode.CLOSED, () -> v.deleteToken(a.getId()));
        expect(ErrorCode.CLOSED, v::getTokens);
        expect(ErrorCode.CLOSED, v::deleteTokens);
        expect(ErrorCode.CLOSED, () -> v.rotateMasterKey(MasterKey.generate()));
        expect(ErrorCode.CLOSED, v::rotateDataKey);
        expect(ErrorCode.CLOSED, v::verify);
        expect(ErrorCode.CLOSED, v::stats);
        v.close();
    }

    // ------------------------------------------------------------------ helpers

    /** Finds {@code t} through every lookup path its values open, and checks the whole record each time. */
    static void lookAllWays(TokenStore v, OAuthToken t) {
        OAuthToken expected = v.findTokenById(t.getId());
        assertEquals(t.getId(), expected.getId());
        if (t.getUserName() != null) {
            assertEquals(expected, v.findToken(OAuthToken.builder().userName(t.getUserName()).build()), "userName");
        }
        if (t.getAccessToken() != null) {
            assertEquals(expected, v.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build()),
                    "accessToken");
        }
        OAuthToken c = OAuthToken.builder().clientId("cid").clientSecret("cs").build();
        if (t.getGrantToken() != null) {
            OAuthToken qg = c.copy();
            qg.setGrantToken(t.getGrantToken());
            assertEquals(t.getId(), v.findToken(qg).getId(), "grantToken");
        }
        if (t.getRefreshToken() != null) {
            OAuthToken qr = c.copy();
            qr.setRefreshToken(t.getRefreshToken());
            assertEquals(t.getId(), v.findToken(qr).getId(), "refreshToken");
        }
        assertEquals(expected, v.findToken(OAuthToken.builder().id(t.getId()).build()), "id");
    }

    /** No lookup path finds any of {@code t}'s values. */
    static void assertNoPathFinds(TokenStore v, OAuthToken t) {
        assertNull(v.findToken(OAuthToken.builder().userName(t.getUserName()).build()));
        assertNull(v.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build()));
        assertNull(v.findToken(OAuthToken.builder().grantToken(t.getGrantToken()).clientId("c").clientSecret("s")
                .build()));
        assertNull(v.findToken(OAuthToken.builder().refreshToken(t.getRefreshToken()).clientId("c")
                .clientSecret("s").build()));
        assertNull(v.findToken(OAuthToken.builder().id(t.getId()).build()));
    }
}
