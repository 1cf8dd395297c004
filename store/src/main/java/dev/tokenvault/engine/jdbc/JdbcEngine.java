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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.StampedLock;
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
 *
 * <p>Parts: {@link JdbcOpening} opens it, {@link NodeConnections} decides which connection each call runs on,
 * {@link WriteUnit} is a write's transaction, {@link JdbcChangeFeed} the change log's reader.
 */
public final class JdbcEngine implements RecordEngine {
    /** The rule a table prefix follows: it becomes part of table names, so no quoting is ever needed. */
    public static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9_]{0,29}");
    /** Attempts of a self-contained update ({@link #updateMeta}) before its collision is reported. */
    private static final int UPDATE_ATTEMPTS = 8;

    private final NodeConnections connections;
    private final Sql sql;
    private final String where;
    private final JdbcChangeFeed feed;
    private final JdbcLeases leases;
    /**
     * The current index generation, as this node read it at its first need or committed it since; -1 when it must
     * be read again. Only a switch ({@link Batch.SwitchIndexGeneration}) changes it, and on a shared store only this
     * node's: the vault refuses the operations that switch (index-key rotation, repair) on a shared store, and a copy
     * leaves the target's generation as it was created. So a lookup compares with this field instead of reading the
     * metadata row beside its entry, which on PostgreSQL took about 5 of its 65 microseconds at the server.
     */
    private volatile int generation = -1;
    /** Write-held across the commit of a switch: a lookup that overlapped one answers {@link #GENERATION_CHANGED}. */
    private final StampedLock switching = new StampedLock();

    JdbcEngine(DataSource dataSource, Sql sql, String where, JdbcChangeFeed feed, JdbcLeases leases) {
        this.connections = new NodeConnections(dataSource, where);
        this.sql = sql;
        this.where = where;
        this.feed = feed;
        this.leases = leases;
    }

    /** {@link #open(DataSource, String, boolean)} creating the tables when absent. */
    public static JdbcEngine open(DataSource dataSource, String prefix) {
        return open(dataSource, prefix, true);
    }

    /**
     * Opens the shared store with tables named after {@code prefix} in the database of {@code dataSource}, creating
     * them when absent and {@code create} is set.
     *
     * <p>Connections: every call borrows one and returns it; a write holds one to its end, and reads and metadata
     * updates on its thread use it; nothing holds one while it waits for another. The change feed borrows one per poll.
     * On PostgreSQL the feed also keeps one that {@code LISTEN}s, so the pool needs two connections there
     * ({@link ConnectionRule}); one is enough on MariaDB and MySQL.
     *
     * @throws EngineException {@code NOT_FOUND} when the tables are absent and {@code create} is not set (nothing is
     *         created); {@code UNSUPPORTED_FORMAT} for a table of the same name with another layout, a newer format
     *         or a database that is not MariaDB, MySQL or PostgreSQL; {@code IO} when the database cannot be reached
     *         or refuses the login
     * @throws IllegalArgumentException for a prefix that breaks {@link #PREFIX}, or a pool too small for the database
     */
    public static JdbcEngine open(DataSource dataSource, String prefix, boolean create) {
        return JdbcOpening.open(dataSource, prefix, create);
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

    // ---------------------------------------------------------------- reads

    @Override
    public byte[] get(String id) {
        return connections.read("reading a record", (c, u) -> u != null ? u.record(id, sql)
                : Jdbc.bytes(c, sql.getRecord, Jdbc.idBytes(id)));
    }

    @Override
    public int indexGeneration() {
        return connections.read("reading the index generation", (c, u) -> u != null ? u.generation(sql)
                : committedGeneration(c));
    }

    /** {@link #generation}, read from the metadata row when it is not known (no switch can commit meanwhile). */
    private int committedGeneration(Connection c) throws SQLException {
        int known = generation;
        if (known >= 0) {
            return known;
        }
        long stamp = switching.readLock();
        try {
            known = generation;
            if (known < 0) {
                known = JdbcSchema.generationOf(Jdbc.bytes(c, sql.getMeta, JdbcSchema.GENERATION));
                generation = known;
            }
            return known;
        } finally {
            switching.unlockRead(stamp);
        }
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
        return connections.read("looking up an index entry", (c, u) -> {
            if (u != null) {
                return lockedLookup(u, generation, index, key);
            }
            long stamp = switching.tryOptimisticRead();
            if (committedGeneration(c) != generation) {
                return GENERATION_CHANGED;
            }
            Entry found = Jdbc.query(c, sql.lookup, rs -> rs.next() ? new Entry(Jdbc.id(rs.getBytes(1)),
                    rs.getBytes(2)) : null, generation, index, key);
            return switching.validate(stamp) ? found : GENERATION_CHANGED;
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
        return new Entry(id, u.record(id, sql));
    }

    @Override
    public String getIndex(int generation, int index, byte[] key) {
        return connections.read("reading an index entry", (c, u) -> Jdbc.id(Jdbc.bytes(c, sql.getEntry, generation, index, key)));
    }

    @Override
    public byte[] getMeta(String key) {
        return connections.read("reading metadata", (c, u) -> Jdbc.bytes(c, sql.getMeta, key));
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
        connections.read(what, (c, u) -> {
            boolean own = u == null && c.getAutoCommit(); // a held connection's transaction is its holder's
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
        return connections.read("counting the records", (c, u) -> Jdbc.query(c, sql.countRecords, rs -> {
            rs.next();
            return rs.getLong(1);
        }));
    }

    // ---------------------------------------------------------------- writes

    @Override
    public void beginWrite() {
        connections.live();
        connections.forgetLoss();
        connections.ownOrOpen(true);
    }

    @Override
    public void endWrite() {
        connections.forgetLoss();
        connections.abandonUnit(null);
    }

    @Override
    public void stage(Batch batch) {
        connections.live();
        connections.requireNotLost();
        WriteUnit u = connections.ownOrOpen(false);
        try {
            u.apply(batch, sql);
        } catch (SQLException e) {
            connections.abandonUnit(e);
            throw SqlFailures.translate(e, "staging a change in the " + where);
        } catch (RuntimeException | Error e) {
            connections.abandonUnit(e);
            throw e;
        }
    }

    @Override
    public void commitStaged() {
        connections.live();
        try {
            connections.requireNotLost();
        } finally {
            connections.forgetLoss();
        }
        WriteUnit u = connections.own();
        if (u == null) {
            return;
        }
        boolean changes = u.hasChanges();
        long switchStamp = 0;
        if (u.switchedTo >= 0) {
            switchStamp = switching.writeLock();
            generation = -1; // unknown until the commit returns: a failed one may or may not have switched
        }
        try {
            u.commit(sql, System.currentTimeMillis());
            if (switchStamp != 0) {
                generation = u.switchedTo;
            }
        } catch (SQLException e) {
            connections.abandonUnit(e);
            EngineException failure = SqlFailures.translate(e, "committing a change to the " + where);
            if (SqlFailures.isConnectionLost(e)) {
                failure = new EngineException(EngineException.Kind.IO, failure.getMessage() + "; when it was lost"
                        + " during the commit itself the database may have applied the change whole", e);
            }
            throw failure;
        } catch (RuntimeException | Error e) {
            connections.abandonUnit(e);
            throw e;
        } finally {
            if (switchStamp != 0) {
                switching.unlockWrite(switchStamp);
            }
        }
        connections.closeUnit(u, null, false);
        if (changes) {
            feed.committed(u.clearedAll, u.changed);
        }
    }

    @Override
    public void discardStaged(String reason) {
        connections.forgetLoss();
        connections.abandonUnit(null);
    }

    @Override
    public <T> T exclusively(Supplier<T> body) {
        beginWrite();
        try {
            // every opener locks the format row first: the first to get it decides, the next reads what it wrote
            connections.read("locking the store for its initialisation", (c, u) -> Jdbc.bytes(c, sql.lockMeta, JdbcSchema.FORMAT));
            return body.get();
        } finally {
            endWrite();
        }
    }

    @Override
    public Map<String, byte[]> updateMeta(List<String> keys, UnaryOperator<Map<String, byte[]>> change) {
        connections.live();
        for (int attempt = 1; ; attempt++) {
            try (Connection c = connections.dataSource.getConnection()) {
                c.setAutoCommit(false);
                try {
                    Map<String, byte[]> before = new HashMap<>();
                    for (String k : keys) {
                        before.put(k, Jdbc.bytes(c, sql.lockMeta, k));
                    }
                    Map<String, byte[]> after = connections.holding(c, unused -> change.apply(before));
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
    public Batch indexRemovals(int generation, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be positive");
        }
        if (indexGeneration() == generation) {
            throw new IllegalArgumentException("index generation " + generation + " is current");
        }
        return connections.read("listing entries of an old index generation", (c, u) ->
                Jdbc.query(c, sql.firstEntriesOf, rs -> {
                    Batch batch = new Batch();
                    while (rs.next()) {
                        batch.removeIndexIn(generation, rs.getInt(1), rs.getBytes(2));
                    }
                    return batch;
                }, generation, max));
    }

    /** The database compacts its own tables; this commits what is staged. */
    @Override
    public void compact() {
        commitStaged();
    }

    @Override
    public void close() {
        if (connections.isClosed()) {
            return;
        }
        try {
            commitStaged(); // the contract: what is staged becomes durable at close
        } finally {
            connections.close();
            feed.stop();
        }
    }

    @Override
    public String toString() {
        return "JdbcEngine[" + where + "]";
    }
}
