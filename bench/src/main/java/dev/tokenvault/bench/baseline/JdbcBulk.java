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
        String sql = "insert into " + table + " (" + String.join(",", Rows.COLUMNS) + ") values (?,?,?,?,?,?,?,?,?,?)";
        try (Connection c = connections.open(); PreparedStatement ps = c.prepareStatement(sql)) {
            c.setAutoCommit(false);
            for (int from = 0; from < count; from += ROWS_PER_COMMIT) {
                for (int i = from; i < Math.min(count, from + ROWS_PER_COMMIT); i++) {
                    String[] row = Rows.of(tokens.apply(i));
                    for (int col = 0; col < Rows.WIDTH; col++) {
                        ps.setString(col + 1, row[col]);
                    }
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
