package dev.tokenvault.bench.baseline;

import dev.tokenvault.OAuthToken;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.function.IntFunction;

/** Benchmark setup for the plaintext JDBC baselines: rows known to be valid and unique, inserted in batches. */
final class JdbcBulk {
    private static final int ROWS_PER_COMMIT = 1_000;

    private JdbcBulk() {
    }

    static void insert(SdkDbStore.Connections connections, String table, int count, IntFunction<OAuthToken> tokens) {
        try (Connection c = connections.open(); PreparedStatement ps = c.prepareStatement(Rows.insertSql(table))) {
            c.setAutoCommit(false);
            for (int from = 0; from < count; from += ROWS_PER_COMMIT) {
                for (int i = from; i < Math.min(count, from + ROWS_PER_COMMIT); i++) {
                    Rows.bindInsert(ps, Rows.of(tokens.apply(i)));
                    ps.addBatch();
                }
                ps.executeBatch();
                c.commit();
            }
        } catch (SQLException e) {
            throw Rows.io("bulk load of " + table + " failed", e);
        }
    }
}
