package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.mapdb.MapDbEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damages a closed store's files and checks that the store either refuses to open with a clear code, or answers
 * every lookup with the original data or a clear error: never with different data, never with a raw exception.
 */
class TamperTest {
    private static final Set<ErrorCode> REFUSALS = EnumSet.of(ErrorCode.CORRUPT, ErrorCode.INTEGRITY,
            ErrorCode.WRONG_KEY, ErrorCode.UNSUPPORTED_FORMAT);
    private static final Set<ErrorCode> LOOKUP_ERRORS = EnumSet.of(ErrorCode.CORRUPT, ErrorCode.INTEGRITY,
            ErrorCode.NOT_FOUND);

    @TempDir
    Path dir;

    private final MasterKey key = MasterKey.generate();
    private final List<OAuthToken> originals = new ArrayList<>();
    private Path pristine;

    @BeforeEach
    void populate() {
        pristine = dir.resolve("pristine.db");
        try (TokenVault vault = TokenVault.builder().path(pristine).masterKey(key).open()) {
            for (int i = 0; i < 40; i++) {
                OAuthToken t = OAuthToken.builder().userName("user" + i).accessToken("access-" + i)
                        .refreshToken("refresh-" + i).grantToken("grant-" + i).clientId("client")
                        .clientSecret("secret-" + i).expiryTime(Long.toString(1_700_000_000_000L + i)).build();
                vault.saveToken(t);
                originals.add(t.copy());
            }
        }
    }

    private Path copyOfPristine(String name) throws IOException {
        Path p = dir.resolve(name);
        Files.copy(pristine, p, StandardCopyOption.REPLACE_EXISTING);
        return p;
    }

    @Test
    void randomBitFlipsNeverYieldWrongData() throws IOException {
        Random random = new Random(1234);
        long size = Files.size(pristine);
        int opened = 0;
        for (int trial = 0; trial < 60; trial++) {
            Path p = copyOfPristine("flip" + trial + ".db");
            byte[] bytes = Files.readAllBytes(p);
            for (int f = 0; f < 1 + random.nextInt(8); f++) {
                // half the flips land in the first 64 KiB, where MapDB keeps its header, directories and our data
                int at = random.nextBoolean() ? random.nextInt((int) Math.min(size, 65_536)) : random.nextInt(bytes.length);
                bytes[at] ^= (byte) (1 << random.nextInt(8));
            }
            Files.write(p, bytes);
            opened += checkDamagedStore(p, "flip trial " + trial) ? 1 : 0;
        }
        assertTrue(opened > 0, "no damaged store opened: the lookups were never exercised");
    }

    @Test
    void truncationsAndExtensionsNeverYieldWrongData() throws IOException {
        Random random = new Random(99);
        byte[] bytes = Files.readAllBytes(pristine);
        for (int trial = 0; trial < 20; trial++) {
            Path p = dir.resolve("cut" + trial + ".db");
            int length = random.nextInt(bytes.length);
            Files.write(p, java.util.Arrays.copyOf(bytes, length));
            checkDamagedStore(p, "truncated to " + length);
        }
        for (int trial = 0; trial < 5; trial++) {
            Path p = dir.resolve("ext" + trial + ".db");
            byte[] extra = new byte[1 + random.nextInt(100_000)];
            random.nextBytes(extra);
            byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + extra.length);
            System.arraycopy(extra, 0, longer, bytes.length, extra.length);
            Files.write(p, longer);
            checkDamagedStore(p, "extended by " + extra.length);
        }
    }

    @Test
    void recordsSwappedBetweenIdsFailIntegrityAndOthersStayReadable() throws IOException {
        Path p = copyOfPristine("swap.db");
        OAuthToken a = originals.get(3);
        OAuthToken b = originals.get(7);
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            byte[] sealedA = engine.get(a.getId());
            byte[] sealedB = engine.get(b.getId());
            assertNotNull(sealedA);
            engine.commit(new Batch().putRecord(a.getId(), sealedB).putRecord(b.getId(), sealedA));
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            assertEquals(ErrorCode.INTEGRITY, assertThrows(TokenStoreException.class,
                    () -> vault.findTokenById(a.getId())).code());
            assertEquals(ErrorCode.INTEGRITY, assertThrows(TokenStoreException.class,
                    () -> vault.findToken(OAuthToken.builder().userName(b.getUserName()).build())).code());
            for (OAuthToken t : originals) {
                if (t != a && t != b) {
                    assertEquals(t, vault.findTokenById(t.getId()));
                    assertEquals(t, vault.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build()));
                }
            }
            VerifyReport report = vault.verify();
            assertTrue(report.problems().size() >= 2, report.problems().toString());
        }
    }

    @Test
    void anIndexEntryNamingAnotherRecordIsIntegrityNotThatRecord() throws IOException {
        Path p = copyOfPristine("index.db");
        OAuthToken a = originals.get(1);
        OAuthToken b = originals.get(2);
        // Point b's refresh-token index entry at a's id, as an attacker who copies index entries could.
        byte[] bKey;
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            List<byte[]> keys = new ArrayList<>();
            engine.forEachIndexEntry(3, (k, id) -> {
                if (id.equals(b.getId())) {
                    keys.add(k);
                }
            });
            assertEquals(1, keys.size());
            bKey = keys.get(0);
            engine.commit(new Batch().putIndex(3, bKey, a.getId()));
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            OAuthToken query = OAuthToken.builder().refreshToken(b.getRefreshToken()).clientId("client")
                    .clientSecret("x").build();
            assertEquals(ErrorCode.INTEGRITY, assertThrows(TokenStoreException.class,
                    () -> vault.findToken(query)).code());
            assertEquals(a, vault.findTokenById(a.getId()));
            assertTrue(!vault.verify().isClean());
        }
    }

    /** Opens a damaged store; returns whether it opened. Fails on wrong data or an exception without a code. */
    private boolean checkDamagedStore(Path p, String what) {
        TokenVault vault;
        try {
            vault = TokenVault.builder().path(p).masterKey(key).cacheMaximumSize(0).open();
        } catch (TokenStoreException e) {
            assertTrue(REFUSALS.contains(e.code()), what + ": refused with " + e.code() + ": " + e.getMessage());
            return false;
        } catch (RuntimeException | Error e) {
            throw new AssertionError(what + ": open threw " + e, e);
        }
        try (vault) {
            for (OAuthToken t : originals) {
                lookup(what, t, () -> vault.findTokenById(t.getId()));
                lookup(what, t, () -> vault.findToken(OAuthToken.builder().userName(t.getUserName()).build()));
                lookup(what, t, () -> vault.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build()));
            }
        } catch (TokenStoreException e) {
            // close() may report a damaged file
            assertTrue(REFUSALS.contains(e.code()) || e.code() == ErrorCode.IO, what + ": close: " + e.code());
        }
        return true;
    }

    private static void lookup(String what, OAuthToken original, java.util.function.Supplier<OAuthToken> call) {
        try {
            OAuthToken got = call.get();
            if (got != null && !got.equals(original)) {
                fail(what + ": a lookup for record " + original.getId() + " returned different data (record "
                        + got.getId() + ")");
            }
        } catch (TokenStoreException e) {
            assertTrue(LOOKUP_ERRORS.contains(e.code()), what + ": lookup failed with " + e.code());
        } catch (RuntimeException | Error e) {
            throw new AssertionError(what + ": lookup threw " + e, e);
        }
    }

    @Test
    void aDamagedRecordCanBeDeletedAndTakesItsIndexEntriesWithIt() throws IOException {
        Path p = copyOfPristine("delete-damaged.db");
        OAuthToken a = originals.get(5);
        try (MapDbEngine engine = MapDbEngine.open(p, 4)) {
            byte[] sealed = engine.get(a.getId());
            sealed[sealed.length - 1] ^= 1; // break its tag
            engine.commit(new Batch().putRecord(a.getId(), sealed));
        }
        try (TokenVault vault = TokenVault.builder().path(p).masterKey(key).open()) {
            assertEquals(ErrorCode.INTEGRITY, assertThrows(TokenStoreException.class,
                    () -> vault.findTokenById(a.getId())).code());
            vault.deleteToken(a.getId());
            assertEquals(ErrorCode.NOT_FOUND, assertThrows(TokenStoreException.class,
                    () -> vault.findTokenById(a.getId())).code());
            assertEquals(null, vault.findToken(OAuthToken.builder().userName(a.getUserName()).build()));
            assertEquals(null, vault.findToken(OAuthToken.builder().accessToken(a.getAccessToken()).build()));
            VerifyReport report = vault.verify();
            assertTrue(report.isClean(), report.problems().toString());
            assertEquals(originals.size() - 1, vault.getTokens().size());
            // the values it held are free again
            vault.saveToken(OAuthToken.builder().userName(a.getUserName()).accessToken(a.getAccessToken()).build());
        }
    }
}
