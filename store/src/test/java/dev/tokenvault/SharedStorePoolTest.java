package dev.tokenvault;

import static dev.tokenvault.StoreFixtures.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.tokenvault.engine.jdbc.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A shared store on the smallest pools its database allows (one connection on MariaDB, two on PostgreSQL, where the
 * change feed keeps one listening): concurrent writers, block reservations and scans never wait for a connection that
 * only they could free. A pool smaller than that is refused at open.
 */
class SharedStorePoolTest {
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private String store(TestDatabase db) {
        db.assumeAvailable();
        String prefix = TestDatabase.freshPrefix();
        cleanup.add(() -> db.drop(prefix));
        return prefix;
    }

    private HikariDataSource pool(TestDatabase db, int size) {
        // a deadlock waits for ever: it still fails every call, after this timeout
        HikariDataSource pool = db.pool(db.url(), db.password(), size, 60_000);
        cleanup.add(pool);
        return pool;
    }

    @ParameterizedTest
    @CsvSource({"MARIADB, 1", "MARIADB, 2", "POSTGRESQL, 2"})
    void eightThreadsSaveOnTheSmallestPool(TestDatabase db, int poolSize) throws Exception {
        String prefix = store(db);
        TokenVault vault = TokenVault.builder().dataSource(pool(db, poolSize)).tablePrefix(prefix)
                .masterKey(MasterKey.generate()).open();
        cleanup.add(vault);
        int threads = 8;
        int perThread = 20;
        ExecutorService workers = Executors.newFixedThreadPool(threads);
        try {
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(workers.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        String user = "user-" + thread + "-" + i + "@example.com";
                        vault.saveToken(OAuthToken.builder().userName(user).accessToken("access-" + thread + "-" + i)
                                .refreshToken("refresh-" + thread + "-" + i).build());
                        assertNotNull(vault.findToken(OAuthToken.builder().userName(user).build()), user);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(300, TimeUnit.SECONDS); // a deadlock fails the saves with IO at the pool's timeout
            }
        } finally {
            workers.shutdownNow();
        }
        assertEquals(threads * perThread, vault.getTokens().size());
        assertTrue(vault.verify().isClean(), vault.verify().problems().toString());
    }

    /** More seals in one write than a node reserves ahead: the write runs again after a larger reservation. */
    @ParameterizedTest
    @CsvSource({"MARIADB, 1", "POSTGRESQL, 2"})
    void aListLongerThanTheReservedBlockIsSavedWhole(TestDatabase db, int poolSize) {
        String prefix = store(db);
        TokenVault vault = TokenVault.builder().dataSource(pool(db, poolSize)).tablePrefix(prefix)
                .masterKey(MasterKey.generate()).open();
        cleanup.add(vault);
        vault.saveToken(OAuthToken.builder().userName("first@example.com").accessToken("a-first").build());
        int count = (int) SharedKeys.AHEAD * 3;
        List<OAuthToken> tokens = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            tokens.add(OAuthToken.builder().userName("bulk-" + i + "@example.com").accessToken("a-" + i).build());
        }
        vault.saveTokens(tokens);
        assertEquals(count + 1, vault.getTokens().size());
        assertNotNull(vault.findToken(OAuthToken.builder().userName("bulk-" + (count - 1) + "@example.com").build()));
        assertTrue(vault.verify().isClean(), vault.verify().problems().toString());
    }

    /** On MariaDB one connection serves a node ({@link #eightThreadsSaveOnTheSmallestPool}): nothing is too small. */
    @ParameterizedTest
    @CsvSource({"POSTGRESQL, 1"})
    void aPoolTooSmallForTheDatabaseIsRefusedAtOpen(TestDatabase db, int tooFew) {
        String prefix = store(db);
        TokenStoreException e = expect(ErrorCode.INVALID_ARGUMENT, () -> TokenVault.builder()
                .dataSource(pool(db, tooFew)).tablePrefix(prefix).masterKey(MasterKey.generate()).open());
        assertTrue(e.getMessage().contains("at most 1") && e.getMessage().contains("at least 2"), e.getMessage());
        assertFalse(db.tableExists(prefix + "_records"), "nothing is created by a refused open");
    }
}
