package dev.tokenvault.engine.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * How a node opens a shared store ({@link JdbcEngine#open(DataSource, String, boolean)}): the dialect from the
 * connection's metadata, the connections the node needs checked against the pool, the schema prepared (or found
 * absent), and the change feed started from the log's last number.
 */
final class JdbcOpening {
    /** Why a node on PostgreSQL needs two connections. */
    private static final String LISTENING = "on PostgreSQL the change feed keeps one connection listening";

    private JdbcOpening() {
    }

    static JdbcEngine open(DataSource dataSource, String prefix, boolean create) {
        if (!JdbcEngine.PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("tablePrefix must match " + JdbcEngine.PREFIX.pattern());
        }
        String where = "shared store " + prefix;
        Sql sql;
        long lastChange;
        JdbcLeases leases;
        Connection listening = null;
        try {
            Connection first = dataSource.getConnection();
            Dialect dialect;
            try {
                dialect = Dialect.of(first.getMetaData());
            } catch (SQLException | RuntimeException e) {
                Jdbc.abandon(first, e);
                throw e;
            }
            sql = new Sql(prefix, dialect);
            leases = new JdbcLeases(dataSource, dialect, prefix, where);
            if (dialect == Dialect.POSTGRESQL) {
                // the feed's listening connection is taken first: a pool too small for it fails here, not later
                listening = first;
                ConnectionRule.check(dataSource, 2, LISTENING);
            }
            try (Connection c = listening == null ? first : ConnectionRule.second(dataSource, LISTENING)) {
                JdbcSchema.prepare(c, dialect, prefix, sql, create);
                lastChange = Jdbc.decodeLong(Jdbc.bytes(c, sql.getMeta, JdbcSchema.SEQUENCE), 0);
            }
        } catch (SQLException e) {
            Jdbc.abandon(listening, e);
            throw SqlFailures.translate(e, "opening the " + where);
        } catch (RuntimeException | Error e) {
            Jdbc.abandon(listening, e);
            throw e;
        }
        WakeUp wakeUp = listening == null ? WakeUp.SLEEP : WakeUp.listening(dataSource, WakeUp.channel(sql), sql.node, listening);
        CommitNotifier notifier = listening == null ? CommitNotifier.NONE
                : CommitNotifier.postgres(dataSource, WakeUp.channel(sql), sql.node, "tokenvault-notify-" + sql.records);
        JdbcChangeFeed feed = new JdbcChangeFeed(dataSource, sql, where, lastChange, wakeUp, notifier);
        JdbcEngine engine = new JdbcEngine(dataSource, sql, where, feed, leases);
        feed.start();
        return engine;
    }
}
