package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Failures at open and under a held lock say what happened: a look at whether the store's tables exist that fails (a
 * lost connection, a missing privilege) is {@code IO}, not "no store" ({@code NOT_FOUND}); a lock wait that timed out
 * behind a session that holds the rows is {@code IO}, not another node's collision ({@code RETRY}), which the vault
 * would run five times over and then call a {@code CONFLICT}.
 */
class JdbcFailureKindTest {
    private TestDatabase db;
    private String prefix;

    @AfterEach
    void drop() {
        if (prefix != null) {
            db.drop(prefix);
        }
    }

    private String fresh(TestDatabase d) {
        d.assumeAvailable();
        db = d;
        prefix = TestDatabase.freshPrefix();
        return prefix;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The store exists, and the look at its tables fails. */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aFailingExistenceProbeIsIoNotNotFound(TestDatabase d) {
        String p = fresh(d);
        JdbcEngine.open(d.dataSource(), p).close(); // the store exists
        DataSource failing = new DelegatingDataSource(d.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection real = super.getConnection();
                return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(),
                        new Class<?>[] {Connection.class}, (proxy, m, args) -> {
                            if (m.getName().equals("createStatement")) {
                                throw new SQLException("connection reset", "08S01");
                            }
                            try {
                                return m.invoke(real, args);
                            } catch (InvocationTargetException x) {
                                throw x.getCause();
                            }
                        });
            }
        };
        EngineException e = assertThrows(EngineException.class, () -> JdbcEngine.open(failing, p, false).close());
        assertEquals(EngineException.Kind.IO, e.kind(), e.getMessage());
    }

    /** MariaDB: a lock wait timeout (1205, SQLSTATE HY000), behind a session that holds the rows it reads. */
    @org.junit.jupiter.api.Test
    void aLockWaitTimeoutIsNotACollision() throws SQLException {
        String p = fresh(TestDatabase.MARIADB);
        try (com.zaxxer.hikari.HikariDataSource pool = db.pool(db.url(), db.password(), 4)) {
            DataSource shortWaits = new DelegatingDataSource(pool) {
                @Override
                public Connection getConnection() throws SQLException {
                    Connection c = super.getConnection();
                    try (Statement st = c.createStatement()) {
                        st.execute("SET SESSION innodb_lock_wait_timeout = 1");
                    }
                    return c;
                }
            };
            try (JdbcEngine e = JdbcEngine.open(shortWaits, p);
                 Connection other = pool.getConnection(); Statement st = other.createStatement()) {
                e.commit(new Batch().putRecord("x", b("sx")));
                other.setAutoCommit(false);
                st.executeQuery("SELECT sealed FROM " + p + "_records FOR UPDATE").close(); // a stuck node's lock
                e.beginWrite();
                try {
                    EngineException f = assertThrows(EngineException.class, () -> e.get("x"));
                    assertEquals(EngineException.Kind.IO, f.kind(), f.getMessage());
                } finally {
                    e.endWrite();
                    other.rollback();
                }
            }
        }
    }
}
