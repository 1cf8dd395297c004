package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.ChangeFeed;
import dev.tokenvault.engine.EngineException;
import dev.tokenvault.engine.RecordEngine;
import dev.tokenvault.engine.RecordLeases;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The shared {@link RecordEngine}: a store in MariaDB/MySQL or PostgreSQL tables that many nodes open at once. The
 * caller brings the {@link DataSource} (pool and driver); the engine borrows a connection per call and returns it.
 *
 * <p>Tables, named after a prefix ({@link JdbcSchema}): {@code PREFIX_records}, {@code PREFIX_index},
 * {@code PREFIX_meta}, {@code PREFIX_changes} and {@code PREFIX_leases} ({@link JdbcLeases}), created at the first
 * open from the schema files shipped beside this class. There is no lock: nodes coordinate through transactions.
 *
 * <p>How it meets the engine contract:
 * <ul>
 *   <li>Atomic, durable batches: everything staged since the last commit is one database transaction
 *       ({@link WriteUnit}), committed by {@link #commitStaged}; durability is the database's.</li>
 *   <li>Reads see staged batches on the writer's thread only, which reads through the write's transaction (locking
 *       what it finds). Other threads read committed state on their own connections, one statement per read, so they
 *       never see part of a batch, and {@link #changeFeed() the change feed} tells the cache of each commit before
 *       {@code commitStaged} returns.</li>
 *   <li>Nodes: a write that collides with another node's (deadlock, serialization failure, a key inserted by both)
 *       fails with {@code RETRY} and changes nothing; the caller runs it again. A lost connection is {@code IO}, and
 *       its transaction is rolled back by the database, so nothing is half-applied. When the connection is lost
 *       during the commit itself the database may or may not have committed; the message says so.</li>
 *   <li>Every commit appends the ids it changed to the change log, which each node polls ({@link JdbcChangeFeed}).</li>
 * </ul>
 */
public final class JdbcEngine implements RecordEngine {
    /** The rule a table prefix follows: it becomes part of table names, so no quoting is ever needed. */
    public static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9_]{0,29}");
    /** Attempts of a self-contained update ({@link #updateMeta}) before its collision is reported. */
    private static final int UPDATE_ATTEMPTS = 8;

    private final DataSource dataSource;
    private final Sql sql;
    private final String where;
    private final JdbcChangeFeed feed;
    private final JdbcLeases leases;
    private volatile boolean closed;
    // the write of this node in progress, or null; touched by its owner thread only (the single writer)
    private volatile WriteUnit unit;
    // why the writer's transaction was lost by a failed read, until the writer ends that write; writer thread only
    private EngineException lost;

    private JdbcEngine(DataSource dataSource, Sql sql, String where, JdbcChangeFeed feed, JdbcLeases leases) {
        this.dataSource = dataSource;
        this.sql = sql;
        this.where = where;
        this.feed = feed;
        this.leases = leases;
    }

    /**
     * Opens the shared store with tables named after {@code prefix} in the database of {@code dataSource}, creating
     * them when absent.
     *
     * @throws EngineException {@code UNSUPPORTED_FORMAT} for a table of the same name with another layout, a newer
     *         format or a database that is not MariaDB, MySQL or PostgreSQL; {@code IO} when the database cannot be
     *         reached or refuses the login
     */
    public static JdbcEngine open(DataSource dataSource, String prefix) {
        if (!PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("tablePrefix must match " + PREFIX.pattern());
        }
        String where = "shared store " + prefix;
        Sql sql;
        long lastChange;
        JdbcLeases leases;
        try (Connection c = dataSource.getConnection()) {
            Dialect dialect = Dialect.of(c.getMetaData());
            sql = new Sql(prefix, dialect);
            JdbcSchema.prepare(c, dialect, prefix, sql);
            lastChange = Jdbc.decodeLong(Jdbc.bytes(c, sql.getMeta, JdbcSchema.SEQUENCE), 0);
            leases = new JdbcLeases(dataSource, dialect, prefix, where);
        } catch (SQLException e) {
            throw SqlFailures.translate(e, "opening the " + where);
        }
        WakeUp wakeUp = sql.notify == null ? WakeUp.SLEEP : WakeUp.listening(dataSource, WakeUp.channel(sql));
        JdbcChangeFeed feed = new JdbcChangeFeed(dataSource, sql, where, lastChange, wakeUp);
        JdbcEngine engine = new JdbcEngine(dataSource, sql, where, feed, leases);
        feed.start();
        return engine;
    }

    @Override
    public boolean isShared() {
        return true;
    }

    @Override
    public ChangeFeed changeFeed() {
        return feed;
    }

    @Override
    public Optional<RecordLeases> leases() {
        return Optional.of(leases);
    }

    // ---------------------------------------------------------------- plumbing

    private void live() {
        if (closed) {
            throw new EngineException(EngineException.Kind.CLOSED, "the " + where + " is closed");
        }
    }

    /** The write unit when the calling thread owns it, else {@code null}. */
    private WriteUnit own() {
        WriteUnit u = unit;
        return u != null && u.ownedByCaller() ? u : null;
    }

    /** Runs a read: on the caller's write unit when it has one, else on a connection of its own. */
    private <T> T read(String what, ReadBody<T> body) {
        live();
        WriteUnit u = own();
        try {
            if (u != null) {
                return body.run(u.connection, u);
            }
            try (Connection c = dataSource.getConnection()) {
                return body.run(c, null);
            }
        } catch (SQLException e) {
            EngineException failure = SqlFailures.translate(e, what + " in the " + where);
            if (u != null) {
                // the transaction is gone with what the write staged: its later stages and its commit must fail too
                abandonUnit(e);
                lost = failure;
            }
            throw failure;
        }
    }

    @FunctionalInterface
    private interface ReadBody<T> {
        T run(Connection c, WriteUnit unit) throws SQLException;
    }

    // ---------------------------------------------------------------- reads

    @Override
    public byte[] get(String id) {
        return read("reading a record", (c, u) -> {
            byte[] sealed = Jdbc.bytes(c, u != null && u.locking ? sql.lockRecord : sql.getRecord, Jdbc.idBytes(id));
            if (sealed != null && u != null) {
                u.found(id);
            }
            return sealed;
        });
    }

    @Override
    public int indexGeneration() {
        return read("reading the index generation", (c, u) -> u != null ? u.generation(sql)
                : (int) Jdbc.decodeLong(Jdbc.bytes(c, sql.getMeta, JdbcSchema.GENERATION), 0));
    }

    @Override
    public int nextIndexGeneration() {
        Map<String, byte[]> after = updateMeta(List.of(JdbcSchema.NEXT_GENERATION), before -> Map.of(
                JdbcSchema.NEXT_GENERATION, Jdbc.encodeLong(Jdbc.decodeLong(before.get(JdbcSchema.NEXT_GENERATION),
                        1) + 1)));
        return (int) Jdbc.decodeLong(after.get(JdbcSchema.NEXT_GENERATION), 2) - 1;
    }

    @Override
    public Entry getByIndex(int generation, int index, byte[] key) {
        return read("looking up an index entry", (c, u) -> {
            if (u != null) {
                return lockedLookup(u, generation, index, key);
            }
            return Jdbc.query(c, sql.lookup, rs -> {
                if (!rs.next() || Jdbc.decodeLong(rs.getBytes(1), -1) != generation) {
                    return GENERATION_CHANGED;
                }
                String id = Jdbc.id(rs.getBytes(2));
                return id == null ? null : new Entry(id, rs.getBytes(3));
            }, generation, index, key, JdbcSchema.GENERATION);
        });
    }

    /** The writer's lookup: the entry and its record, both locked until the write ends. */
    private Entry lockedLookup(WriteUnit u, int generation, int index, byte[] key) throws SQLException {
        if (u.generation(sql) != generation) {
            return GENERATION_CHANGED;
        }
        String id = Jdbc.id(Jdbc.bytes(u.connection, u.locking ? sql.lockEntry : sql.getEntry, generation, index,
                key));
        if (id == null) {
            return null;
        }
        byte[] sealed = Jdbc.bytes(u.connection, u.locking ? sql.lockRecord : sql.getRecord, Jdbc.idBytes(id));
        if (sealed != null) {
            u.found(id);
        }
        return new Entry(id, sealed);
    }

    @Override
    public String getIndex(int generation, int index, byte[] key) {
        return read("reading an index entry", (c, u) -> Jdbc.id(Jdbc.bytes(c, sql.getEntry, generation, index, key)));
    }

    @Override
    public byte[] getMeta(String key) {
        return read("reading metadata", (c, u) -> Jdbc.bytes(c, sql.getMeta, key));
    }

    @Override
    public void forEachRecord(BiConsumer<String, byte[]> action) {
        scan("listing the records", sql.allRecords, rs -> action.accept(Jdbc.id(rs.getBytes(1)), rs.getBytes(2)));
    }

    @Override
    public void forEachIndexEntry(int index, BiConsumer<byte[], String> action) {
        int generation = indexGeneration();
        scan("listing index entries", sql.entriesOf, rs -> action.accept(rs.getBytes(1), Jdbc.id(rs.getBytes(2))),
                generation, index);
    }

    @FunctionalInterface
    private interface RowAction {
        void accept(ResultSet rs) throws SQLException;
    }

    /**
     * Runs one query and calls {@code action} per row, as the rows arrive (PostgreSQL streams them only inside a
     * transaction); what {@code action} throws passes through unchanged.
     */
    private void scan(String what, String query, RowAction action, Object... params) {
        read(what, (c, u) -> {
            boolean own = u == null;
            if (own) {
                c.setAutoCommit(false);
            }
            try (PreparedStatement ps = Jdbc.bind(c.prepareStatement(query), params)) {
                ps.setFetchSize(1000);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        action.accept(rs);
                    }
                }
            } finally {
                if (own) {
                    c.rollback();
                    c.setAutoCommit(true);
                }
            }
            return null;
        });
    }

    @Override
    public long size() {
        return read("counting the records", (c, u) -> Jdbc.query(c, sql.countRecords, rs -> {
            rs.next();
            return rs.getLong(1);
        }));
    }

    // ---------------------------------------------------------------- writes

    /** Fails a stage or commit of a write whose transaction a failed read lost (see {@link #read}). */
    private void requireNotLost() {
        EngineException l = lost;
        if (l != null) {
            throw new EngineException(l.kind(), "the write's transaction was lost, with what it staged: "
                    + l.getMessage(), l);
        }
    }

    @Override
    public void beginWrite() {
        live();
        lost = null;
        if (own() == null) {
            unit = openUnit(true);
        }
    }

    private WriteUnit openUnit(boolean locking) {
        if (unit != null) {
            throw new IllegalStateException("another thread's write is in progress: the engine has one writer");
        }
        Connection c = null;
        try {
            c = dataSource.getConnection();
            c.setAutoCommit(false);
            if (c.getTransactionIsolation() != Connection.TRANSACTION_READ_COMMITTED) { // a pool knows: no round trip
                c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            }
            return new WriteUnit(c, locking);
        } catch (SQLException e) {
            Jdbc.abandon(c, e);
            throw SqlFailures.translate(e, "starting a write in the " + where);
        }
    }

    @Override
    public void endWrite() {
        lost = null;
        WriteUnit u = own();
        if (u != null) {
            closeUnit(u, null);
        }
    }

    @Override
    public void stage(Batch batch) {
        live();
        requireNotLost();
        WriteUnit u = own();
        if (u == null) {
            u = openUnit(false);
            unit = u;
        }
        try {
            u.apply(batch, sql);
        } catch (SQLException e) {
            abandonUnit(e);
            throw SqlFailures.translate(e, "staging a change in the " + where);
        } catch (RuntimeException | Error e) {
            abandonUnit(e);
            throw e;
        }
    }

    @Override
    public void commitStaged() {
        live();
        try {
            requireNotLost();
        } finally {
            lost = null;
        }
        WriteUnit u = own();
        if (u == null) {
            return;
        }
        boolean changes = u.hasChanges();
        try {
            if (changes) {
                u.appendChanges(sql, System.currentTimeMillis());
                if (sql.notify != null) {
                    Jdbc.query(u.connection, sql.notify, rs -> null); // delivered at the commit
                }
            }
            u.connection.commit();
        } catch (SQLException e) {
            abandonUnit(e);
            EngineException failure = SqlFailures.translate(e, "committing a change to the " + where);
            if (SqlFailures.isConnectionLost(e)) {
                failure = new EngineException(EngineException.Kind.IO, failure.getMessage() + "; when it was lost"
                        + " during the commit itself the database may have applied the change whole", e);
            }
            throw failure;
        } catch (RuntimeException | Error e) {
            abandonUnit(e);
            throw e;
        }
        closeUnit(u, null);
        if (changes) {
            feed.committed(u.clearedAll, u.changed);
        }
    }

    @Override
    public void discardStaged(String reason) {
        lost = null;
        WriteUnit u = own();
        if (u != null) {
            closeUnit(u, null);
        }
    }

    private void abandonUnit(Throwable cause) {
        WriteUnit u = own();
        if (u != null) {
            closeUnit(u, cause);
        }
    }

    /** Rolls back what the unit left uncommitted and returns its connection to the pool. */
    private void closeUnit(WriteUnit u, Throwable cause) {
        unit = null;
        try {
            if (!u.connection.isClosed()) {
                u.connection.rollback();
                u.connection.setAutoCommit(true);
            }
        } catch (SQLException e) {
            if (cause != null) {
                cause.addSuppressed(e);
            }
        }
        Jdbc.abandon(u.connection, cause);
    }

    @Override
    public <T> T exclusively(Supplier<T> body) {
        beginWrite();
        try {
            // every opener locks the format row first: the first to get it decides, the next reads what it wrote
            read("locking the store for its initialisation", (c, u) -> Jdbc.bytes(c, sql.lockMeta, JdbcSchema.FORMAT));
            return body.get();
        } finally {
            endWrite();
        }
    }

    @Override
    public Map<String, byte[]> updateMeta(List<String> keys, UnaryOperator<Map<String, byte[]>> change) {
        live();
        for (int attempt = 1; ; attempt++) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                try {
                    Map<String, byte[]> before = new HashMap<>();
                    for (String k : keys) {
                        before.put(k, Jdbc.bytes(c, sql.lockMeta, k));
                    }
                    Map<String, byte[]> after = change.apply(before);
                    for (Map.Entry<String, byte[]> e : after.entrySet()) {
                        if (e.getValue() == null) {
                            Jdbc.update(c, sql.removeMeta, e.getKey());
                        } else {
                            Jdbc.update(c, sql.upsertMeta, e.getKey(), e.getValue());
                        }
                    }
                    c.commit();
                    return after;
                } finally {
                    if (!c.getAutoCommit()) {
                        c.rollback();
                        c.setAutoCommit(true);
                    }
                }
            } catch (SQLException e) {
                if (!SqlFailures.isCollision(e) || attempt == UPDATE_ATTEMPTS) {
                    throw SqlFailures.translate(e, "updating metadata of the " + where);
                }
            }
        }
    }

    @Override
    public long clearIndexGeneration(int generation, int maxPerCommit) {
        if (maxPerCommit < 1) {
            throw new IllegalArgumentException("maxPerCommit must be positive");
        }
        if (indexGeneration() == generation) {
            throw new IllegalArgumentException("index generation " + generation + " is current");
        }
        long removed = 0;
        while (true) {
            List<Object[]> keys = read("listing entries of an old index generation", (c, u) ->
                    Jdbc.query(c, sql.firstEntriesOf, rs -> {
                        List<Object[]> out = new ArrayList<>();
                        while (rs.next()) {
                            out.add(new Object[] {rs.getInt(1), rs.getBytes(2)});
                        }
                        return out;
                    }, generation, maxPerCommit));
            if (keys.isEmpty()) {
                return removed;
            }
            Batch batch = new Batch();
            for (Object[] k : keys) {
                batch.removeIndexIn(generation, (Integer) k[0], (byte[]) k[1]);
            }
            commit(batch);
            removed += keys.size();
        }
    }

    /** The database compacts its own tables; this commits what is staged. */
    @Override
    public void compact() {
        commitStaged();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            commitStaged(); // the contract: what is staged becomes durable at close
        } finally {
            closed = true;
            feed.stop();
        }
    }

    @Override
    public String toString() {
        return "JdbcEngine[" + where + "]";
    }
}
