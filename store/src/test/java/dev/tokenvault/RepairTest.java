package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TokenVault#repair()}: index entries damaged through the engine on a closed store (as {@link TamperTest}
 * does) are rebuilt from the records; records that fail to open are reported, never guessed at.
 */
class RepairTest {
    @TempDir
    Path dir;

    private final MasterKey key = MasterKey.generate();

    private Path file() {
        return dir.resolve("repair.db");
    }

    private TokenVault open(boolean cached) {
        return TokenVault.builder().path(file()).masterKey(key).cacheMaximumSize(cached ? 10_000 : 0).open();
    }

    private List<OAuthToken> populate(int n) {
        List<OAuthToken> all = new ArrayList<>();
        try (TokenVault v = open(false)) {
            all.addAll(KeyRotationTest.populate(v, "r", n));
        }
        return all;
    }

    /** The blind key of {@code id}'s entry in index {@code index}, read through the engine. */
    private static byte[] entryOf(MapDbEngine engine, int index, String id) {
        List<byte[]> keys = new ArrayList<>();
        engine.forEachIndexEntry(index, (k, named) -> {
            if (named.equals(id)) {
                keys.add(k);
            }
        });
        assertEquals(1, keys.size());
        return keys.get(0);
    }

    @ParameterizedTest(name = "cached={0}")
    @ValueSource(booleans = {true, false})
    void repairRebuildsDamagedIndexEntries(boolean cached) {
        List<OAuthToken> all = populate(1_100); // the rebuild takes two commits
        OAuthToken lost = all.get(0);
        OAuthToken misdirected = all.get(1);
        OAuthToken other = all.get(2);
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            byte[] lostKey = entryOf(engine, Field.USER_NAME.index, lost.getId());
            byte[] misKey = entryOf(engine, Field.REFRESH_TOKEN.index, misdirected.getId());
            engine.commit(new Batch()
                    .removeIndex(Field.USER_NAME.index, lostKey)                        // a missing entry
                    .putIndex(Field.REFRESH_TOKEN.index, misKey, other.getId())         // one naming the wrong record
                    .putIndex(Field.ACCESS_TOKEN.index, new byte[16], misdirected.getId()) // a stray one
                    .putIndex(Field.GRANT_TOKEN.index, new byte[] {1, 2, 3}, "no-such-record"));
        }
        try (TokenVault v = open(cached)) {
            VerifyReport damaged = v.verify();
            assertFalse(damaged.isClean());
            assertNull(v.findToken(OAuthToken.builder().userName(lost.getUserName()).build()));
            expect(ErrorCode.INTEGRITY, () -> v.findToken(OAuthToken.builder()
                    .refreshToken(misdirected.getRefreshToken()).clientId("c").clientSecret("s").build()));

            RepairReport report = v.repair();
            assertTrue(report.rebuilt());
            assertEquals(damaged.problems(), report.before().problems());
            assertEquals(1_100, report.recordsIndexed());
            assertTrue(report.problems().isEmpty(), report.problems().toString());
            VerifyReport after = v.verify();
            assertTrue(after.isClean(), after.problems().toString());
            assertEquals(1_100L * 4, after.indexEntriesChecked(), "stray entries survived the repair");
            for (OAuthToken t : all.subList(0, 20)) {
                ContractTest.lookAllWays(v, t);
            }
        }
        try (TokenVault v = open(cached)) {
            assertTrue(v.verify().isClean());
            ContractTest.lookAllWays(v, lost);
            ContractTest.lookAllWays(v, misdirected);
        }
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            assertEquals(1, engine.indexGenerations().size(), "the damaged generation was not emptied");
        }
    }

    @Test
    void aCleanStoreIsLeftAlone() {
        List<OAuthToken> all = populate(5);
        try (TokenVault v = open(true)) {
            RepairReport report = v.repair();
            assertFalse(report.rebuilt());
            assertTrue(report.before().isClean());
            all.forEach(t -> ContractTest.lookAllWays(v, t));
        }
    }

    @Test
    void aRecordThatFailsToOpenIsReportedAndNotIndexed() {
        List<OAuthToken> all = populate(10);
        OAuthToken broken = all.get(3);
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            byte[] sealed = engine.get(broken.getId());
            sealed[sealed.length - 1] ^= 1; // the tag
            engine.commit(new Batch().putRecord(broken.getId(), sealed));
        }
        try (TokenVault v = open(false)) {
            RepairReport report = v.repair();
            assertTrue(report.rebuilt());
            assertEquals(9, report.recordsIndexed());
            assertEquals(1, report.problems().size(), report.problems().toString());
            assertTrue(report.problems().get(0).contains(broken.getId()));
            for (String p : report.problems()) {
                assertFalse(p.contains(broken.getUserName()) || p.contains(broken.getAccessToken()), p);
            }
            // never guessed: the damaged record is still refused, and found by none of its values
            expect(ErrorCode.INTEGRITY, () -> v.findTokenById(broken.getId()));
            assertNull(v.findToken(OAuthToken.builder().userName(broken.getUserName()).build()));
            for (OAuthToken t : all) {
                if (t != broken) {
                    ContractTest.lookAllWays(v, t);
                }
            }
            // what is left is the record itself, no index problem
            VerifyReport after = v.verify();
            assertEquals(List.of("record " + broken.getId() + " fails authentication"), after.problems());
            // rotateIndexKey refuses to drop it silently, and changes nothing
            expect(ErrorCode.INTEGRITY, v::rotateIndexKey);
            assertEquals(after.problems(), v.verify().problems());
        }
    }

    @Test
    void twoRecordsHoldingOneValueAreBothLeftOutOfThatIndex() {
        String aId;
        String bId;
        byte[] oldA;
        OAuthToken a;
        try (TokenVault v = open(false)) {
            a = saved(v, full("a"));
            aId = a.getId();
        }
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            oldA = engine.get(aId);
        }
        try (TokenVault v = open(false)) {
            v.saveToken(OAuthToken.builder().id(aId).userName("renamed@example.com").build());
            OAuthToken b = saved(v, OAuthToken.builder().userName(a.getUserName()).accessToken("b-access").build());
            bId = b.getId();
        }
        try (MapDbEngine engine = MapDbEngine.open(file(), Field.INDEXED.length)) {
            engine.commit(new Batch().putRecord(aId, oldA)); // roll record a back: a and b now share a user name
        }
        try (TokenVault v = open(false)) {
            assertFalse(v.verify().isClean());
            RepairReport report = v.repair();
            assertTrue(report.rebuilt());
            assertTrue(report.problems().stream().anyMatch(p -> p.contains(aId) && p.contains(bId)
                    && p.contains("userName")), report.problems().toString());
            assertNull(v.findToken(OAuthToken.builder().userName(a.getUserName()).build()));
            // their other values are indexed
            assertEquals(aId, v.findToken(OAuthToken.builder().accessToken(a.getAccessToken()).build()).getId());
            assertEquals(bId, v.findToken(OAuthToken.builder().accessToken("b-access").build()).getId());
            expect(ErrorCode.INTEGRITY, v::rotateIndexKey);
        }
    }
}
