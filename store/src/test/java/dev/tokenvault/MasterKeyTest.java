package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.StoreFixtures.ChildResult;
import dev.tokenvault.StoreFixtures.Key;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every MasterKey source, checked by what it opens: a store created with one key opens only with the same key. */
class MasterKeyTest {
    @TempDir Path dir;

    private Key key;
    private Path db;
    private OAuthToken stored;

    @BeforeEach
    void createStore() {
        key = Key.random();
        db = dir.resolve("tokens.db");
        try (TokenVault v = TokenVault.builder().path(db).masterKey(key.masterKey()).open()) {
            stored = saved(v, full("mk"));
        }
    }

    /** Opens the store with {@code k}: returns normally only for the store's key. */
    private void opens(MasterKey k) {
        try (TokenVault v = TokenVault.builder().path(db).masterKey(k).open()) {
            assertEquals(List.of(stored), v.getTokens());
        }
    }

    private void wrongKey(MasterKey k) {
        expect(ErrorCode.WRONG_KEY, () -> TokenVault.builder().path(db).masterKey(k).open());
    }

    private Path keyFile(String name, byte[] content, String perms) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void generateMakesDistinctKeys() {
        MasterKey a = MasterKey.generate();
        MasterKey b = MasterKey.generate();
        Path other = dir.resolve("gen.db");
        try (TokenVault v = TokenVault.builder().path(other).masterKey(a).open()) {
            saved(v, full("g"));
        }
        expect(ErrorCode.WRONG_KEY, () -> TokenVault.builder().path(other).masterKey(b).open());
        try (TokenVault v = TokenVault.builder().path(other).masterKey(a).open()) {
            assertEquals(1, v.getTokens().size());
        }
    }

    @Test
    void fromBytesCopiesItsInput() {
        byte[] input = key.raw().clone();
        MasterKey k = MasterKey.fromBytes(input);
        Arrays.fill(input, (byte) 0);
        opens(k);                                   // the key kept its own copy
        wrongKey(MasterKey.fromBytes(input));       // the zeroed array is another key
        opens(MasterKey.fromBytes(key.raw()));
    }

    @Test
    void fromBytesRejectsWrongLengthsAndNull() {
        for (int n : new int[] {0, 16, 31, 33, 64}) {
            TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromBytes(new byte[n]));
            assertTrue(e.getMessage().contains("32"), e.getMessage());
        }
        expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromBytes(null));
    }

    @Test
    void fromBase64() {
        opens(MasterKey.fromBase64(key.base64()));
        opens(MasterKey.fromBase64("  " + key.base64() + "\n"));
        byte[] other = key.raw().clone();
        other[31] ^= 1;
        wrongKey(MasterKey.fromBase64(Base64.getEncoder().encodeToString(other)));
        String secretish = key.base64().substring(0, 20);
        for (String bad : List.of("", "   ", "not base64!!", key.base64() + "AAAA", key.base64().substring(4),
                Base64.getEncoder().encodeToString(new byte[31]), secretish + "*" + "%")) {
            TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromBase64(bad));
            assertFalse(e.getMessage().contains(secretish), e.getMessage());
        }
        expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromBase64(null));
    }

    @Test
    void fromFileReadsRawBytesOrBase64Text() throws Exception {
        opens(MasterKey.fromFile(keyFile("raw.key", key.raw(), "rw-------")));
        opens(MasterKey.fromFile(keyFile("text.key", (key.base64() + "\n").getBytes(StandardCharsets.US_ASCII),
                "r--------")));
        Path garbage = keyFile("garbage.key", "this is not a key at all".getBytes(StandardCharsets.US_ASCII),
                "rw-------");
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(garbage));
        assertTrue(e.getMessage().contains("garbage.key"), e.getMessage());
        expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(keyFile("short.key", new byte[31], "rw-------")));
        expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(null));
    }

    @Test
    void fromFileRefusesAKeyFileOthersCanRead() throws Exception {
        for (String perms : List.of("rw-r--r--", "rw-r-----", "rw----r--", "rw--w----", "rw-rw-rw-")) {
            Path f = keyFile("open-" + perms.replace('-', '_') + ".key", key.raw(), perms);
            TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(f));
            assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        }
    }

    @Test
    void fromFileOfAMissingFile() {
        Path missing = dir.resolve("missing.key");
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(missing));
        assertTrue(e.getMessage().contains("missing.key"), e.getMessage());
    }

    @Test
    void fromEnvironmentOfAnUnsetVariable() {
        String name = "TOKENVAULT_TEST_SURELY_UNSET_" + System.nanoTime();
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromEnvironment(name));
        assertTrue(e.getMessage().contains(name), e.getMessage());
        expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromEnvironment(null));
    }

    @Test
    void fromEnvironmentInAChildProcess() throws Exception {
        String var = "TOKENVAULT_TEST_MASTER_KEY";
        ChildResult ok = StoreFixtures.runProbe(Map.of(var, key.base64()), "env", var, db.toString());
        assertEquals("OK 1", ok.out());
        String bad = "Zm9vYmFyYmF6LW5vdC1hLWtleQ==";
        ChildResult invalid = StoreFixtures.runProbe(Map.of(var, bad), "env", var, db.toString());
        assertTrue(invalid.out().startsWith("INVALID_ARGUMENT"), invalid.out());
        assertTrue(invalid.out().contains(var), invalid.out());
        assertFalse(invalid.out().contains(bad), invalid.out());
    }

    @Test
    void destroyedKeyCannotOpen() {
        MasterKey k = key.masterKey();
        assertFalse(k.isDestroyed());
        k.destroy();
        assertTrue(k.isDestroyed());
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT,
                () -> TokenVault.builder().path(db).masterKey(k).open());
        assertTrue(e.getMessage().contains("destroyed"), e.getMessage());
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().inMemory().masterKey(k).open());
        k.destroy(); // idempotent
        assertTrue(k.toString().contains("destroyed"), k.toString());
        MasterKey p = MasterKey.fromPassphrase("pass".toCharArray());
        p.destroy();
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().inMemory().masterKey(p).open());
        // destroying a key does not touch the caller's copy of the bytes, nor other keys from the same bytes
        byte[] copy = key.raw().clone();
        MasterKey k2 = MasterKey.fromBytes(copy);
        k2.destroy();
        assertArrayEquals(key.raw(), copy);
        opens(key.masterKey());
    }

    @Test
    void passphraseArguments() {
        expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromPassphrase(null));
        expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromPassphrase(new char[0]));
    }
}
