package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.tokenvault.engine.jdbc.CountingDataSource;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The statements a shared store's calls cost, counted on the caller's thread by a wrapping data source, so that a
 * change that adds round trips to a lookup or a save fails here. The bounds are the figures of this engine: a cache-off
 * lookup is one statement; a save decides on locked reads of the record's index entries, then writes with batches.
 */
class SharedStoreRoundTripTest {
    private TokenVault vault;
    private Runnable drop = () -> { };

    @AfterEach
    void close() {
        if (vault != null) {
            vault.close();
        }
        drop.run();
    }

    private CountingDataSource open(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        drop = () -> db.drop(prefix);
        CountingDataSource counting = new CountingDataSource(db.dataSource());
        vault = TokenVault.builder().dataSource(counting).tablePrefix(prefix).masterKey(MasterKey.generate())
                .cacheMaximumSize(0).open();
        return counting;
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aCacheOffLookupIsOneStatement(TestDatabase db) {
        CountingDataSource counting = open(db);
        vault.saveToken(OAuthToken.builder().userName("one@example.com").accessToken("access-1").build());
        for (Field f : new Field[] {Field.USER_NAME, Field.ACCESS_TOKEN}) {
            counting.watch();
            OAuthToken found = vault.findToken(f == Field.USER_NAME
                    ? OAuthToken.builder().userName("one@example.com").build()
                    : OAuthToken.builder().accessToken("access-1").build());
            assertNotNull(found);
            assertEquals(1, counting.trips().size(), counting.trips().toString());
        }
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aSaveTakesAFewStatements(TestDatabase db) {
        CountingDataSource counting = open(db);
        vault.saveToken(OAuthToken.builder().userName("warm@example.com").accessToken("warm").build());
        counting.watch();
        OAuthToken t = OAuthToken.builder().userName("new@example.com").accessToken("access-new")
                .refreshToken("refresh-new").build();
        vault.saveToken(t);
        List<String> insert = statements(counting.trips());
        counting.watch();
        vault.saveToken(OAuthToken.builder().id(t.getId()).accessToken("access-next").build());
        List<String> update = statements(counting.trips());
        // MariaDB's default isolation is REPEATABLE READ: each write sends SET TRANSACTION ISOLATION LEVEL READ
        // COMMITTED (PostgreSQL's default is READ COMMITTED already). The change log takes one statement on
        // PostgreSQL (counter and rows) and two on MariaDB (the counter, then the rows).
        int mariaDb = db == TestDatabase.MARIADB ? 2 : 0;
        // 1 generation read, 3 locked entry reads (user, access and refresh token), the record insert, the entries'
        // batch, the change log, the commit
        assertTrue(insert.size() <= 8 + mariaDb, insert.size() + " round trips: " + insert);
        // a refresh: the record locked with the generation read beside it, the new access token's entry read (the
        // user name and refresh token are the record's own: no read), the record update, the entry moved to the new
        // value, the change log, the commit; on PostgreSQL the update, the move and the change log are one round trip
        int refresh = db == TestDatabase.MARIADB ? 6 + mariaDb : 4;
        assertTrue(update.size() <= refresh, update.size() + " round trips: " + update);
        // the other nodes are woken after the commit, by the notifier's thread: a NOTIFY in the transaction would
        // hold PostgreSQL's notification lock through the commit's flush
        assertTrue(Stream.concat(insert.stream(), update.stream()).noneMatch(s -> s.contains("pg_notify")),
                "a save notified inside its transaction: " + update);
    }

    /** The statements among {@code trips}, without the isolation calls (counted in the test below). */
    private static List<String> statements(List<String> trips) {
        return trips.stream().filter(t -> !t.startsWith(CountingDataSource.ISOLATION)).toList();
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void theIsolationIsAskedOncePerConnectionAndNeverSetOnTheSession(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        drop = () -> db.drop(prefix);
        try (HikariDataSource pool = db.pool(db.url(), db.password(), 3)) {
            CountingDataSource counting = new CountingDataSource(pool);
            try (TokenVault v = TokenVault.builder().dataSource(counting).tablePrefix(prefix)
                    .masterKey(MasterKey.generate()).cacheMaximumSize(0).open()) {
                counting.watch();
                for (int i = 0; i < 30; i++) {
                    v.saveToken(OAuthToken.builder().userName("u" + i + "@example.com").accessToken("a" + i).build());
                }
                List<String> calls = counting.trips().stream()
                        .filter(t -> t.startsWith(CountingDataSource.ISOLATION)).toList();
                // at most one question per pooled connection (3), against one per write (30) before; and the session
                // is left as the pool configured it, so the pool has nothing to reset when a connection comes back
                assertTrue(calls.size() <= 3, calls.toString());
                assertTrue(calls.stream().noneMatch(t -> t.endsWith("setTransactionIsolation")), calls.toString());
            }
        }
    }
}
