package dev.tokenvault;

import static dev.tokenvault.engine.mapdb.TableRecords.firstChunk;
import static dev.tokenvault.engine.mapdb.TableRecords.raw;
import static dev.tokenvault.engine.mapdb.TableRecords.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mapdb.DB;
import org.mapdb.DBMaker;

/**
 * Damage that escaped as raw throwables before the engine checked MapDB's reads (issue 16), replayed on a fixed store:
 * {@code first-layout-200.db.gz}, 200 tokens ({@code StoreFixtures.full("t0")} to {@code full("t199")}), closed
 * cleanly, under the master key of {@link #KEY_SEED}, written by tokenvault before the slot layout (first map layout:
 * a lookup walked an index map, then the records map). Two tests flip a bit of that file at an offset found by
 * flipping its bits and running the old code: the damage shows before the upgrade to the slot layout reads a map.
 * The others make, in the upgraded store, the structural damage such flips made in the first layout (an index page
 * whose byte count is off, as a leaf's entry count was; a hash-tree node that names one leaf in place of another),
 * through MapDB itself: the offsets of the old file mean nothing in the new layout.
 */
class StructureDamageRegressionTest {
    /** The store's master key is 32 bytes of {@code new Random(1)}. */
    private static final long KEY_SEED = 1;

    @TempDir
    Path dir;

    private byte[] pristine;
    private MasterKey key;
    private List<OAuthToken> saved;
    private DamageProbe probe;
    /** The fixture, opened once: upgraded to the slot layout. */
    private Path upgraded;

    @BeforeEach
    void loadStore() throws IOException {
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("first-layout-200.db.gz"))) {
            pristine = in.readAllBytes();
        }
        byte[] raw = new byte[32];
        new Random(KEY_SEED).nextBytes(raw);
        key = MasterKey.fromBytes(raw);
        upgraded = dir.resolve("pristine.db");
        Files.write(upgraded, pristine);
        try (TokenVault vault = TokenVault.builder().path(upgraded).masterKey(key).open()) {
            saved = vault.getTokens();
        }
        assertEquals(200, saved.size());
        probe = new DamageProbe(key, saved);
    }

    @AfterEach
    void stopProbe() {
        probe.shutdown();
    }

    private TokenStoreException openFlipped(long offset, int bit) throws IOException {
        Path p = dir.resolve("flipped.db");
        DamageProbe.writeFlipped(pristine, p, offset, bit);
        return StoreFixtures.expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(p).masterKey(key).open());
    }

    /**
     * Was {@code BufferUnderflowException} from {@code open()}: the seal count's record id pointed at a short value.
     * Seal counts are authenticated now, and one that does not check out (here: the wrong length) counts as exhausted
     * rather than failing the open: the store opens, the next seal starts a new data key version, and what it saves
     * survives a reopen.
     */
    @Test
    void aSealCountOfTheWrongLengthCountsAsExhausted() throws IOException {
        Path p = dir.resolve("flipped.db");
        DamageProbe.writeFlipped(pristine, p, 1_062_281, 0);
        OAuthToken fresh = StoreFixtures.full("after-damage");
        int versionBefore;
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            versionBefore = vault.stats().currentKeyVersion();
            vault.saveToken(fresh);
            assertTrue(vault.stats().currentKeyVersion() > versionBefore, "an exhausted count starts a new version");
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            assertEquals(fresh.getAccessToken(), vault.findTokenById(fresh.getId()).getAccessToken());
        }
    }

    /**
     * Was {@code OutOfMemoryError} from {@code open()} in a 256 MiB heap: a flipped length in MapDB's catalog made it
     * read on past the record and allocate a 2 GB character array. Now the count is checked against the record before
     * anything is allocated: the open allocates a few megabytes at most.
     */
    @Test
    void aDamagedLengthIsCorruptBeforeAnythingIsAllocated() throws Exception {
        long before = allocatedByThisThread();
        TokenStoreException e = openFlipped(1_059_466, 7);
        long allocated = allocatedByThisThread() - before;
        assertTrue(e.getMessage().contains("flipped.db"), e.getMessage());
        assertTrue(allocated < 64L << 20, "open() allocated " + allocated + " bytes");
    }

    /**
     * Bytes this thread has allocated so far. Reached reflectively: the test module does not read
     * {@code jdk.management}, and the count is only there in {@code com.sun.management.ThreadMXBean}.
     */
    private static long allocatedByThisThread() throws ReflectiveOperationException {
        Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes")
                .invoke(bean);
    }

    /** Was {@code AssertionError} from {@code findToken}: MapDB's always-on check of a leaf whose entry count is off. */
    @Test
    void aDamagedLeafIsCorruptOnLookup() throws IOException {
        assertAccepted(damagedRefreshLeaf(), DamageProbe.Outcome.DAMAGE_SEEN);
    }

    /** Was a record returned twice by {@code getTokens()}: a damaged hash-tree node repeated a leaf. */
    @Test
    void aRepeatedLeafIsCorruptNotADuplicate() throws IOException {
        Path p = repeatedRecordLeaf();
        assertAccepted(p, DamageProbe.Outcome.DAMAGE_SEEN);
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            TokenStoreException e = StoreFixtures.expect(ErrorCode.CORRUPT, vault::getTokens);
            assertTrue(e.getMessage().contains("twice"), e.getMessage());
            assertTrue(!vault.verify().isClean(), "verify() reports the repeated record");
        }
    }

    /**
     * MapDB's always-on check of a damaged leaf fires while {@code compact()} copies the map (an {@code AssertionError}
     * before): the compaction fails with {@code CORRUPT} naming the file, and the store stays in use, unchanged.
     */
    @Test
    void compactingADamagedMapIsCorruptAndKeepsTheStore() throws IOException {
        Path p = damagedRefreshLeaf();
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            TokenStoreException e = StoreFixtures.expect(ErrorCode.CORRUPT, vault::compact);
            assertTrue(e.getMessage().contains(p.getFileName().toString()), e.getMessage());
            assertEquals(200, vault.getTokens().size(), "the store is still in use after the failed compaction");
            assertTrue(vault.repair().rebuilt(), "repair() rebuilds the damaged map");
            vault.compact();
            assertTrue(vault.verify().isClean());
        }
    }

    /** verify() names the damaged index map; repair() rebuilds it from the records, and every lookup works again. */
    @Test
    void verifyReportsADamagedIndexStructureAndRepairRebuildsIt() throws IOException {
        Path p = damagedRefreshLeaf();
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            VerifyReport before = vault.verify();
            assertTrue(before.problems().stream().anyMatch(l -> l.contains("refreshToken index map is damaged")),
                    before.problems().toString());
            RepairReport repair = vault.repair();
            assertTrue(repair.rebuilt());
            assertEquals(200, repair.recordsIndexed());
            VerifyReport after = vault.verify();
            assertTrue(after.isClean(), after.problems().toString());
        }
        DamageProbe.Outcome o = probe.trial(p, "damaged refresh token leaf, repaired");
        assertEquals(List.of(), probe.escapes());
        assertEquals(DamageProbe.Outcome.INTACT, o);
    }

    /**
     * A record listed twice is a structural problem for verify(). The damaged directory names one page in place of
     * another, so the other bucket's records are unreachable (their index entries name absent records): compact()
     * writes the table anew without the repeat, and repair() drops the entries of the lost records. Nothing else is
     * lost.
     */
    @Test
    void verifyReportsARepeatedRecordAndCompactionRewritesTheMap() throws IOException {
        Path p = repeatedRecordLeaf();
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            VerifyReport before = vault.verify();
            assertTrue(before.problems().stream().anyMatch(l -> l.contains("twice")), before.problems().toString());
            assertTrue(before.problems().stream().anyMatch(l -> l.contains("absent or damaged")),
                    before.problems().toString());
            vault.compact();
            assertTrue(vault.verify().problems().stream().noneMatch(l -> l.contains("twice")));
            vault.repair();
            VerifyReport after = vault.verify();
            assertTrue(after.isClean(), after.problems().toString());
            assertEquals(200 - lostRecords, vault.getTokens().size());
        }
    }

    /** Opens the damaged store {@code p} and looks up every token by every path through {@link DamageProbe}. */
    private void assertAccepted(Path p, DamageProbe.Outcome expected) {
        DamageProbe.Outcome o = probe.trial(p, p.getFileName().toString());
        assertEquals(List.of(), probe.escapes());
        assertEquals(expected, o);
    }

    /**
     * A copy of the upgraded store in which one page of the current generation's refresh token index table has its
     * byte count off by one bit (its first byte), as a bit flip made a leaf's entry count in the first layout. Reads
     * the table's records as {@code IndexTable} lays them out: header (directory list recid at byte 28), directory
     * list, first directory chunk, pages.
     */
    private Path damagedRefreshLeaf() throws IOException {
        return damaged("leaf.db", db -> {
            ByteBuffer chunk = ByteBuffer.wrap(raw(db, firstChunk(db, "gen" + currentGeneration(db) + ".table"
                    + Field.REFRESH_TOKEN.index)));
            for (int i = 0; i < chunk.getInt(0); i++) {
                long page = chunk.getLong(4 + 8 * i);
                byte[] bytes = raw(db, page);
                if (ByteBuffer.wrap(bytes).getInt(4) > 0) { // a page that holds entries
                    bytes[0] ^= 1 << 6;
                    write(db, page, bytes);
                    return;
                }
            }
            throw new IllegalStateException("no page of the refresh token table holds an entry");
        });
    }

    /**
     * A copy of the upgraded store in which the directory of the records table names one bucket's page in place of
     * another's (both holding records): that page's records are listed twice, and the records of the other bucket
     * ({@link #lostRecords} of them) are no longer named by id, as a damaged hash-tree node repeated a leaf in the
     * first layout.
     */
    private Path repeatedRecordLeaf() throws IOException {
        return damaged("repeat.db", db -> {
            long chunkAt = firstChunk(db, "records");
            ByteBuffer chunk = ByteBuffer.wrap(raw(db, chunkAt));
            List<Integer> full = new ArrayList<>();
            for (int i = 0; i < chunk.getInt(0); i++) {
                if (ByteBuffer.wrap(raw(db, chunk.getLong(4 + 8 * i))).getInt(4) > 0) {
                    full.add(i);
                }
            }
            if (full.size() < 2) {
                throw new IllegalStateException("fewer than two pages of the records table hold records");
            }
            lostRecords = 0;
            for (long page = chunk.getLong(4 + 8 * full.get(1)); page != 0; ) {
                ByteBuffer bytes = ByteBuffer.wrap(raw(db, page));
                lostRecords += bytes.getInt(4);
                page = bytes.getLong(8);
            }
            chunk.putLong(4 + 8 * full.get(1), chunk.getLong(4 + 8 * full.get(0)));
            write(db, chunkAt, chunk.array());
        });
    }

    /** Records of the bucket whose page {@link #repeatedRecordLeaf} replaced: no longer found by id. */
    private int lostRecords;

    private static int currentGeneration(DB db) {
        return db.exists("indexGeneration") ? db.atomicInteger("indexGeneration").open().get() : 0;
    }

    /** A copy of the upgraded store, changed by {@code damage} through MapDB itself (the store is closed). */
    private Path damaged(String name, Consumer<DB> damage) throws IOException {
        Path p = dir.resolve(name);
        DamageProbe.write(Files.readAllBytes(upgraded), p);
        try (DB db = DBMaker.fileDB(p.toFile()).make()) {
            damage.accept(db);
            db.commit();
        }
        return p;
    }
}
