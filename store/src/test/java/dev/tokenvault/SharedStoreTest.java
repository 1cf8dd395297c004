package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.jdbc.TestDatabase;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Several nodes on one shared store, as vaults in one JVM on the same tables (they share nothing but the database):
 * uniqueness under concurrent saves, read-your-writes, cache coherence within the bound, the open race, and keys
 * across nodes.
 */
class SharedStoreTest {
    /** The staleness bound the README states for a shared store's cache (JdbcChangeFeed.BOUND). */
    static final long BOUND_MILLIS = 1_000;

    private final List<TokenVault> open = new ArrayList<>();
    private final List<Runnable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() {
        open.forEach(TokenVault::close);
        cleanup.forEach(Runnable::run);
    }

    /** A fresh store's prefix on {@code db}, dropped after the test. */
    private String store(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        return prefix;
    }

    private TokenVault.Builder node(TestDatabase db, String prefix, MasterKey key) {
        return TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key);
    }

    private TokenVault openNode(TokenVault.Builder b) {
        TokenVault v = b.open();
        open.add(v);
        return v;
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void concurrentSavesOfTheSameUsersOnTwoNodesMakeOneRecordPerUser(TestDatabase db) throws Exception {
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        TokenVault a = openNode(node(db, prefix, key));
        TokenVault b = openNode(node(db, prefix, key));
        int users = 20;
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                TokenVault node = t % 2 == 0 ? a : b;
                int thread = t;
                done.add(pool.submit(() -> {
                    start.await();
                    for (int u = 0; u < users; u++) {
                        OAuthToken token = OAuthToken.builder().userName("user-" + u + "@example.com")
                                .accessToken("access-" + u + "-" + thread).refreshToken("refresh-" + u + "-" + thread)
                                .build();
                        node.saveToken(token);
                        // read-your-writes on the node that saved
                        OAuthToken found = node.findTokenById(token.getId());
                        assertEquals(token.getUserName(), found.getUserName());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<OAuthToken> all = a.getTokens();
        Set<String> names = new HashSet<>();
        for (OAuthToken t : all) {
            assertTrue(names.add(t.getUserName()), "two records for " + t.getUserName());
        }
        assertEquals(users, all.size());
        assertTrue(a.verify().isClean(), a.verify().problems().toString());
        assertEquals(users, b.getTokens().size());
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aCachedLookupOnAnotherNodeSeesAWriteWithinTheBound(TestDatabase db) throws Exception {
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        TokenVault a = openNode(node(db, prefix, key));
        TokenVault b = openNode(node(db, prefix, key));
        OAuthToken first = saved(a, full("x"));
        OAuthToken query = OAuthToken.builder().userName(first.getUserName()).build();
        assertEquals(first.getAccessToken(), b.findToken(query.copy()).getAccessToken()); // now cached on b
        assertEquals(first.getAccessToken(), b.findToken(query.copy()).getAccessToken());
        for (int round = 0; round < 5; round++) {
            String next = "access-x-" + round;
            a.saveToken(OAuthToken.builder().id(first.getId()).accessToken(next).build());
            assertEquals(next, a.findToken(query.copy()).getAccessToken(), "read-your-writes on the writing node");
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BOUND_MILLIS);
            String seen;
            do {
                seen = b.findToken(query.copy()).getAccessToken();
            } while (!next.equals(seen) && System.nanoTime() < deadline);
            assertEquals(next, seen, "the other node still served the old token after the bound");
            // the old access token no longer finds anything on b either
            assertEquals(null, b.findToken(OAuthToken.builder().accessToken("access-x").build()));
        }
        a.deleteTokens();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BOUND_MILLIS);
        OAuthToken after;
        do {
            after = b.findToken(query.copy());
        } while (after != null && System.nanoTime() < deadline);
        assertEquals(null, after, "deleteTokens on one node clears the other's cache within the bound");
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void nodesOpeningAnEmptyStoreAtOnceCreateOneStore(TestDatabase db) throws Exception {
        for (int round = 0; round < 3; round++) {
            String prefix = store(db);
            MasterKey key = MasterKey.generate();
            int nodes = 4;
            CyclicBarrier start = new CyclicBarrier(nodes);
            ExecutorService pool = Executors.newFixedThreadPool(nodes);
            List<Future<TokenVault>> opened = new ArrayList<>();
            try {
                for (int n = 0; n < nodes; n++) {
                    opened.add(pool.submit(() -> {
                        start.await();
                        return node(db, prefix, key).open();
                    }));
                }
                List<TokenVault> vaults = new ArrayList<>();
                for (Future<TokenVault> f : opened) {
                    TokenVault v = f.get(60, TimeUnit.SECONDS);
                    open.add(v);
                    vaults.add(v);
                }
                // one keyring and one store id: what any node seals, every other opens
                OAuthToken t = saved(vaults.get(0), full("race" + round));
                for (TokenVault v : vaults) {
                    assertEquals(t.getAccessToken(), v.findTokenById(t.getId()).getAccessToken());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void keysAcrossNodesRollOverGloballyAndEveryNodeOpensEveryRecord(TestDatabase db) {
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        TokenVault a = openNode(node(db, prefix, key).sealLimit(3));
        TokenVault b = openNode(node(db, prefix, key).sealLimit(3));
        List<OAuthToken> saved = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            saved.add(saved(i % 2 == 0 ? a : b, full("k" + i)));
        }
        VaultStats stats = a.stats();
        assertTrue(stats.recordsPerKeyVersion().size() >= 4, "10 seals at 3 per version need 4 versions: " + stats);
        for (OAuthToken t : saved) {
            assertEquals(t.getAccessToken(), a.findTokenById(t.getId()).getAccessToken());
            assertEquals(t.getAccessToken(), b.findTokenById(t.getId()).getAccessToken());
        }
        for (long seals : a.stats().sealsPerKeyVersion().values()) {
            assertTrue(seals <= 3, "no version counts more than the limit: " + a.stats());
        }
        // a data-key rotation on one node: the other opens what it seals, and seals under it from its next block
        a.rotateDataKey();
        OAuthToken afterRotation = saved(a, full("after"));
        assertEquals(afterRotation.getAccessToken(), b.findTokenById(afterRotation.getId()).getAccessToken());
        assertTrue(a.verify().isClean() && b.verify().isClean());
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aMasterKeyRotationOnOneNodeLeavesOthersReadingAndRefusesTheirNextKeyChange(TestDatabase db) {
        String prefix = store(db);
        MasterKey oldKey = MasterKey.generate();
        MasterKey newKey = MasterKey.generate();
        TokenVault a = openNode(node(db, prefix, oldKey));
        TokenVault b = openNode(node(db, prefix, oldKey));
        OAuthToken before = saved(b, full("m1"));
        a.rotateMasterKey(newKey);
        OAuthToken byA = saved(a, full("m2"));
        assertEquals(byA.getAccessToken(), b.findTokenById(byA.getId()).getAccessToken(), "b reads on");
        OAuthToken byB = saved(b, full("m3")); // within the block of seals b reserved before
        assertEquals(byB.getAccessToken(), a.findTokenById(byB.getId()).getAccessToken());
        // b's old keys cannot change the keyring any more: it must reopen with the new key
        TokenStoreException e = expect(ErrorCode.WRONG_KEY, b::rotateDataKey);
        assertTrue(e.getMessage().contains("rotated by another node"), e.getMessage());
        assertEquals(byA.getAccessToken(), b.findTokenById(byA.getId()).getAccessToken(), "and reads on");
        expect(ErrorCode.WRONG_KEY, () -> node(db, prefix, oldKey).open());
        TokenVault reopened = openNode(node(db, prefix, newKey));
        assertEquals(before.getAccessToken(), reopened.findTokenById(before.getId()).getAccessToken());
        assertTrue(reopened.verify().isClean(), reopened.verify().problems().toString());
    }

    /**
     * SECURITY.md: after another node rotated the master key, a node fails its next block of seals (not only its next
     * rotation) with WRONG_KEY "instead of writing anything under the old master key": no seal count is written under
     * the old seal-count key (it would read as exhausted under the new one), and the refused save is absent.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aNodeWhoseMasterKeyWasRotatedElsewhereFailsItsNextBlockOfSeals(TestDatabase db) {
        String prefix = store(db);
        MasterKey oldKey = MasterKey.generate();
        MasterKey newKey = MasterKey.generate();
        TokenVault a = openNode(node(db, prefix, oldKey));
        TokenVault b = openNode(node(db, prefix, oldKey).sealLimit(2)); // a block of at most 2 seals
        saved(b, full("b0"));
        a.rotateMasterKey(newKey);
        TokenStoreException refused = null;
        int savedAfter = 0;
        for (int i = 1; i <= 4 && refused == null; i++) {
            OAuthToken t = full("b" + i);
            try {
                saved(b, t);
                savedAfter++;
            } catch (TokenStoreException e) {
                refused = e;
                assertNull(a.findToken(OAuthToken.builder().userName(t.getUserName()).build()),
                        "a refused save left its record");
            }
        }
        assertNotNull(refused, "b sealed 4 records past a block of 2 after the master key changed");
        assertEquals(ErrorCode.WRONG_KEY, refused.code(), refused.getMessage());
        assertTrue(savedAfter <= 1, savedAfter + " saves after the rotation");
        TokenVault reopened = openNode(node(db, prefix, newKey));
        for (Map.Entry<Integer, Long> c : reopened.stats().sealsPerKeyVersion().entrySet()) {
            assertTrue(c.getValue() < Long.MAX_VALUE, "version " + c.getKey() + "'s count is not authentic under the"
                    + " new key: " + reopened.stats());
        }
        assertTrue(reopened.verify().isClean(), reopened.verify().problems().toString());
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void operationsThatNeedTheStoreToThemselvesAreRefusedWithWhatToDo(TestDatabase db) {
        TokenVault a = openNode(node(db, store(db), MasterKey.generate()));
        saved(a, full("r"));
        for (Runnable call : List.<Runnable>of(a::rotateIndexKey, a::repair, a::resealAll)) {
            TokenStoreException e = expect(ErrorCode.LOCKED, call::run);
            assertTrue(e.getMessage().contains("Stop every node"), e.getMessage());
        }
        assertEquals(1, a.getTokens().size());
        assertNotNull(a.findToken(OAuthToken.builder().userName(full("r").getUserName()).build()));
        assertFalse(a.verify().problems().size() > 0);
    }

    /**
     * README, Shared store: the tables may be "created ... by a DBA beforehand from the SQL files in the store jar ...
     * with ${prefix} replaced by the table prefix"; and "compact() does nothing" on a shared store. The schema file is
     * read from the class path and run statement by statement, as a DBA would; a vault then makes its store in those
     * tables and reopens it; compact() returns and changes no row.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void tablesADbaMadeFromTheSchemaFileHoldAStoreAndCompactChangesNothing(TestDatabase db) throws Exception {
        String prefix = store(db);
        String file = db == TestDatabase.MARIADB ? "schema-mariadb.sql" : "schema-postgresql.sql";
        String text;
        try (java.io.InputStream in = TokenVault.class.getResourceAsStream("/dev/tokenvault/engine/jdbc/" + file)) {
            assertNotNull(in, file + " is not in the store jar's resources");
            text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        StringBuilder sql = new StringBuilder();
        for (String line : text.replace("${prefix}", prefix).split("\n")) {
            if (!line.trim().startsWith("--")) {
                sql.append(line).append('\n');
            }
        }
        int statements = 0;
        for (String statement : sql.toString().split(";")) {
            if (!statement.isBlank()) {
                db.execute(statement);
                statements++;
            }
        }
        assertTrue(statements >= 5, "the schema file's statements: " + statements);
        for (String table : new String[] {"_records", "_index", "_meta", "_changes", "_leases"}) {
            assertTrue(db.tableExists(prefix + table), prefix + table);
        }
        // tables that hold no store yet: a non-creating open finds none
        expect(ErrorCode.NOT_FOUND, () -> node(db, prefix, MasterKey.generate()).createIfMissing(false).open());
        MasterKey key = MasterKey.generate();
        OAuthToken a;
        try (TokenVault v = node(db, prefix, key).open()) {
            a = saved(v, full("dba"));
        }
        try (TokenVault v = node(db, prefix, key).createIfMissing(false).open()) {
            assertEquals(a, v.findToken(OAuthToken.builder().userName(a.getUserName()).build()));
            long records = db.queryLong("SELECT COUNT(*) FROM " + prefix + "_records");
            long entries = db.queryLong("SELECT COUNT(*) FROM " + prefix + "_index");
            long meta = db.queryLong("SELECT COUNT(*) FROM " + prefix + "_meta");
            v.compact();
            assertEquals(records, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_records"));
            assertEquals(entries, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_index"));
            assertEquals(meta, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_meta"));
            assertEquals(List.of(a), v.getTokens());
            assertTrue(v.verify().isClean(), v.verify().problems().toString());
        }
    }
}
