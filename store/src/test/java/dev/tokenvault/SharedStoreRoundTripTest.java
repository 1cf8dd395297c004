package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.jdbc.CountingDataSource;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.util.List;
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
        List<String> insert = counting.trips();
        counting.watch();
        vault.saveToken(OAuthToken.builder().id(t.getId()).accessToken("access-next").build());
        List<String> update = counting.trips();
        // PostgreSQL sends one more: the pg_notify that wakes the other nodes' change feeds
        int notify = db == TestDatabase.POSTGRESQL ? 1 : 0;
        // 1 generation read, 3 locked entry reads (user, access and refresh token), the record insert, the entries'
        // batch, 3 for the change log (its counter locked, the rows' batch, the counter written), the commit
        assertTrue(insert.size() <= 10 + notify, insert.size() + " round trips: " + insert);
        // the record locked once (by id), the generation, 3 entry reads (the record they find is held already), the
        // record update, the old entry's removal, the new entry's insert, the change log and the commit
        assertTrue(update.size() <= 12 + notify, update.size() + " round trips: " + update);
    }
}
