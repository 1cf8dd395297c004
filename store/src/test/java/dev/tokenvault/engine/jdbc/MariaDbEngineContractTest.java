package dev.tokenvault.engine.jdbc;

/** The engine contract against the shared engine on MariaDb. */
class MariaDbEngineContractTest extends JdbcEngineContract {
    MariaDbEngineContractTest() {
        super(TestDatabase.MARIADB);
    }
}
