package dev.tokenvault.engine.jdbc;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/** Small JDBC helpers: statements with bound parameters, ids as UTF-8 bytes, counters as 8-byte values. */
final class Jdbc {
    private Jdbc() {
    }

    /** A body that talks to the database. */
    @FunctionalInterface
    interface SqlBody<T> {
        T run(Connection c) throws SQLException;
    }

    /** What a query's rows become. */
    @FunctionalInterface
    interface Rows<T> {
        T read(ResultSet rs) throws SQLException;
    }

    static byte[] idBytes(String id) {
        return id.getBytes(StandardCharsets.UTF_8);
    }

    static String id(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    static byte[] encodeLong(long v) {
        return ByteBuffer.allocate(Long.BYTES).putLong(v).array();
    }

    /** An 8-byte counter; {@code fallback} when absent or of another length. */
    static long decodeLong(byte[] b, long fallback) {
        return b == null || b.length != Long.BYTES ? fallback : ByteBuffer.wrap(b).getLong();
    }

    static PreparedStatement bind(PreparedStatement ps, Object... params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            Object p = params[i];
            if (p instanceof byte[] b) {
                ps.setBytes(i + 1, b);
            } else if (p instanceof Integer n) {
                ps.setInt(i + 1, n);
            } else if (p instanceof Long n) {
                ps.setLong(i + 1, n);
            } else if (p == null) {
                ps.setNull(i + 1, java.sql.Types.VARBINARY);
            } else if (p instanceof java.sql.Array a) {
                ps.setArray(i + 1, a);
            } else {
                ps.setString(i + 1, (String) p);
            }
        }
        return ps;
    }

    static <T> T query(Connection c, String sql, Rows<T> rows, Object... params) throws SQLException {
        try (PreparedStatement ps = bind(c.prepareStatement(sql), params);
             ResultSet rs = ps.executeQuery()) {
            return rows.read(rs);
        }
    }

    /** The first column of the first row as bytes, or {@code null}. */
    static byte[] bytes(Connection c, String sql, Object... params) throws SQLException {
        return query(c, sql, rs -> rs.next() ? rs.getBytes(1) : null, params);
    }

    static int update(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = bind(c.prepareStatement(sql), params)) {
            return ps.executeUpdate();
        }
    }

    /** Runs {@code sql} once per row of parameters, as one JDBC batch; the update count of each row. */
    static int[] batch(Connection c, String sql, List<Object[]> rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (Object[] row : rows) {
                bind(ps, row).addBatch();
            }
            return ps.executeBatch();
        }
    }

    /**
     * An insert that keeps an existing row with the same key ({@link Dialect#insertKeeping}); returns whether it
     * inserted. MariaDB reports the duplicate as an error that rolls back the statement only, PostgreSQL inserts no row.
     */
    static boolean insertKeeping(Connection c, String sql, Object... params) throws SQLException {
        try {
            return update(c, sql, params) > 0;
        } catch (SQLException e) {
            if (SqlFailures.isDuplicateKey(e)) {
                return false;
            }
            throw e;
        }
    }

    /** Rolls back and closes {@code c}, keeping what fails as suppressed by {@code cause} (may be null). */
    static void abandon(Connection c, Throwable cause) {
        if (c == null) {
            return;
        }
        try {
            if (!c.isClosed() && !c.getAutoCommit()) {
                c.rollback();
            }
        } catch (SQLException e) {
            if (cause != null) {
                cause.addSuppressed(e);
            }
        }
        try {
            c.close();
        } catch (SQLException e) {
            if (cause != null) {
                cause.addSuppressed(e);
            }
        }
    }
}
