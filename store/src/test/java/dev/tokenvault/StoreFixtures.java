package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenvault.engine.jdbc.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.function.Executable;

/** Shared helpers of the contract suite: store variants, tokens, error assertions, child JVMs. */
final class StoreFixtures {
    private StoreFixtures() {
    }

    /**
     * The store variants every contract rule runs on: embedded (file, memory) and shared (a database server, skipped
     * without one; see {@link TestDatabase}), each with the cache on and off. A shared variant's store is named by the
     * directory: the same directory opens the same store.
     */
    enum Variant {
        FILE_CACHED(true, true, null),
        FILE_UNCACHED(true, false, null),
        MEMORY_CACHED(false, true, null),
        MEMORY_UNCACHED(false, false, null),
        MARIADB_CACHED(false, true, TestDatabase.MARIADB),
        MARIADB_UNCACHED(false, false, TestDatabase.MARIADB),
        POSTGRESQL_CACHED(false, true, TestDatabase.POSTGRESQL),
        POSTGRESQL_UNCACHED(false, false, TestDatabase.POSTGRESQL);

        /** The variants that run in this JVM alone. */
        static final Variant[] EMBEDDED = {FILE_CACHED, FILE_UNCACHED, MEMORY_CACHED, MEMORY_UNCACHED};
        /** The variants on a database server. */
        static final Variant[] SHARED = {MARIADB_CACHED, MARIADB_UNCACHED, POSTGRESQL_CACHED, POSTGRESQL_UNCACHED};

        final boolean file;
        final boolean cached;
        /** The server of a shared variant, else {@code null}. */
        final TestDatabase db;

        Variant(boolean file, boolean cached, TestDatabase db) {
            this.file = file;
            this.cached = cached;
            this.db = db;
        }

        /** Whether what is saved survives a close and a new open of the same directory. */
        boolean persists() {
            return file || db != null;
        }

        TokenVault.Builder builder(Path dir, MasterKey key) {
            TokenVault.Builder b = TokenVault.builder().masterKey(key);
            if (db != null) {
                b = b.dataSource(db.dataSource()).tablePrefix(db.prefixFor(dir));
            } else {
                b = file ? b.path(dir.resolve("tokens.db")) : b.inMemory();
            }
            return cached ? b : b.cacheMaximumSize(0);
        }

        TokenVault open(Path dir, MasterKey key) {
            return builder(dir, key).open();
        }

        TokenVault open(Path dir) {
            return open(dir, MasterKey.generate());
        }
    }

    /** Asserts that {@code call} throws a {@link TokenStoreException} with {@code code}, and returns it. */
    static TokenStoreException expect(ErrorCode code, Executable call) {
        TokenStoreException e = assertThrows(TokenStoreException.class, call);
        assertEquals(code, e.code(), () -> "wrong code; message: " + e.getMessage());
        return e;
    }

    /** A token with every field set, every value carrying {@code tag}. */
    static OAuthToken full(String tag) {
        return OAuthToken.builder()
                .userName("user-" + tag + "@example.com")
                .clientId("client-" + tag)
                .clientSecret("secret-" + tag)
                .refreshToken("refresh-" + tag)
                .accessToken("access-" + tag)
                .grantToken("grant-" + tag)
                .expiryTime("17000000000" + Math.abs(tag.hashCode() % 100))
                .redirectUrl("https://app.example.com/cb/" + tag)
                .apiDomain("https://www.zohoapis.com/" + tag)
                .build();
    }

    /** Saves a copy of {@code t} and returns the saved copy (which carries the merged record and its id). */
    static OAuthToken saved(TokenStore store, OAuthToken t) {
        OAuthToken c = t.copy();
        store.saveToken(c);
        return c;
    }

    /** Every record, sorted by id: compare before and after a call that must change nothing. */
    static List<OAuthToken> snapshot(TokenStore store) {
        List<OAuthToken> all = new ArrayList<>(store.getTokens());
        all.sort(Comparator.comparing(OAuthToken::getId));
        return all;
    }

    static OAuthToken q() {
        return new OAuthToken();
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** A clock the test moves by hand. */
    static final class MutableClock extends Clock {
        private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);

        void advance(Duration d) {
            millis.addAndGet(d.toMillis());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public long millis() {
            return millis.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }
    }

    /** The result of a child JVM: exit code and its trimmed standard output. */
    record ChildResult(int exit, String out) { }

    /** Runs {@link Probe} in a new JVM on the test class path, with extra environment variables. */
    static ChildResult runProbe(Map<String, String> env, String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(Probe.class, args)).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish");
        }
        return new ChildResult(p.exitValue(), utf8(out).trim());
    }

    /**
     * Main class of the child JVMs. Prints one line: {@code OK <records>} or the error code.
     * <ul>
     *   <li>{@code open <path> <base64 key>}: opens the store with that key</li>
     *   <li>{@code env <variable> <path>}: opens the store with {@code MasterKey.fromEnvironment(variable)}</li>
     *   <li>{@code read <path> <base64 key>}: opens the store read-only with that key</li>
     * </ul>
     */
    static final class Probe {
        public static void main(String[] args) {
            try {
                MasterKey key = args[0].equals("env") ? MasterKey.fromEnvironment(args[1])
                        : MasterKey.fromBase64(args[2]);
                Path path = Path.of(args[0].equals("env") ? args[2] : args[1]);
                TokenVault.Builder builder = TokenVault.builder().path(path).masterKey(key);
                try (TokenVault v = (args[0].equals("read") ? builder.readOnly() : builder).open()) {
                    System.out.println("OK " + v.getTokens().size());
                }
            } catch (TokenStoreException e) {
                System.out.println(e.code() + " " + e.getMessage());
            }
            System.out.flush();
        }
    }

    /** A raw key and its base64 text, for child processes. */
    record Key(byte[] raw) {
        MasterKey masterKey() {
            return MasterKey.fromBytes(raw);
        }

        String base64() {
            return Base64.getEncoder().encodeToString(raw);
        }

        static Key random() {
            byte[] b = new byte[32];
            new java.security.SecureRandom().nextBytes(b);
            return new Key(b);
        }
    }
}
