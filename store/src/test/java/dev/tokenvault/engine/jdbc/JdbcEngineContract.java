package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.RecordEngine;
import dev.tokenvault.engine.RecordEngineContract;
import org.junit.jupiter.api.AfterEach;

/** The engine contract against the shared engine on one database server: one store per test, dropped afterwards. */
abstract class JdbcEngineContract extends RecordEngineContract {
    private final TestDatabase db;
    private String prefix;

    JdbcEngineContract(TestDatabase db) {
        this.db = db;
    }

    @Override
    protected RecordEngine open() {
        db.assumeAvailable();
        if (prefix == null) {
            prefix = TestDatabase.freshPrefix();
        }
        return JdbcEngine.open(db.dataSource(), prefix);
    }

    @Override
    protected boolean persists() {
        return true;
    }

    @AfterEach
    void dropTables() {
        if (prefix != null) {
            db.drop(prefix);
        }
    }
}
