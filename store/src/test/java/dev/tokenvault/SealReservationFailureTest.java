package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.jdbc.DelegatingDataSource;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * On a shared store each node reserves blocks of seals in the store before it seals (SECURITY.md, "Seal limits"), so
 * that the stored count stays an upper bound of the seals made under each data key version. A reservation whose
 * transaction fails was never counted: the node must not seal under it. Before, it did, and another node then reserved
 * the same numbers: with a limit of 100, a version held 200 records.
 */
class SealReservationFailureTest {
    private static final long LIMIT = 100;

    /** A data source whose next commit fails as a lost connection does, once armed. */
    private static DelegatingDataSource failingNextCommit(TestDatabase db, AtomicBoolean armed) {
        return new DelegatingDataSource(db.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, (proxy, method, args) -> {
                            if (method.getName().equals("commit") && armed.compareAndSet(true, false)) {
                                throw new SQLTransientConnectionException("injected: connection lost", "08006");
                            }
                            try {
                                return method.invoke(c, args);
                            } catch (InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
            }
        };
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aReservationWhoseCommitFailedIsNeverSealedUnder(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        AtomicBoolean failNextCommit = new AtomicBoolean();
        MasterKey key = MasterKey.generate();
        try (TokenVault a = TokenVault.builder().dataSource(failingNextCommit(db, failNextCommit)).tablePrefix(prefix)
                .masterKey(key).sealLimit(LIMIT).open();
             TokenVault b = TokenVault.builder().dataSource(db.dataSource()).tablePrefix(prefix).masterKey(key)
                .sealLimit(LIMIT).open()) {
            failNextCommit.set(true); // node a's next commit is the reservation its write makes first
            try {
                a.saveTokens(tokens("a"));
            } catch (TokenStoreException e) {
                assertEquals(ErrorCode.IO, e.code(), e.getMessage()); // no seals to write with: nothing saved
                a.saveTokens(tokens("a"));
            }
            b.saveTokens(tokens("b"));
            VaultStats s = b.stats();
            assertEquals(2 * LIMIT, s.records());
            s.recordsPerKeyVersion().forEach((v, n) -> {
                assertTrue(n <= LIMIT, "version " + v + " sealed " + n + " records, its limit is " + LIMIT);
                assertTrue(n <= s.sealsPerKeyVersion().getOrDefault(v, 0L),
                        "version " + v + ": the stored count is below the seals made");
            });
        } finally {
            db.drop(prefix);
        }
    }

    private static List<OAuthToken> tokens(String tag) {
        List<OAuthToken> out = new ArrayList<>();
        for (int i = 0; i < LIMIT; i++) {
            out.add(StoreFixtures.full(tag + i));
        }
        return out;
    }
}
