package dev.tokenvault.bench.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenvault.OAuthToken;
import dev.tokenvault.bench.JdbcServer;
import dev.tokenvault.bench.JdbcStores;
import dev.tokenvault.bench.TokenData;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link StoreContractSmokeTest}'s check on the JDBC stores, on MariaDB and PostgreSQL, each in tables of its own
 * that are dropped afterwards. The servers come from the variables {@code .ci/mariadb.sh start} and
 * {@code .ci/postgres.sh start} print (see {@link JdbcServer}); without them these tests are skipped with a message,
 * except under {@code CI=true}, where they fail.
 */
class JdbcStoreContractSmokeTest {

    /** The server for {@code db}, or a skipped test (a failure under {@code CI=true}) when none is configured. */
    static JdbcServer server(String db) {
        JdbcServer server = JdbcServer.find(db);
        if (server == null) {
            String why = "the JDBC benchmark tests need a " + db + " server: start one with eval \"$(.ci/"
                    + (db.equals(JdbcServer.MARIADB) ? "mariadb" : "postgres") + ".sh start)\"";
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true but " + why);
            }
            System.err.println("*** SKIPPED: " + why);
            Assumptions.abort(why);
        }
        return server;
    }

    static String freshName(String what) {
        return "tvt_" + what + "_" + Long.toHexString(System.nanoTime()).toLowerCase(Locale.ROOT);
    }

    @ParameterizedTest
    @CsvSource({"tuned-jdbc, mariadb", "tuned-jdbc, postgresql", "sdk-dbstore, mariadb", "sdk-dbstore, postgresql",
        "tokenvault-jdbc, mariadb", "tokenvault-jdbc, postgresql", "tokenvault-jdbc-nocache, mariadb",
        "tokenvault-jdbc-nocache, postgresql"})
    void saveFindRefreshDelete(String store, String db) {
        JdbcServer server = server(db);
        String tables = freshName("s");
        try (JdbcStores.Node node = JdbcStores.open(store, server, tables, 2)) { // the smallest pool on PostgreSQL
            StoreContractSmokeTest.check(node.store());
        } finally {
            JdbcStores.dropTables(server, tables);
        }
    }

    /**
     * The SDK design's id rule, as documented in {@link SdkDbStore}: {@code max(id) + 1} over a text column is "9" + 1
     * once ids reach 10, so the eleventh new user gets id 10 again and its upsert overwrites the tenth user's row.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mariadb", "postgresql"})
    void sdkDbStoreIdsRepeatAfterNineAndOverwriteAnotherUser(String db) {
        JdbcServer server = server(db);
        String table = freshName("sdk_ids");
        try (JdbcStores.Node node = JdbcStores.open(JdbcStores.SDK_DBSTORE, server, table, 1)) {
            for (int i = 1; i <= 11; i++) {
                OAuthToken t = TokenData.token(i);
                t.setId(null);
                node.store().saveToken(t);
                assertEquals(Integer.toString(Math.min(i, 10)), t.getId());
            }
            assertEquals(10, node.store().getTokens().size(), "eleven saves of new users, ten rows");
            assertNull(node.store().findToken(OAuthToken.builder().userName(TokenData.userName(10)).build()),
                    "the tenth user's row now holds the eleventh user");
        } finally {
            JdbcStores.dropTables(server, table);
        }
    }
}
