package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No secret (token, client secret, user name, key) reaches the store's files, a message or a toString. */
class SecretsOnDiskTest {
    @TempDir Path dir;

    /** Distinctive values: long enough that a chance match in ciphertext is impossible. */
    private static List<OAuthToken> tokens() {
        List<OAuthToken> list = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            list.add(OAuthToken.builder()
                    .userName("Distinct-User-Name-" + i + "@secret-domain.example")
                    .clientId("Client-Id-" + i + "-plainvisible")
                    .clientSecret("ClientSecret-QxZ7-" + i + "-wvutsrqp")
                    .refreshToken("1000.RefreshTok3n-" + i + ".abcdef0123456789")
                    .accessToken("1000.AccessTok3n-" + i + ".fedcba9876543210")
                    .grantToken("1000.GrantTok3n-" + i + ".0123456789abcdef")
                    .expiryTime("1700000000000")
                    .redirectUrl("https://redirect.example/cb")
                    .apiDomain("https://www.zohoapis.eu")
                    .build());
        }
        return list;
    }

    private static List<String> secretsOf(OAuthToken t) {
        List<String> s = new ArrayList<>();
        for (String v : new String[] {t.getUserName(), t.getClientSecret(), t.getRefreshToken(),
                t.getAccessToken(), t.getGrantToken()}) {
            if (v != null) {
                s.add(v);
            }
        }
        return s;
    }

    @Test
    void noSecretAppearsInAnyFileOfTheStore() throws IOException {
        MasterKey key = MasterKey.fromBytes(fixedKeyBytes());
        Path db = dir.resolve("tokens.db");
        List<String> secrets = new ArrayList<>();
        try (TokenVault v = TokenVault.builder().path(db).masterKey(key).open()) {
            for (OAuthToken t : tokens()) {
                v.saveToken(t);
                secrets.addAll(secretsOf(t));
            }
            // refreshes: old and new access tokens both must stay off the disk
            for (int i = 0; i < 3; i++) {
                String at = "1000.RefreshedAccess-" + i + ".99887766554433";
                v.saveToken(OAuthToken.builder().userName("Distinct-User-Name-" + i + "@secret-domain.example")
                        .accessToken(at).build());
                secrets.add(at);
            }
            v.rotateDataKey();
            v.saveToken(OAuthToken.builder().userName("After-Rotation-User@secret-domain.example")
                    .refreshToken("1000.AfterRotationRefresh.55555555").build());
            secrets.add("After-Rotation-User@secret-domain.example");
            secrets.add("1000.AfterRotationRefresh.55555555");
            v.deleteToken(v.findToken(OAuthToken.builder().userName("Distinct-User-Name-5@secret-domain.example")
                    .build()).getId());
            // while open too: the redo log and the main file as they are now
            assertNoSecretIn(secrets, key);
        }
        List<Path> files = assertNoSecretIn(secrets, key);
        assertTrue(files.contains(db), files.toString());
        // the scan works: the store header's magic, which is not secret, is found
        assertTrue(contains(Files.readAllBytes(db), "TVLT".getBytes(StandardCharsets.US_ASCII)));
        // not even non-secret fields: the whole record is sealed
        assertFalse(contains(readAll(files), "Client-Id-0-plainvisible".getBytes(StandardCharsets.UTF_8)),
                "client ids are sealed with the record");
        // and the store really holds the records
        try (TokenVault v = TokenVault.builder().path(db).masterKey(MasterKey.fromBytes(fixedKeyBytes())).open()) {
            assertEquals(6, v.getTokens().size());
        }
    }

    @Test
    void aPassphraseIsNotStoredEither() throws IOException {
        Path db = dir.resolve("pass.db");
        String pass = "Passphrase-Never-On-Disk-8841";
        try (TokenVault v = TokenVault.builder().path(db).masterKey(MasterKey.fromPassphrase(pass.toCharArray()))
                .open()) {
            v.saveToken(OAuthToken.builder().accessToken("1000.PassphraseStoreAccess.123456789").build());
        }
        byte[] all = readAll(listFiles());
        assertFalse(contains(all, pass.getBytes(StandardCharsets.UTF_8)));
        assertFalse(contains(all, pass.getBytes(StandardCharsets.UTF_16LE)));
        assertFalse(contains(all, "1000.PassphraseStoreAccess.123456789".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void toStringsAndMessagesHoldNoSecret() {
        OAuthToken t = tokens().get(0);
        String s = t.toString();
        for (String secret : List.of(t.getClientSecret(), t.getRefreshToken(), t.getAccessToken(),
                t.getGrantToken())) {
            assertFalse(s.contains(secret), s);
        }
        assertFalse(s.contains(t.getUserName()), s); // personal data, never written in the clear
        assertTrue(s.contains(t.getClientId()), s); // not a secret: it names the OAuth application
        assertTrue(s.contains("userName=***"), s);
        assertTrue(OAuthToken.builder().build().toString().contains("userName=null"));

        try (TokenVault v = TokenVault.builder().inMemory().masterKey(MasterKey.generate()).open()) {
            OAuthToken a = tokens().get(0);
            OAuthToken b = tokens().get(1);
            v.saveToken(a);
            v.saveToken(b);
            // CONFLICT on each secret field: the message names the field, never the value
            String[] fields = {"accessToken", "refreshToken", "grantToken", "userName"};
            OAuthToken[] bad = {
                OAuthToken.builder().id(b.getId()).accessToken(a.getAccessToken()).build(),
                OAuthToken.builder().id(b.getId()).refreshToken(a.getRefreshToken()).build(),
                OAuthToken.builder().id(b.getId()).grantToken(a.getGrantToken()).build(),
                OAuthToken.builder().id(b.getId()).userName(a.getUserName()).build(),
            };
            for (int i = 0; i < bad.length; i++) {
                OAuthToken attempt = bad[i];
                TokenStoreException e = expect(ErrorCode.CONFLICT, () -> v.saveToken(attempt));
                String m = e.getMessage() + " " + e;
                assertTrue(m.contains(fields[i]), m);
                for (String secret : secretsOf(a)) {
                    assertFalse(m.contains(secret), m);
                }
                for (String secret : secretsOf(b)) {
                    assertFalse(m.contains(secret), m);
                }
            }
            assertFalse(v.toString().contains(a.getAccessToken()));
            assertFalse(v.stats().toString().contains(a.getAccessToken()));
        }

        byte[] raw = fixedKeyBytes();
        MasterKey k = MasterKey.fromBytes(raw);
        String ks = k.toString();
        assertFalse(ks.contains(Base64.getEncoder().encodeToString(raw)), ks);
        assertFalse(ks.contains(java.util.HexFormat.of().formatHex(raw)), ks);
        assertFalse(ks.contains(java.util.Arrays.toString(raw)), ks);
        MasterKey p = MasterKey.fromPassphrase("Hunter2-Passphrase".toCharArray());
        assertFalse(p.toString().contains("Hunter2"), p.toString());
    }

    /** The cache's key holds the looked-up value, which may be a token: its toString must not print it. */
    @Test
    void theCacheKeyDoesNotPrintTheValue() throws Exception {
        Class<?> type = Class.forName("dev.tokenvault.LookupCache$LookupKey");
        java.lang.reflect.Constructor<?> make = type.getDeclaredConstructor(Field.class, String.class);
        make.setAccessible(true);
        String s = make.newInstance(Field.ACCESS_TOKEN, "1000.secret-access-token").toString();
        assertFalse(s.contains("secret-access-token"), s);
        assertTrue(s.contains("ACCESS_TOKEN"), s);
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] fixedKeyBytes() {
        byte[] b = new byte[32];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (0xA0 + i);
        }
        return b;
    }

    /** Reads every file now in the directory and asserts that no secret, nor the key, is in any of them. */
    private List<Path> assertNoSecretIn(List<String> secrets, MasterKey key) throws IOException {
        List<Path> files = listFiles();
        assertFalse(files.isEmpty());
        for (Path f : files) {
            byte[] content = Files.readAllBytes(f);
            for (String secret : secrets) {
                assertFalse(contains(content, secret.getBytes(StandardCharsets.UTF_8)),
                        () -> f.getFileName() + " holds a secret in UTF-8");
                assertFalse(contains(content, secret.getBytes(StandardCharsets.UTF_16BE)),
                        () -> f.getFileName() + " holds a secret in UTF-16");
                // a distinctive part of it, in case values are stored split or re-encoded
                String part = secret.substring(0, Math.min(14, secret.length()));
                assertFalse(contains(content, part.getBytes(StandardCharsets.UTF_8)),
                        () -> f.getFileName() + " holds part of a secret");
            }
            assertFalse(contains(content, fixedKeyBytes()), () -> f.getFileName() + " holds the master key");
        }
        return files;
    }

    private List<Path> listFiles() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static byte[] readAll(List<Path> files) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (Path f : files) {
            out.write(Files.readAllBytes(f));
            out.write(0);
        }
        return out.toByteArray();
    }

    static boolean contains(byte[] haystack, byte[] needle) {
        // ISO-8859-1 maps every byte to one char: String.indexOf is a byte search
        return new String(haystack, StandardCharsets.ISO_8859_1)
                .contains(new String(needle, StandardCharsets.ISO_8859_1));
    }
}
