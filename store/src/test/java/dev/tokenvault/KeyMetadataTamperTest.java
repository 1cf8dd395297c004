package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Someone who can write the store file edits the key metadata (header, keyring, key check, seal counts) that is read
 * before anything authenticates it: the store refuses, never re-creates itself or runs away with memory or time.
 */
class KeyMetadataTamperTest {
    /** Offsets in an Argon2id header: magic(4) version(1) storeId(32) kdf(1) salt(16), then the parameters. */
    private static final int MEMORY_OFFSET = 54;
    private static final int ITERATIONS_OFFSET = 58;
    private static final int PARALLELISM_OFFSET = 62;

    @TempDir
    Path dir;

    private static void edit(Path file, Consumer<MapDbEngine> change) {
        try (MapDbEngine engine = MapDbEngine.open(file, Field.INDEXED.length)) {
            change.accept(engine);
        }
    }

    @Test
    void aStoreWithoutItsHeaderIsCorruptNotCreatedAgain() {
        Path file = dir.resolve("headless.db");
        MasterKey key = MasterKey.generate();
        OAuthToken t;
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            t = saved(v, full("a"));
        }
        byte[][] header = new byte[1][];
        edit(file, e -> {
            header[0] = e.getMeta("header");
            e.commit(new Batch().removeMeta("header"));
        });
        TokenStoreException other = expect(ErrorCode.CORRUPT,
                () -> TokenVault.builder().path(file).masterKey(MasterKey.generate()).open());
        assertTrue(other.getMessage().contains("no store header"), other.getMessage());
        expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(key).open());
        // refusing changed nothing: with the header put back, the record opens under its own key
        edit(file, e -> e.commit(new Batch().putMeta("header", header[0])));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            assertEquals(t, v.findTokenById(t.getId()));
            assertTrue(v.verify().isClean());
        }
    }

    /**
     * README, Errors: UNSUPPORTED_FORMAT for "a newer format version" (of the store header): a store written by a
     * later tokenvault is refused as such, by a writer and a reader, with any key, not taken for a wrong key or damage,
     * and it is left as it was.
     */
    @Test
    void aNewerHeaderFormatVersionIsUnsupportedFormat() {
        Path file = dir.resolve("newer.db");
        MasterKey key = MasterKey.generate();
        OAuthToken t;
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            t = saved(v, full("a"));
        }
        byte[][] original = new byte[1][];
        edit(file, e -> {
            original[0] = e.getMeta("header");
            byte[] newer = original[0].clone();
            newer[4] = 2; // magic(4) then the format version, 1 today
            e.commit(new Batch().putMeta("header", newer));
        });
        TokenStoreException e = expect(ErrorCode.UNSUPPORTED_FORMAT,
                () -> TokenVault.builder().path(file).masterKey(key).open());
        assertTrue(e.getMessage().contains("format version 2"), e.getMessage());
        expect(ErrorCode.UNSUPPORTED_FORMAT, () -> TokenVault.builder().path(file).masterKey(key).readOnly().open());
        expect(ErrorCode.UNSUPPORTED_FORMAT,
                () -> TokenVault.builder().path(file).masterKey(MasterKey.generate()).open());
        edit(file, x -> assertEquals(2, x.getMeta("header")[4], "the refused opens left the header alone"));
        edit(file, x -> x.commit(new Batch().putMeta("header", original[0])));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            assertEquals(t, v.findTokenById(t.getId()));
        }
    }

    @Test
    void anyOneLeftoverPreventsReinitialisation() {
        String[] leftovers = {"keyring", "keycheck", "records", "index"};
        for (String leftover : leftovers) {
            Path file = dir.resolve("leftover-" + leftover + ".db");
            try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.generate()).open()) {
                saved(v, full("b"));
            }
            edit(file, e -> {
                Batch strip = new Batch().removeMeta("header");
                if (!leftover.equals("keyring")) {
                    strip.removeMeta("keyring");
                }
                if (!leftover.equals("keycheck")) {
                    strip.removeMeta("keycheck");
                }
                strip.removeMeta("seals.1");
                if (!leftover.equals("records")) {
                    e.forEachRecord((id, sealed) -> strip.removeRecord(id));
                }
                if (!leftover.equals("index")) {
                    for (Field f : Field.INDEXED) {
                        e.forEachIndexEntry(f.index, (k, id) -> strip.removeIndex(f.index, k));
                    }
                }
                e.commit(strip);
            });
            expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(MasterKey.generate()).open());
        }
    }

    @Test
    void argon2idParametersOutOfBoundsAreCorruptBeforeAnyDerivation() {
        Path file = dir.resolve("kdf.db");
        char[] pass = "a passphrase for the bounds test".toCharArray();
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromPassphrase(pass)).open()) {
            saved(v, full("c"));
        }
        byte[][] original = new byte[1][];
        edit(file, e -> original[0] = e.getMeta("header"));
        int[][] cases = {
            {MEMORY_OFFSET, 4 * 1024 * 1024},        // 4 GiB: OutOfMemoryError before the bound
            {MEMORY_OFFSET, Integer.MAX_VALUE},
            {MEMORY_OFFSET, 7},                       // under 8 KiB per lane
            {ITERATIONS_OFFSET, Integer.MAX_VALUE},   // would run for ever
            {ITERATIONS_OFFSET, 0},
            {PARALLELISM_OFFSET, 0x2000_0000},        // 8 * p overflows to 0
            {PARALLELISM_OFFSET, -1},
        };
        for (int[] c : cases) {
            byte[] header = original[0].clone();
            ByteBuffer.wrap(header).putInt(c[0], c[1]);
            edit(file, e -> e.commit(new Batch().putMeta("header", header)));
            TokenStoreException ex = expect(ErrorCode.CORRUPT,
                    () -> TokenVault.builder().path(file).masterKey(MasterKey.fromPassphrase(pass)).open());
            assertTrue(ex.getMessage().contains("Argon2id"), ex.getMessage());
        }
        edit(file, e -> e.commit(new Batch().putMeta("header", original[0])));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromPassphrase(pass)).open()) {
            assertEquals(1, v.getTokens().size());
        }
    }

    /**
     * The seal counts are authenticated: a count removed, reset to zero (also in the old unauthenticated 8-byte
     * form) or copied from another version counts as exhausted, so the next seal begins a new data key version
     * instead of stretching the old key's nonce budget.
     */
    @Test
    void aMissingOrForgedSealCountCountsAsExhausted() {
        Path file = dir.resolve("counts.db");
        MasterKey key = MasterKey.generate();
        int limit = 5;
        OAuthToken t;
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).sealLimit(limit).open()) {
            t = saved(v, full("d"));
            v.rotateDataKey(); // version 2, count 0: an authentic zero to copy
            v.saveToken(OAuthToken.builder().id(t.getId()).expiryTime("2").build());
            assertEquals(java.util.Map.of(1, 1L, 2, 1L), v.stats().sealsPerKeyVersion());
        }
        byte[][] authentic = new byte[1][];
        edit(file, e -> authentic[0] = e.getMeta("seals.2"));
        java.util.List<Consumer<MapDbEngine>> forgeries = java.util.List.of(
                e -> e.commit(new Batch().removeMeta("seals.2")),
                e -> e.commit(new Batch().putMeta("seals.2", new byte[8])),
                e -> {
                    byte[] zero = authentic[0].clone();
                    java.util.Arrays.fill(zero, 0, 8, (byte) 0); // the count lowered, the tag kept
                    e.commit(new Batch().putMeta("seals.2", zero));
                },
                e -> e.commit(new Batch().putMeta("seals.2", e.getMeta("seals.1"))));
        for (Consumer<MapDbEngine> forge : forgeries) {
            edit(file, e -> e.commit(new Batch().putMeta("seals.2", authentic[0])));
            edit(file, forge);
            try (TokenVault v = TokenVault.builder().path(file).masterKey(key).sealLimit(limit).open()) {
                assertEquals(2, v.stats().currentKeyVersion());
                assertEquals((long) limit, v.stats().sealsPerKeyVersion().get(2), "a forged count was believed");
            }
        }
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).sealLimit(limit).open()) {
            OAuthToken again = saved(v, full("e"));
            assertEquals(3, v.stats().currentKeyVersion(), "the next seal did not begin a new version");
            assertEquals(again, v.findTokenById(again.getId()));
        }
        // an authentic count survives reopen unchanged, also after rotateMasterKey re-authenticated it
        MasterKey next = MasterKey.generate();
        edit(file, e -> e.commit(new Batch().putMeta("seals.2", authentic[0])));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).sealLimit(limit).open()) {
            assertEquals(1L, v.stats().sealsPerKeyVersion().get(2));
            v.rotateMasterKey(next);
        }
        try (TokenVault v = TokenVault.builder().path(file).masterKey(next).sealLimit(limit).open()) {
            assertEquals(1L, v.stats().sealsPerKeyVersion().get(2));
            assertEquals(1L, v.stats().sealsPerKeyVersion().get(3));
            assertEquals(t.getId(), v.findTokenById(t.getId()).getId());
            assertTrue(v.verify().isClean());
        }
    }

    /**
     * An older wrapped keyring put back alone (from a backup, freed space or the redo log) would have new records
     * sealed under a retired data key: refused at open, because the newer version's seal count outlives it. (Put
     * back together with the counts, it is a rollback nothing inside the file can detect: see SECURITY.md.)
     */
    @Test
    void anOlderKeyringPutBackAloneIsCorrupt() {
        Path file = dir.resolve("keyring-rollback.db");
        MasterKey key = MasterKey.generate();
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            saved(v, full("f"));
        }
        byte[][] old = new byte[1][];
        edit(file, e -> old[0] = e.getMeta("keyring"));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            v.rotateDataKey();
            saved(v, full("g"));
        }
        byte[][] current = new byte[1][];
        edit(file, e -> {
            current[0] = e.getMeta("keyring");
            e.commit(new Batch().putMeta("keyring", old[0]));
        });
        TokenStoreException e = expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(key).open());
        assertTrue(e.getMessage().contains("older keyring"), e.getMessage());
        edit(file, x -> x.commit(new Batch().putMeta("keyring", current[0])));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            assertEquals(2, v.getTokens().size());
        }
    }

    // resealAll() removes the data key versions no record uses, and must keep their seal counts: the two checks above
    // (an older keyring put back; a store without its header) look for them.

    @Test
    void anOlderKeyringPutBackAfterResealAllIsCorrupt() {
        Path file = dir.resolve("k.db");
        MasterKey key = MasterKey.generate();
        byte[][] old = new byte[1][];
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            saved(v, full("a"));
        }
        edit(file, e -> old[0] = e.getMeta("keyring")); // versions {1}
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            v.rotateDataKey();
            v.rotateDataKey();
            v.resealAll(); // the keyring keeps version 3 only
            assertEquals(3, v.stats().currentKeyVersion());
        }
        edit(file, e -> e.commit(new Batch().putMeta("keyring", old[0])));
        expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(key).open().close());
    }

    @Test
    void aStoreWhoseOnlyVersionWasResealedAwayIsNotInitialisedAgainWithoutItsHeader() {
        Path file = dir.resolve("h.db");
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.generate()).open()) {
            v.rotateDataKey();
            assertNotNull(v.resealAll()); // the keyring keeps version 2 only
        }
        edit(file, e -> e.commit(new Batch().removeMeta("header").removeMeta("keycheck").removeMeta("keyring")));
        expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(MasterKey.generate()).open()
                .close());
    }

    /**
     * A rollover whose commit failed leaves its version number unused (it is never given to another key); the next
     * rollover records that version's count, exhausted, so that the check above still has a count to find.
     */
    @Test
    void anOlderKeyringPutBackAfterAnAbandonedRolloverIsCorrupt() {
        Path file = dir.resolve("skipped.db");
        MasterKey key = MasterKey.generate();
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        dev.tokenvault.engine.CommitProbe failOnce = step -> {
            if (step.equals("engine.commit") && armed.compareAndSet(true, false)) {
                throw new OutOfMemoryError("injected at " + step);
            }
        };
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            saved(v, full("a"));
        }
        byte[][] old = new byte[1][];
        edit(file, e -> old[0] = e.getMeta("keyring"));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).commitProbe(failOnce).open()) {
            armed.set(true);
            expect(ErrorCode.IO, v::rotateDataKey); // version 2 abandoned
            v.rotateDataKey(); // version 3
            assertEquals(3, v.stats().currentKeyVersion());
            saved(v, full("b"));
        }
        edit(file, e -> e.commit(new Batch().putMeta("keyring", old[0])));
        expect(ErrorCode.CORRUPT, () -> TokenVault.builder().path(file).masterKey(key).open().close());
    }

    /**
     * SECURITY.md's checklist: the key check rejects an altered header at open, not only in KeyCheckTest. Each of a
     * changed store id, a changed check value and (for a passphrase store) a changed salt gives WRONG_KEY, leaves the
     * records as they were, and with the original header and check put back the store opens unchanged.
     */
    @Test
    void anAlteredHeaderOrKeyCheckIsWrongKeyAtOpenAndChangesNothing() {
        Path file = dir.resolve("altered-header.db");
        MasterKey key = MasterKey.generate();
        OAuthToken t;
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            t = saved(v, full("h"));
        }
        byte[][] original = new byte[2][];
        edit(file, e -> {
            original[0] = e.getMeta("header");
            original[1] = e.getMeta("keycheck");
        });
        assertEquals(4 + 1 + 32 + 1, original[0].length, "raw-key header: magic, version, store id, kdf");
        assertEquals(32, original[1].length, "HMAC-SHA256 check value");
        int[][] flips = {{0, 5}, {0, 20}, {0, 36}, {1, 0}, {1, 31}}; // {0: header, 1: key check; byte}
        for (int[] f : flips) {
            byte[] header = original[0].clone();
            byte[] check = original[1].clone();
            (f[0] == 0 ? header : check)[f[1]] ^= 0x01;
            edit(file, e -> e.commit(new Batch().putMeta("header", header).putMeta("keycheck", check)));
            expect(ErrorCode.WRONG_KEY, () -> TokenVault.builder().path(file).masterKey(key).open().close());
            byte[][] after = new byte[1][];
            edit(file, e -> after[0] = e.getMeta("header"));
            org.junit.jupiter.api.Assertions.assertArrayEquals(header, after[0], "a refused open rewrote the header");
        }
        edit(file, e -> e.commit(new Batch().putMeta("header", original[0]).putMeta("keycheck", original[1])));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            assertEquals(java.util.List.of(t), v.getTokens());
            assertTrue(v.verify().isClean());
        }
    }

    /**
     * SECURITY.md: a passphrase store's header is {@code "TVLT" | 1 | storeId(32) | kdf = 1 | salt(16) | memoryKiB(4) |
     * iterations(4) | parallelism(4)} with RFC 9106's second recommendation (65536 KiB, 3, 4), and changing the
     * passphrase, even to the same one, is a master-key rotation that draws a new salt and keeps the store id.
     */
    @Test
    void aPassphraseRotationDrawsANewSaltAndKeepsTheStoreId() {
        Path file = dir.resolve("salt.db");
        char[] pass = "the same passphrase twice".toCharArray();
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromPassphrase(pass)).open()) {
            saved(v, full("s"));
        }
        byte[][] first = new byte[1][];
        edit(file, e -> first[0] = e.getMeta("header"));
        ByteBuffer h = ByteBuffer.wrap(first[0]);
        assertEquals(66, first[0].length, "4 + 1 + 32 + 1 + 16 + 4 + 4 + 4");
        assertEquals(0x54564C54, h.getInt(0), "TVLT");
        assertEquals(1, first[0][4], "format version");
        assertEquals(1, first[0][37], "kdf = Argon2id");
        assertEquals(64 * 1024, h.getInt(MEMORY_OFFSET));
        assertEquals(3, h.getInt(ITERATIONS_OFFSET));
        assertEquals(4, h.getInt(PARALLELISM_OFFSET));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromPassphrase(pass)).open()) {
            v.rotateMasterKey(MasterKey.fromPassphrase(pass));
            assertEquals(1, v.getTokens().size(), "the rotated vault reads on");
        }
        byte[][] second = new byte[1][];
        edit(file, e -> second[0] = e.getMeta("header"));
        assertTrue(java.util.Arrays.equals(first[0], 0, 37, second[0], 0, 37), "magic, version and store id kept");
        assertTrue(!java.util.Arrays.equals(first[0], 38, 54, second[0], 38, 54), "a new salt");
        assertTrue(java.util.Arrays.equals(first[0], 54, 66, second[0], 54, 66), "the same parameters");
    }

    /**
     * SECURITY.md: after opening, the decoded id must equal the id the record is stored under. A writer holding the
     * data key (or a bug) seals B's plaintext under A's id: the seal authenticates, but reading A must be INTEGRITY,
     * never B's tokens returned for A.
     */
    @Test
    void aRecordWhosePlaintextNamesAnotherIdIsIntegrity() throws Exception {
        Path file = dir.resolve("forged-id.db");
        byte[] raw = new byte[32];
        new java.security.SecureRandom().nextBytes(raw);
        OAuthToken a;
        OAuthToken b;
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromBytes(raw)).open()) {
            a = saved(v, full("victim"));
            b = saved(v, full("other"));
        }
        edit(file, e -> {
            StoreHeader header = StoreHeader.decode(e.getMeta("header"), "test");
            try (dev.tokenvault.crypto.KeyHierarchy kh = dev.tokenvault.crypto.KeyHierarchy.derive(
                    dev.tokenvault.crypto.SecretBytes.copyOf(raw), header.storeId)) {
                dev.tokenvault.crypto.Keyring ring = dev.tokenvault.crypto.Keyring.unwrap(e.getMeta("keyring"),
                        kh.wrapKey(), header.storeId);
                byte[] sealedB = e.get(b.getId());
                int version = dev.tokenvault.crypto.RecordSeal.keyVersion(sealedB);
                byte[] plainB = dev.tokenvault.crypto.RecordSeal.open(sealedB, ring.dataKey(version), header.storeId,
                        b.getId());
                assertEquals(b.getId(), TokenRecord.decode(plainB).id(), "the forgery starts from B's real plaintext");
                byte[] forged = dev.tokenvault.crypto.RecordSeal.seal(version, ring.dataKey(version), plainB,
                        header.storeId, a.getId());
                e.commit(new Batch().putRecord(a.getId(), forged));
            } catch (javax.crypto.AEADBadTagException x) {
                throw new AssertionError(x);
            }
        });
        try (TokenVault v = TokenVault.builder().path(file).masterKey(MasterKey.fromBytes(raw)).open()) {
            assertEquals(ErrorCode.INTEGRITY, expect(ErrorCode.INTEGRITY, () -> v.findTokenById(a.getId())).code());
            expect(ErrorCode.INTEGRITY, () -> v.findToken(OAuthToken.builder().userName(a.getUserName()).build()));
            assertEquals(b, v.findTokenById(b.getId()), "the record the plaintext names is untouched");
            assertTrue(!v.verify().isClean(), "verify reports the forged record");
        }
    }

    /**
     * SECURITY.md, key rotation: during resealAll a record that fails authentication "keeps its version (and so its
     * key), and is listed in the report". Its key must stay in the keyring: with the record's good bytes put back
     * (from a backup), it opens again.
     */
    @Test
    void resealAllKeepsTheKeyOfARecordThatFailsAuthentication() {
        Path file = dir.resolve("reseal-damaged.db");
        MasterKey key = MasterKey.generate();
        OAuthToken damaged;
        OAuthToken fine;
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            damaged = saved(v, full("damaged"));
            fine = saved(v, full("fine"));
            v.rotateDataKey();
        }
        byte[][] good = new byte[1][];
        edit(file, e -> {
            good[0] = e.get(damaged.getId());
            byte[] bad = good[0].clone();
            bad[bad.length - 1] ^= 0x01; // the tag: the header still names version 1
            e.commit(new Batch().putRecord(damaged.getId(), bad));
        });
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            ResealReport r = v.resealAll();
            assertEquals(1, r.recordsResealed(), r.toString());
            assertEquals(2, r.currentKeyVersion());
            assertTrue(!r.removedKeyVersions().contains(1), "version 1 removed while a record names it: " + r);
            assertEquals(1, r.problems().size(), r.toString());
            assertTrue(r.problems().get(0).contains(damaged.getId()), r.toString());
            assertEquals(java.util.Map.of(1, 1L, 2, 1L), v.stats().recordsPerKeyVersion());
        }
        edit(file, e -> e.commit(new Batch().putRecord(damaged.getId(), good[0])));
        try (TokenVault v = TokenVault.builder().path(file).masterKey(key).open()) {
            assertEquals(damaged, v.findTokenById(damaged.getId()), "the kept key opens the restored record");
            assertEquals(fine, v.findTokenById(fine.getId()));
            assertTrue(v.verify().isClean(), v.verify().problems().toString());
        }
    }
}
