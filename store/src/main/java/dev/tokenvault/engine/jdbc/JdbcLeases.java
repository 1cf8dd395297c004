package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.RecordLeases;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * The shared engine's {@link RecordLeases}: one row per leased record id in {@code PREFIX_leases}, with its holder
 * and its end in milliseconds since the epoch by the database's clock ({@code expires_at}). A lease runs while its
 * row exists and {@code expires_at} is ahead of the database's time.
 *
 * <p>A take is one statement: insert the row, or, when the id's row exists and has run out, overwrite it (PostgreSQL
 * {@code ON CONFLICT ... DO UPDATE ... WHERE}, MariaDB/MySQL {@code ON DUPLICATE KEY UPDATE} with each column kept
 * unless the row ran out). The database runs it atomically against every other node's, so exactly one of racing
 * takes writes its holder; the caller then reads which holder runs, as MariaDB's drivers do not all report whether
 * the row changed. Every statement runs on its own connection in auto-commit, so no lease row is ever locked longer
 * than one statement.
 *
 * <p>The table holds record ids (not secrets: the records table holds them too) and holder names; a row left by a
 * node that died is overwritten by the next take of its id, so the table never holds more than one row per record.
 */
final class JdbcLeases implements RecordLeases {
    private final DataSource dataSource;
    private final String where;
    private final String take;
    private final String runningHolder;
    private final String removeHeld;

    JdbcLeases(DataSource dataSource, Dialect dialect, String prefix, String where) {
        this.dataSource = dataSource;
        this.where = where;
        String table = table(prefix);
        String now = now(dialect);
        String insert = "INSERT INTO " + table + " (record_id, holder, expires_at) VALUES (?, ?, " + now + " + ?)";
        this.take = switch (dialect) {
            // holder first: MariaDB assigns left to right, and the test must see expires_at as it was
            case MARIADB -> insert + " ON DUPLICATE KEY UPDATE"
                    + " holder = IF(expires_at <= " + now + ", VALUES(holder), holder),"
                    + " expires_at = IF(expires_at <= " + now + ", VALUES(expires_at), expires_at)";
            case POSTGRESQL -> insert + " ON CONFLICT (record_id) DO UPDATE"
                    + " SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at"
                    + " WHERE " + table + ".expires_at <= " + now;
        };
        this.runningHolder = "SELECT holder FROM " + table + " WHERE record_id = ? AND expires_at > " + now;
        this.removeHeld = "DELETE FROM " + table + " WHERE record_id = ? AND holder = ?";
    }

    /** The lease table of the store with {@code prefix}. */
    static String table(String prefix) {
        return prefix + "_leases";
    }

    /** The database's time in milliseconds since the epoch, independent of the session's time zone. */
    private static String now(Dialect dialect) {
        return switch (dialect) {
            case MARIADB -> "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";
            case POSTGRESQL -> "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
        };
    }

    @Override
    public String take(String id, String holder, Duration duration) {
        long millis = Math.max(1, duration.toMillis());
        return run("taking a refresh lease", c -> {
            try {
                Jdbc.update(c, take, Jdbc.idBytes(id), holder, millis);
            } catch (SQLException e) {
                if (!SqlFailures.isCollision(e) && !SqlFailures.isDuplicateKey(e)) {
                    throw e;
                }
                // another node's take of the same id won the race for the row: the read below names it
            }
            return holderOf(c, id);
        });
    }

    @Override
    public String holder(String id) {
        return run("reading a refresh lease", c -> holderOf(c, id));
    }

    private String holderOf(Connection c, String id) throws SQLException {
        return Jdbc.query(c, runningHolder, rs -> rs.next() ? rs.getString(1) : null, Jdbc.idBytes(id));
    }

    @Override
    public void release(String id, String holder) {
        run("ending a refresh lease", c -> Jdbc.update(c, removeHeld, Jdbc.idBytes(id), holder));
    }

    private <T> T run(String what, Jdbc.SqlBody<T> body) {
        try (Connection c = dataSource.getConnection()) {
            return body.run(c);
        } catch (SQLException e) {
            throw SqlFailures.translate(e, what + " in the " + where);
        }
    }

    @Override
    public String toString() {
        return "JdbcLeases[" + where + "]";
    }
}
