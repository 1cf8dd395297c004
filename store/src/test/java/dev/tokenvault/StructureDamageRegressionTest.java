package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Single-bit flips that escaped as raw throwables before the engine checked MapDB's reads (issue 16), replayed on a
 * fixed store: {@code pristine-200.db.gz}, 200 tokens ({@code StoreFixtures.full("t0")} to {@code full("t199")}),
 * closed cleanly, under the master key of {@link #KEY_SEED}. Each offset was found by flipping bits of that file and
 * running the old code; the comment of each test says what escaped then.
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

    @BeforeEach
    void loadStore() throws IOException {
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("pristine-200.db.gz"))) {
            pristine = in.readAllBytes();
        }
        byte[] raw = new byte[32];
        new Random(KEY_SEED).nextBytes(raw);
        key = MasterKey.fromBytes(raw);
        Path copy = dir.resolve("pristine.db");
        Files.write(copy, pristine);
        try (TokenVault vault = TokenVault.builder().path(copy).masterKey(key).open()) {
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
        assertAccepted(1_218_862, 6, DamageProbe.Outcome.DAMAGE_SEEN);
    }

    /** Was a record returned twice by {@code getTokens()}: a damaged hash-tree node repeated a leaf. */
    @Test
    void aRepeatedLeafIsCorruptNotADuplicate() throws IOException {
        assertAccepted(1_164_513, 5, DamageProbe.Outcome.DAMAGE_SEEN);
        Path p = dir.resolve("flipped.db");
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
        Path p = dir.resolve("flipped.db");
        DamageProbe.writeFlipped(pristine, p, 1_218_862, 6);
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open()) {
            TokenStoreException e = StoreFixtures.expect(ErrorCode.CORRUPT, vault::compact);
            assertTrue(e.getMessage().contains("flipped.db"), e.getMessage());
            assertEquals(200, vault.getTokens().size(), "the store is still in use after the failed compaction");
            assertTrue(vault.repair().rebuilt(), "repair() rebuilds the damaged map");
            vault.compact();
            assertTrue(vault.verify().isClean());
        }
    }

    /** verify() names the damaged index map; repair() rebuilds it from the records, and every lookup works again. */
    @Test
    void verifyReportsADamagedIndexStructureAndRepairRebuildsIt() throws IOException {
        Path p = dir.resolve("flipped.db");
        DamageProbe.writeFlipped(pristine, p, 1_218_862, 6);
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
        DamageProbe.Outcome o = probe.trial(p, "bit 6 of byte 1218862, repaired");
        assertEquals(List.of(), probe.escapes());
        assertEquals(DamageProbe.Outcome.INTACT, o);
    }

    /**
     * A record listed twice is a structural problem for verify(). The damaged node names one leaf in place of another,
     * so the other leaf's record is unreachable (its index entries name an absent record): compact() writes the map
     * anew without the repeat, and repair() drops the entries of the lost record. Nothing else is lost.
     */
    @Test
    void verifyReportsARepeatedRecordAndCompactionRewritesTheMap() throws IOException {
        Path p = dir.resolve("flipped.db");
        DamageProbe.writeFlipped(pristine, p, 1_164_513, 5);
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
            assertEquals(199, vault.getTokens().size());
        }
    }

    /** Opens the store with one bit flipped and looks up every token by every path through {@link DamageProbe}. */
    private void assertAccepted(long offset, int bit, DamageProbe.Outcome expected) throws IOException {
        Path p = dir.resolve("flipped.db");
        DamageProbe.writeFlipped(pristine, p, offset, bit);
        DamageProbe.Outcome o = probe.trial(p, "bit " + bit + " of byte " + offset);
        assertEquals(List.of(), probe.escapes());
        assertEquals(expected, o);
        DamageProbe.writeFlipped(pristine, p, offset, bit); // as the probe found it, for the caller to reopen
    }
}
