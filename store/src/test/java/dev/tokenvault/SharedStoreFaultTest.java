package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static dev.tokenvault.StoreFixtures.full;
import static dev.tokenvault.StoreFixtures.saved;
import static dev.tokenvault.StoreFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.tokenvault.engine.jdbc.DelegatingDataSource;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A shared store's bad input and faults: settings, logins, servers that are down, killed connections, foreign tables. */
class SharedStoreFaultTest {
    private final List<Runnable> cleanup = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        cleanup.forEach(Runnable::run);
    }

    private String store(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        return prefix;
    }

    @Test
    void settingsThatDoNotFitAreRefusedNamingTheRule() {
        DataSource ds = new NoDataSource();
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().tablePrefix("Tokens"));
        assertEquals("tablePrefix must match [a-z][a-z0-9_]{0,29}", e.getMessage());
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().tablePrefix("a234567890123456789012345678901"));
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().tablePrefix("t; drop table x"));
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().tablePrefix(null));
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().dataSource(null));
        e = expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().dataSource(ds).path(Path.of("x.db"))
                .masterKey(MasterKey.generate()).open());
        assertEquals("set either dataSource, path or inMemory, not more than one", e.getMessage());
        expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().dataSource(ds).inMemory()
                .masterKey(MasterKey.generate()).open());
        e = expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder().inMemory().tablePrefix("tokens")
                .masterKey(MasterKey.generate()).open());
        assertTrue(e.getMessage().startsWith("tablePrefix needs a dataSource"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void readOnlyAndCreateIfMissingFalseDoNotCreateAStore(TestDatabase db) {
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        TokenStoreException e = expect(ErrorCode.NOT_FOUND, () -> TokenVault.builder().dataSource(db.dataSource())
                .tablePrefix(prefix).masterKey(key).createIfMissing(false).open());
        assertTrue(e.getMessage().contains("no shared store " + prefix), e.getMessage());
        expect(ErrorCode.NOT_FOUND, () -> TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix)
                .masterKey(key).readOnly().open());
        for (String table : new String[] {"_records", "_index", "_meta", "_changes"}) {
            assertFalse(db.tableExists(prefix + table), prefix + table + " was created");
        }
        try (TokenVault v = TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key)
                .open()) {
            saved(v, full("a"));
        }
        try (TokenVault v = TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key)
                .readOnly().open()) {
            assertEquals(1, v.getTokens().size());
            expect(ErrorCode.READ_ONLY, () -> v.saveToken(full("b")));
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aWrongDatabasePasswordIsIoWithoutThePassword(TestDatabase db) {
        db.assumeAvailable();
        String password = "wrong-password-" + TestDatabase.freshPrefix();
        try (HikariDataSource ds = db.pool(db.url(), password, 1)) {
            TokenStoreException e = expect(ErrorCode.IO, () -> TokenVault.builder().dataSource(ds)
                    .tablePrefix(TestDatabase.freshPrefix()).masterKey(MasterKey.generate()).open());
            assertFalse(e.getMessage().contains(password), e.getMessage());
            assertTrue(e.getMessage().contains("refused the login"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aDatabaseThatIsDownAtOpenIsIo(TestDatabase db) {
        db.assumeAvailable();
        // port 9 (discard) has no database server listening on a test machine
        String down = db.url().replaceFirst("//[^/]+/", "//127.0.0.1:9/");
        try (HikariDataSource ds = db.pool(down, db.password(), 1)) {
            TokenStoreException e = expect(ErrorCode.IO, () -> TokenVault.builder().dataSource(ds)
                    .masterKey(MasterKey.generate()).open());
            assertTrue(e.getMessage().contains("shared store tokenvault")
                    && e.getMessage().contains("cannot be reached"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aTableOfAnotherLayoutIsUnsupportedFormatAndNothingIsCreatedBesideIt(TestDatabase db) {
        String prefix = store(db);
        db.execute("CREATE TABLE " + prefix + "_records (id INT PRIMARY KEY, name VARCHAR(50))");
        db.execute("INSERT INTO " + prefix + "_records (id, name) VALUES (1, 'theirs')");
        TokenStoreException e = expect(ErrorCode.UNSUPPORTED_FORMAT, () -> TokenVault.builder()
                .dataSource(db.dataSource()).tablePrefix(prefix).masterKey(MasterKey.generate()).open());
        assertTrue(e.getMessage().contains(prefix + "_records"), e.getMessage());
        assertEquals(1, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_records WHERE name = 'theirs'"));
        assertFalse(tableExists(db, prefix + "_meta"), "nothing was created beside the foreign table");
    }

    /**
     * Tables with the right columns and no primary keys (a DBA's edit of the schema files, say): uniqueness across
     * nodes rests on those keys, so they are no store's. Before, MariaDB opened them and took two records for one user
     * name; PostgreSQL failed with IO on its first insert.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void tablesWithoutTheirPrimaryKeysAreUnsupportedFormat(TestDatabase db) {
        String prefix = store(db);
        for (String statement : db.schemaStatements(prefix)) {
            db.execute(statement.replaceAll(",\\s*PRIMARY KEY \\([^)]*\\)", ""));
        }
        TokenStoreException e = expect(ErrorCode.UNSUPPORTED_FORMAT, () -> TokenVault.builder()
                .dataSource(db.dataSource()).tablePrefix(prefix).masterKey(MasterKey.generate()).open());
        assertTrue(e.getMessage().contains("primary key"), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aSecondStoreWithAnotherKeyInTheSameTablesIsWrongKeyAndWritesNothing(TestDatabase db) {
        String prefix = store(db);
        TokenVault.Builder first = TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix)
                .masterKey(MasterKey.generate());
        try (TokenVault v = first.open()) {
            saved(v, full("a"));
        }
        String meta = metaRows(db, prefix);
        expect(ErrorCode.WRONG_KEY, () -> TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix)
                .masterKey(MasterKey.generate()).open());
        assertEquals(meta, metaRows(db, prefix), "the metadata is unchanged");
        assertEquals(1, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_records"));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aConnectionKilledMidSaveIsIoAndNothingIsHalfApplied(TestDatabase db) {
        String prefix = store(db);
        MasterKey key = MasterKey.generate();
        ConnectionKiller killer = new ConnectionKiller(db);
        boolean[] armed = {false};
        TokenVault.Builder builder = TokenVault.builder().dataSource(killer).tablePrefix(prefix).masterKey(key)
                .engineWrapper(engine -> EngineProxy.of(engine, (method, args, proceed) -> {
                    Object result = proceed.with(args);
                    if (armed[0] && method.getName().equals("stage")) {
                        armed[0] = false;
                        killer.killLastConnectionOfThisThread(); // staged, not committed
                    }
                    return result;
                }));
        try (TokenVault v = builder.open()) {
            OAuthToken kept = saved(v, full("kept"));
            List<OAuthToken> before = snapshot(v);
            armed[0] = true;
            TokenStoreException e = expect(ErrorCode.IO, () -> v.saveTokens(List.of(full("lost1"), full("lost2"))));
            assertTrue(e.getMessage().contains("lost") || e.getMessage().contains("failed"), e.getMessage());
            assertEquals(before, snapshot(v));
            armed[0] = true;
            expect(ErrorCode.IO, () -> v.saveToken(OAuthToken.builder().id(kept.getId()).accessToken("new").build()));
            assertEquals(before, snapshot(v));
            assertTrue(v.verify().isClean(), v.verify().problems().toString());
            // the vault goes on with a new connection
            OAuthToken after = saved(v, full("after"));
            assertEquals(after.getAccessToken(), v.findTokenById(after.getId()).getAccessToken());
        }
        try (TokenVault v = TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key)
                .open()) {
            assertEquals(2, v.getTokens().size());
            assertTrue(v.verify().isClean());
        }
        assertEquals(0, db.queryLong("SELECT COUNT(*) FROM " + prefix + "_index i WHERE NOT EXISTS (SELECT 1 FROM "
                + prefix + "_records r WHERE r.id = i.record_id)"), "no index entry without its record");
    }

    private static boolean tableExists(TestDatabase db, String table) {
        try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM " + table + " WHERE 1 = 0")) {
            return true;
        } catch (SQLException e) {
            return false;
        }
    }

    private static String metaRows(TestDatabase db, String prefix) {
        StringBuilder out = new StringBuilder();
        try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT name, value FROM " + prefix + "_meta ORDER BY name")) {
            while (rs.next()) {
                out.append(rs.getString(1)).append('=').append(java.util.HexFormat.of().formatHex(rs.getBytes(2)))
                        .append('\n');
            }
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
        return out.toString();
    }

    /**
     * The test server's pool, remembering the server-side id of the connection each thread took last, so that a test
     * can kill it from another connection ({@code KILL} on MariaDB, {@code pg_terminate_backend} on PostgreSQL).
     */
    static final class ConnectionKiller extends NoDataSource {
        private final TestDatabase db;
        private final ThreadLocal<Long> last = new ThreadLocal<>();

        ConnectionKiller(TestDatabase db) {
            this.db = db;
        }

        @Override
        public Connection getConnection() throws SQLException {
            Connection c = db.dataSource().getConnection();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    db == TestDatabase.MARIADB ? "SELECT CONNECTION_ID()" : "SELECT pg_backend_pid()")) {
                rs.next();
                last.set(rs.getLong(1));
            }
            return c;
        }

        void killLastConnectionOfThisThread() {
            long id = last.get();
            db.execute(db == TestDatabase.MARIADB ? "KILL " + id : "SELECT pg_terminate_backend(" + id + ")");
        }
    }

    /** A data source that has no database: for settings that fail before any connection. */
    static class NoDataSource extends DelegatingDataSource {
        NoDataSource() {
            super(null);
        }

        @Override
        public Connection getConnection() throws SQLException {
            throw new SQLException("no database");
        }
    }
}
