package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rotation of the master, data and index keys: with the cache on and off, across reopen, beside other calls. */
class KeyRotationTest {
    @TempDir
    Path dir;

    private Path file() {
        return dir.resolve("rot.db");
    }

    private TokenVault open(MasterKey key, boolean cached) {
        return TokenVault.builder().path(file()).masterKey(key).cacheMaximumSize(cached ? 10_000 : 0).open();
    }

    /** Saves {@code n} full tokens, 500 per commit, and returns copies of them as saved. */
    static List<OAuthToken> populate(TokenVault v, String tag, int n) {
        List<OAuthToken> all = new ArrayList<>();
        for (int from = 0; from < n; from += 500) {
            List<OAuthToken> chunk = new ArrayList<>();
            for (int i = from; i < Math.min(n, from + 500); i++) {
                chunk.add(full(tag + i));
            }
            v.saveTokens(chunk);
            chunk.forEach(t -> all.add(t.copy()));
        }
        return all;
    }

    private static void lookAll(TokenVault v, List<OAuthToken> all) {
        for (OAuthToken t : all) {
            assertEquals(t, v.findTokenById(t.getId()));
            ContractTest.lookAllWays(v, t);
        }
    }

    /** The blind keys of index {@code index} in the closed store, read through the engine. */
    private Set<ByteBuffer> indexKeys(int index) {
        Set<ByteBuffer> keys = new HashSet<>();
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            engine.forEachIndexEntry(index, (k, id) -> keys.add(ByteBuffer.wrap(k)));
        }
        return keys;
    }

    private Set<Integer> generations() {
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            return engine.indexGenerations();
        }
    }

    // ---------------------------------------------------------------- master key

    @ParameterizedTest(name = "cached={0}")
    @ValueSource(booleans = {true, false})
    void masterKeyRotationRetiresTheOldKeyAcrossReopen(boolean cached) {
        MasterKey oldKey = MasterKey.generate();
        MasterKey newKey = MasterKey.generate();
        List<OAuthToken> all;
        try (TokenVault v = open(oldKey, cached)) {
            all = populate(v, "m", 20);
            lookAll(v, all); // fills the cache
            v.rotateMasterKey(newKey);
            lookAll(v, all);
            all.add(saved(v, full("after")));
        }
        expect(ErrorCode.WRONG_KEY, () -> open(oldKey, cached));
        try (TokenVault v = open(newKey, cached)) {
            lookAll(v, all);
            assertTrue(v.verify().isClean());
            v.rotateMasterKey(oldKey); // and back: the new key is retired in turn
        }
        expect(ErrorCode.WRONG_KEY, () -> open(newKey, cached));
        try (TokenVault v = open(oldKey, cached)) {
            assertEquals(all.size(), v.getTokens().size());
        }
    }

    // ---------------------------------------------------------------- data key and resealAll

    @ParameterizedTest(name = "cached={0}")
    @ValueSource(booleans = {true, false})
    void resealAllMovesEveryRecordToTheCurrentVersionAndRemovesUnusedVersions(boolean cached) {
        MasterKey key = MasterKey.generate();
        List<OAuthToken> all = new ArrayList<>();
        int v1;
        int v3;
        try (TokenVault v = open(key, cached)) {
            v1 = v.stats().currentKeyVersion();
            all.addAll(populate(v, "a", 1_500)); // two reseal commits for this version
            v.rotateDataKey();
            int v2 = v.stats().currentKeyVersion();
            all.addAll(populate(v, "b", 30));
            v.rotateDataKey();
            v3 = v.stats().currentKeyVersion();
            all.addAll(populate(v, "c", 5));
            VaultStats before = v.stats();
            assertEquals(Map.of(v1, 1_500L, v2, 30L, v3, 5L), before.recordsPerKeyVersion());
            assertEquals(Set.of(v1, v2, v3), before.sealsPerKeyVersion().keySet());
            lookAll(v, all.subList(0, 50)); // some of them cached

            ResealReport report = v.resealAll();
            assertEquals(1_530, report.recordsResealed());
            assertEquals(v3, report.currentKeyVersion());
            assertEquals(List.of(v1, v2), report.removedKeyVersions());
            assertTrue(report.problems().isEmpty(), report.problems().toString());
            VaultStats after = v.stats();
            assertEquals(Map.of(v3, 1_535L), after.recordsPerKeyVersion());
            assertEquals(Set.of(v3), after.sealsPerKeyVersion().keySet());
            assertEquals(5L + 1_530L, after.sealsPerKeyVersion().get(v3));
            lookAll(v, all);
            assertTrue(v.verify().isClean());
            // nothing left to do
            ResealReport again = v.resealAll();
            assertEquals(0, again.recordsResealed());
            assertEquals(List.of(), again.removedKeyVersions());
        }
        try (TokenVault v = open(key, cached)) {
            VaultStats s = v.stats();
            assertEquals(v3, s.currentKeyVersion());
            assertEquals(Map.of(v3, 1_535L), s.recordsPerKeyVersion());
            assertEquals(Set.of(v3), s.sealsPerKeyVersion().keySet());
            lookAll(v, all);
            assertTrue(v.verify().isClean());
            v.rotateDataKey(); // versions keep counting up after removals: never a reused version number
            assertTrue(v.stats().currentKeyVersion() > v3);
        }
    }

    @Test
    void resealAllKeepsTheWritesThatRaceWithIt() throws Exception {
        MasterKey key = MasterKey.generate();
        try (TokenVault v = open(key, true)) {
            List<OAuthToken> all = populate(v, "r", 2_500);
            v.rotateDataKey();
            int current = v.stats().currentKeyVersion();
            Map<String, String> lastAccess = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch started = new CountDownLatch(1);
            Thread writer = new Thread(() -> {
                for (int n = 0; !stop.get(); n++) {
                    OAuthToken t = all.get(n % all.size());
                    String access = "raced-" + n;
                    v.saveToken(OAuthToken.builder().id(t.getId()).accessToken(access).build());
                    lastAccess.put(t.getId(), access);
                    started.countDown();
                }
            });
            writer.start();
            started.await();
            ResealReport report = v.resealAll();
            stop.set(true);
            writer.join();
            assertTrue(report.problems().isEmpty());
            assertEquals(Map.of(current, 2_500L), v.stats().recordsPerKeyVersion());
            assertFalse(lastAccess.isEmpty());
            for (Map.Entry<String, String> e : lastAccess.entrySet()) {
                assertEquals(e.getValue(), v.findTokenById(e.getKey()).getAccessToken());
                assertEquals(e.getKey(), v.findToken(OAuthToken.builder().accessToken(e.getValue()).build()).getId());
            }
            assertTrue(v.verify().isClean());
        }
    }

    // ---------------------------------------------------------------- index key

    @ParameterizedTest(name = "cached={0}")
    @ValueSource(booleans = {true, false})
    void rotateIndexKeyRebuildsEveryBlindIndexUnderANewKey(boolean cached) {
        MasterKey key = MasterKey.generate();
        List<OAuthToken> all;
        try (TokenVault v = open(key, cached)) {
            all = populate(v, "i", 1_200); // two build commits
            lookAll(v, all.subList(0, 40));
        }
        Set<ByteBuffer> userKeysBefore = indexKeys(Field.USER_NAME.index);
        Set<ByteBuffer> refreshKeysBefore = indexKeys(Field.REFRESH_TOKEN.index);
        try (TokenVault v = open(key, cached)) {
            lookAll(v, all.subList(0, 40)); // cached under the old index key
            v.rotateIndexKey();
            lookAll(v, all);
            assertTrue(v.verify().isClean());
            // writes after the switch index under the new key
            OAuthToken changed = all.get(7);
            v.saveToken(OAuthToken.builder().id(changed.getId()).accessToken("access-after-rotation").build());
            assertNull(v.findToken(OAuthToken.builder().accessToken(changed.getAccessToken()).build()));
            changed.setAccessToken("access-after-rotation");
            assertEquals(changed, v.findToken(OAuthToken.builder().accessToken("access-after-rotation").build()));
            all.add(saved(v, full("new")));
        }
        Set<ByteBuffer> userKeysAfter = indexKeys(Field.USER_NAME.index);
        assertEquals(userKeysBefore.size() + 1, userKeysAfter.size());
        assertTrue(Collections.disjoint(userKeysBefore, userKeysAfter), "an index entry kept its old blind key");
        assertTrue(Collections.disjoint(refreshKeysBefore, indexKeys(Field.REFRESH_TOKEN.index)));
        assertEquals(1, generations().size(), "the old index generation was not emptied");
        try (TokenVault v = open(key, cached)) {
            lookAll(v, all);
            assertTrue(v.verify().isClean());
            v.rotateIndexKey(); // twice: generations keep advancing
            lookAll(v, all);
        }
        assertEquals(1, generations().size());
    }

    @ParameterizedTest(name = "cached={0}")
    @ValueSource(booleans = {true, false})
    void readersAndWritersKeepWorkingDuringRotateIndexKey(boolean cached) throws Exception {
        MasterKey key = MasterKey.generate();
        try (TokenVault v = open(key, cached)) {
            List<OAuthToken> stable = populate(v, "s", 2_500);
            List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong lookups = new AtomicLong();
            Map<String, String> writerState = new ConcurrentHashMap<>(); // user -> last access token written
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int seed = r;
                threads.add(new Thread(() -> {
                    try {
                        for (int n = seed; !stop.get(); n += 7) {
                            OAuthToken t = stable.get(n % stable.size());
                            OAuthToken byUser = v.findToken(OAuthToken.builder().userName(t.getUserName()).build());
                            assertNotNull(byUser, "user not found during rotation");
                            assertEquals(t.getId(), byUser.getId());
                            OAuthToken byRefresh = v.findToken(OAuthToken.builder().refreshToken(t.getRefreshToken())
                                    .clientId("c").clientSecret("s").build());
                            assertEquals(t.getId(), byRefresh.getId());
                            lookups.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            threads.add(new Thread(() -> {
                try {
                    for (int n = 0; !stop.get(); n++) {
                        String user = "writer-" + (n % 50) + "@example.com";
                        String access = "w-access-" + n;
                        if (n % 13 == 0) {
                            OAuthToken found = v.findToken(OAuthToken.builder().userName(user).build());
                            if (found != null) {
                                v.deleteToken(found.getId());
                            }
                            writerState.remove(user);
                        } else {
                            v.saveToken(OAuthToken.builder().userName(user).accessToken(access).build());
                            writerState.put(user, access);
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
            threads.forEach(Thread::start);
            v.rotateIndexKey();
            v.rotateIndexKey();
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            assertTrue(failures.isEmpty(), () -> failures.get(0).toString());
            assertTrue(lookups.get() > 0);
            for (int n = 0; n < 50; n++) {
                String user = "writer-" + n + "@example.com";
                OAuthToken found = v.findToken(OAuthToken.builder().userName(user).build());
                assertEquals(writerState.get(user), found == null ? null : found.getAccessToken(), user);
                if (found != null) {
                    assertEquals(user, v.findToken(OAuthToken.builder().accessToken(found.getAccessToken()).build())
                            .getUserName());
                }
            }
            assertTrue(v.verify().isClean(), () -> v.verify().problems().toString());
            lookAll(v, stable.subList(0, 100));
        }
        try (TokenVault v = open(key, cached)) {
            assertTrue(v.verify().isClean());
        }
        assertEquals(1, generations().size());
    }

    @Test
    void rotateIndexKeyOfAnEmptiedStore() {
        MasterKey key = MasterKey.generate();
        try (TokenVault v = open(key, false)) {
            populate(v, "d", 50);
            v.deleteTokens();
            v.rotateIndexKey();
            assertTrue(v.getTokens().isEmpty());
            assertTrue(v.verify().isClean());
            OAuthToken t = saved(v, full("fresh"));
            ContractTest.lookAllWays(v, t);
        }
    }

    @Test
    void rotationsAfterCloseAreClosed() {
        TokenVault v = open(MasterKey.generate(), true);
        v.close();
        expect(ErrorCode.CLOSED, v::rotateIndexKey);
        expect(ErrorCode.CLOSED, v::resealAll);
        expect(ErrorCode.CLOSED, v::repair);
        expect(ErrorCode.CLOSED, v::rotateDataKey);
    }

    @Test
    void everyRotationTogetherKeepsTheData() {
        MasterKey key = MasterKey.generate();
        MasterKey next = MasterKey.generate();
        List<OAuthToken> all;
        try (TokenVault v = open(key, true)) {
            all = populate(v, "all", 30);
            v.rotateDataKey();
            v.rotateIndexKey();
            v.rotateMasterKey(next);
            ResealReport r = v.resealAll();
            assertEquals(30, r.recordsResealed());
            assertNotEquals(List.of(), r.removedKeyVersions());
            lookAll(v, all);
            assertEquals(snapshot(v).size(), 30);
        }
        expect(ErrorCode.WRONG_KEY, () -> open(key, true));
        try (TokenVault v = open(next, false)) {
            lookAll(v, all);
            assertTrue(v.verify().isClean());
        }
    }
}
