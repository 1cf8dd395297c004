package dev.tokenvault.engine.jdbc;

/** The engine contract against the shared engine on PostgreSql. */
class PostgreSqlEngineContractTest extends JdbcEngineContract {
    PostgreSqlEngineContractTest() {
        super(TestDatabase.POSTGRESQL);
    }
}
