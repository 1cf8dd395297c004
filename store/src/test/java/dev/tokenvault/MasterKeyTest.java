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

    /**
     * SECURITY.md: the key file must have no permission at all for group or others, not only no read: each of the six
     * bits alone (execute and write included) is refused, and mode 600 or 400 with the owner's execute bit is read.
     */
    @Test
    void fromFileRefusesEachGroupOrOthersBitAlone() throws Exception {
        for (String perms : List.of("rw-r-----", "rw--w----", "rw---x---", "rw----r--", "rw-----w-", "rw------x")) {
            Path f = keyFile("bit-" + perms.replace('-', '_') + ".key", key.raw(), perms);
            TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(f));
            assertTrue(e.getMessage().contains("chmod 600"), perms + ": " + e.getMessage());
        }
        opens(MasterKey.fromFile(keyFile("owner-x.key", key.raw(), "rwx------")));
        opens(MasterKey.fromFile(keyFile("owner-r.key", key.raw(), "r--------")));
    }

    /** A 32-character typed password is not a 256-bit key: refused, naming the file and keygen, not the text. */
    @Test
    void fromFileRefusesThirtyTwoPrintableCharacters() throws Exception {
        for (String typed : List.of("correct horse battery staple 123", "0123456789abcdef0123456789abcde\n")) {
            byte[] content = typed.getBytes(StandardCharsets.US_ASCII);
            assertEquals(32, content.length);
            Path f = keyFile("typed-" + typed.length() + ".key", content, "rw-------");
            TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(f));
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("keygen"), e.getMessage());
            assertTrue(e.getMessage().contains("base64"), e.getMessage());
            assertFalse(e.getMessage().contains(typed.strip()), e.getMessage());
        }
    }

    /** Only a regular file of at most 1 KiB is read; a link is resolved once and its target checked. */
    @Test
    void fromFileReadsOnlyASmallRegularFileAndChecksALinksTarget() throws Exception {
        Path folder = Files.createDirectory(dir.resolve("folder.key"));
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(folder));
        assertTrue(e.getMessage().contains("regular file"), e.getMessage());

        byte[] big = new byte[MasterKey.MAX_KEY_FILE_BYTES + 1];
        Arrays.fill(big, (byte) 'A');
        Path large = keyFile("large.key", big, "rw-------");
        e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(large));
        assertTrue(e.getMessage().contains("at most"), e.getMessage());

        Path target = keyFile("target.key", (key.base64() + "\n").getBytes(StandardCharsets.US_ASCII), "rw-------");
        Path link = Files.createSymbolicLink(dir.resolve("link.key"), target);
        opens(MasterKey.fromFile(link));
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(link));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    }

    /**
     * A key file another user owns could hold a key that user chose: refused even with mode 600. Changing a file's
     * owner needs root, so this runs only as root.
     */
    @Test
    void fromFileRefusesAKeyFileOwnedByAnotherUser() throws Exception {
        Path f = keyFile("theirs.key", (key.base64() + "\n").getBytes(StandardCharsets.US_ASCII), "rw-------");
        java.nio.file.attribute.UserPrincipal nobody;
        try {
            nobody = f.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
            Files.setOwner(f, nobody);
        } catch (java.io.IOException notRoot) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false,
                    "skipped: changing a file's owner needs root (" + notRoot + ")");
            return;
        }
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromFile(f));
        assertTrue(e.getMessage().contains("owned by"), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    /** Strict encoding: an unpaired surrogate is refused instead of becoming '?'; the message never echoes it. */
    @Test
    void aPassphraseThatIsNotValidUnicodeIsRefused() {
        for (String bad : List.of("x\uD800", "\uDC00x", "ab\uDBFF")) {
            TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> MasterKey.fromPassphrase(bad.toCharArray()));
            assertTrue(e.getMessage().contains("passphrase"), e.getMessage());
            assertFalse(e.getMessage().contains(bad), e.getMessage());
        }
        MasterKey.fromPassphrase("x?".toCharArray()); // what a lenient encoder turned "x\uD800" into: fine itself
    }

    /** NFC: "café" typed composed or decomposed is the same passphrase and opens the same store. */
    @Test
    void composedAndDecomposedPassphrasesOpenTheSameStore() {
        Path p = dir.resolve("nfc.db");
        OAuthToken t;
        try (TokenVault v = TokenVault.builder().path(p).masterKey(MasterKey.fromPassphrase("caf\u00e9 cr\u00e8me".toCharArray()))
                .open()) {
            t = saved(v, full("nfc"));
        }
        try (TokenVault v = TokenVault.builder().path(p)
                .masterKey(MasterKey.fromPassphrase("cafe\u0301 cre\u0300me".toCharArray())).open()) {
            assertEquals(t, v.findTokenById(t.getId()));
        }
        expect(ErrorCode.WRONG_KEY, () -> TokenVault.builder().path(p)
                .masterKey(MasterKey.fromPassphrase("cafe cr\u00e8me".toCharArray())).open());
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
