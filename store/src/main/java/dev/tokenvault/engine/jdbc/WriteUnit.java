package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.Batch;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One write of a node: a database transaction (READ COMMITTED) on a connection of its own, owned by the writer's
 * thread, holding what the writer read (locked) and what it staged until the commit or the rollback.
 *
 * <p>Check-then-act across nodes: in a unit begun for a decision ({@code locking}), the writer's reads lock the rows
 * they find ({@code SELECT ... FOR UPDATE}), and a record it found is updated in place; a record or an index entry it
 * did not find is inserted, never overwritten, so that when another node inserted the same key meanwhile the unit
 * fails with {@code RETRY} instead of replacing the other node's row.
 *
 * <p>Round trips: on PostgreSQL, the statements of a refresh whose outcome the write does not need at once (the update
 * of a record it holds, the move of one index entry) are deferred and sent together with the next statement the unit
 * runs, usually the change log's at the commit, as one multi-statement round trip; the driver sends them in one go and
 * the server runs them in order. Every read of the unit, and every other statement, sends what is deferred first, so
 * the unit always reads what it wrote. MariaDB and MySQL run each statement at once: their drivers take several
 * statements in one only with an option of the caller's URL.
 */
final class WriteUnit {
    final Connection connection;
    final Thread owner = Thread.currentThread();
    /** Reads lock what they find, and puts of rows the writer did not find insert only. */
    final boolean locking;
    /**
     * Records this unit found or wrote, with their sealed bytes as it last read or wrote them: they exist and, in a
     * locking unit, are locked by it, so a later read of the same record needs no round trip.
     */
    private final Map<String, byte[]> held = new HashMap<>();
    /** Ids of records this unit changed, for the change log. */
    final Set<String> changed = new LinkedHashSet<>();
    boolean clearedAll;
    private int generation = -1; // the current index generation as this unit sees it; -1 until read
    /** The index generation this unit switched to ({@link Batch.SwitchIndexGeneration}), or -1. */
    int switchedTo = -1;
    /** Statements waiting for the unit's next round trip (PostgreSQL only), in the order they were staged. */
    private final List<Deferred> deferred = new ArrayList<>();

    /** A deferred statement, and what to do with its update count once it ran. */
    private record Deferred(String sql, Object[] params, CountCheck check) { }

    @FunctionalInterface
    private interface CountCheck {
        void accept(int count) throws SQLException;

        CountCheck NONE = count -> { };
    }

    WriteUnit(Connection connection, boolean locking) {
        this.connection = connection;
        this.locking = locking;
    }

    boolean ownedByCaller() {
        return owner == Thread.currentThread();
    }

    /**
     * The writer's read of record {@code id}, read once per unit: in a locking unit locked until the write ends, and
     * the current index generation read in the same statement (a write that reads its record by id, as a refresh
     * does, needs both; the generation's row is read, not locked).
     */
    byte[] record(String id, Sql sql) throws SQLException {
        byte[] sealed = locking ? held.get(id) : null;
        if (sealed != null) {
            return sealed;
        }
        sendDeferred();
        byte[] key = Jdbc.idBytes(id);
        sealed = !locking ? Jdbc.bytes(connection, sql.getRecord, key)
                : Jdbc.query(connection, sql.lockRecordAndGeneration, rs -> {
                    if (!rs.next()) {
                        return null;
                    }
                    if (generation < 0) {
                        generation = JdbcSchema.generationOf(rs.getBytes(2));
                    }
                    return rs.getBytes(1);
                }, JdbcSchema.GENERATION, key);
        if (sealed != null) {
            held.put(id, sealed);
        }
        return sealed;
    }

    int generation(Sql sql) throws SQLException {
        if (generation < 0) {
            sendDeferred();
            generation = JdbcSchema.generationOf(Jdbc.bytes(connection, sql.getMeta, JdbcSchema.GENERATION));
        }
        return generation;
    }

    boolean hasChanges() {
        return clearedAll || !changed.isEmpty();
    }

    /**
     * Applies every op of {@code batch} in this transaction; a run of index entry puts, or of removals, goes to the
     * database as one JDBC batch (one round trip). In a locking unit, an entry's removal followed by the put of the
     * same index's new value (a save that changes a record's access token) is one move: an update of the entry's row
     * instead of a delete and an insert.
     */
    void apply(Batch batch, Sql sql) throws SQLException {
        EntryRun puts = new EntryRun();
        EntryRun removals = new EntryRun();
        EntryRun moves = new EntryRun();
        List<Batch.Op> ops = batch.ops();
        for (int i = 0; i < ops.size(); i++) {
            Batch.Op op = ops.get(i);
            Batch.PutIndex movedTo = locking && i + 1 < ops.size() ? movedTo(op, ops.get(i + 1)) : null;
            if (movedTo != null) {
                flush(puts, sql);
                flush(removals, sql);
                moves.add(movedTo.key(), generation(sql), movedTo.index(), ((Batch.RemoveIndex) op).key(),
                        Jdbc.idBytes(movedTo.id()));
                i++;
                continue;
            }
            flushMoves(moves, sql);
            if (op instanceof Batch.PutIndex p) {
                flush(removals, sql);
                puts.add(generation(sql), p.index(), p.key(), Jdbc.idBytes(p.id()));
            } else if (op instanceof Batch.PutIndexIn p) {
                flush(removals, sql);
                puts.add(p.generation(), p.index(), p.key(), Jdbc.idBytes(p.id()));
            } else if (op instanceof Batch.RemoveIndex r) {
                flush(puts, sql);
                removals.add(generation(sql), r.index(), r.key());
            } else if (op instanceof Batch.RemoveIndexIn r) {
                flush(puts, sql);
                removals.add(r.generation(), r.index(), r.key());
            } else {
                flush(puts, sql);
                flush(removals, sql);
                apply(op, sql);
            }
        }
        flushMoves(moves, sql);
        flush(puts, sql);
        flush(removals, sql);
    }

    /**
     * The put that follows {@code op} when the two move one record's entry from one value of a field to another (as
     * a save stages a changed access token: the old value's removal, then the new value's put), else {@code null}.
     */
    private static Batch.PutIndex movedTo(Batch.Op op, Batch.Op next) {
        return op instanceof Batch.RemoveIndex r && next instanceof Batch.PutIndex p && r.index() == p.index()
                ? p : null;
    }

    /**
     * Moved entries, as one statement or one batch of updates. An entry not found where the unit expected it (not
     * there, or naming another record) is removed and inserted instead, with the insert's check. A new value that
     * another node's entry took meanwhile fails with a duplicate key, which {@link SqlFailures#translate} makes
     * {@code RETRY}.
     */
    private void flushMoves(EntryRun run, Sql sql) throws SQLException {
        if (run.rows.isEmpty()) {
            return;
        }
        if (run.rows.size() == 1 && defers(sql)) {
            Object[] m = run.rows.get(0);
            deferred.add(new Deferred(sql.moveEntry, m, count -> {
                if (count == 0) { // not where the unit expected it
                    moveByRemovalAndInsert(m, sql);
                }
            }));
            run.rows.clear();
            return;
        }
        sendDeferred();
        int[] counts = run.rows.size() == 1
                ? new int[] {Jdbc.update(connection, sql.moveEntry, run.rows.get(0))}
                : Jdbc.batch(connection, sql.moveEntry, run.rows);
        List<Object[]> inserts = new ArrayList<>();
        for (int i = 0; i < run.rows.size(); i++) {
            Object[] m = run.rows.get(i); // blind now, generation, field, blind before, record id
            boolean moved = i < counts.length && (counts[i] > 0
                    || counts[i] == Statement.SUCCESS_NO_INFO && Arrays.equals((byte[]) m[4],
                    Jdbc.bytes(connection, sql.getEntry, m[1], m[2], m[0])));
            if (!moved) {
                Jdbc.update(connection, sql.removeEntry, m[1], m[2], m[3]);
                inserts.add(new Object[] {m[1], m[2], m[0], m[4]});
            }
        }
        if (!inserts.isEmpty()) {
            insertEntries(inserts, sql);
        }
        run.rows.clear();
    }

    /** A move that found no entry to update: the old value's entry removed, the new one inserted with its check. */
    private void moveByRemovalAndInsert(Object[] m, Sql sql) throws SQLException {
        Jdbc.update(connection, sql.removeEntry, m[1], m[2], m[3]);
        List<Object[]> insert = new ArrayList<>();
        insert.add(new Object[] {m[1], m[2], m[0], m[4]});
        insertEntries(insert, sql);
    }

    /** Whether this unit defers what it can to its next round trip: a locking unit on PostgreSQL. */
    private boolean defers(Sql sql) {
        return locking && sql.dialect == Dialect.POSTGRESQL;
    }

    /** Runs what is deferred, in one round trip, and checks each statement's update count. */
    void sendDeferred() throws SQLException {
        if (!deferred.isEmpty()) {
            send(null);
        }
    }

    /**
     * Runs the deferred statements and then {@code last} (may be null) as one multi-statement round trip, checks the
     * deferred statements' update counts, and returns {@code last}'s (or -1).
     */
    private int send(Deferred last) throws SQLException {
        List<Deferred> all = new ArrayList<>(deferred);
        deferred.clear(); // whatever happens next, they ran or the transaction is lost
        if (last != null) {
            all.add(last);
        }
        StringBuilder text = new StringBuilder();
        List<Object> params = new ArrayList<>();
        for (Deferred d : all) {
            text.append(text.length() == 0 ? "" : ";\n").append(d.sql());
            params.addAll(Arrays.asList(d.params()));
        }
        int[] counts = new int[all.size()];
        try (PreparedStatement ps = Jdbc.bind(connection.prepareStatement(text.toString()), params.toArray())) {
            boolean resultSet = ps.execute();
            for (int i = 0; i < counts.length; i++) {
                counts[i] = resultSet ? -1 : ps.getUpdateCount();
                resultSet = ps.getMoreResults();
            }
        }
        for (int i = 0; i < all.size(); i++) {
            all.get(i).check().accept(counts[i]);
        }
        return last == null ? -1 : counts[counts.length - 1];
    }

    /** Index entries of consecutive ops of one kind, as statement parameters. */
    private static final class EntryRun {
        final List<Object[]> rows = new ArrayList<>();

        void add(Object... row) {
            rows.add(row);
        }
    }

    private void flush(EntryRun run, Sql sql) throws SQLException {
        if (run.rows.isEmpty()) {
            return;
        }
        sendDeferred();
        if (run.rows.get(0).length == 3) { // removals: generation, field, blind
            Jdbc.batch(connection, sql.removeEntry, run.rows);
        } else if (!locking) {
            Jdbc.batch(connection, sql.upsertEntry, run.rows);
        } else {
            insertEntries(run.rows, sql);
        }
        run.rows.clear();
    }

    private void apply(Batch.Op op, Sql sql) throws SQLException {
        Connection c = connection;
        if (op instanceof Batch.PutRecord p) {
            putRecord(p.id(), p.sealed(), sql);
            return;
        }
        sendDeferred();
        if (op instanceof Batch.RemoveRecord r) {
            Jdbc.update(c, sql.removeRecord, Jdbc.idBytes(r.id()));
            held.remove(r.id());
            changed.add(r.id());
        } else if (op instanceof Batch.PutMeta p) {
            Jdbc.update(c, sql.upsertMeta, p.key(), p.value());
        } else if (op instanceof Batch.RemoveMeta r) {
            Jdbc.update(c, sql.removeMeta, r.key());
        } else if (op instanceof Batch.ClearAll) {
            Jdbc.update(c, sql.clearIndex);
            Jdbc.update(c, sql.clearRecords);
            held.clear();
            clearedAll = true;
        } else if (op instanceof Batch.SwitchIndexGeneration s) {
            Jdbc.update(c, sql.upsertMeta, JdbcSchema.GENERATION, Jdbc.encodeLong(s.generation()));
            generation = s.generation();
            switchedTo = s.generation();
        } else {
            throw new IllegalArgumentException("unknown batch operation " + op.getClass().getSimpleName());
        }
    }

    private void putRecord(String id, byte[] sealed, Sql sql) throws SQLException {
        byte[] key = Jdbc.idBytes(id);
        if (locking && held.containsKey(id) && defers(sql)) {
            deferred.add(new Deferred(sql.updateRecord, new Object[] {sealed, key}, CountCheck.NONE));
            held.put(id, sealed);
            changed.add(id);
            return;
        }
        sendDeferred();
        if (!locking) {
            Jdbc.update(connection, sql.upsertRecord, key, sealed);
        } else if (held.containsKey(id)) {
            Jdbc.update(connection, sql.updateRecord, sealed, key);
        } else if (!Jdbc.insertKeeping(connection, sql.insertRecord, key, sealed)) {
            throw SqlFailures.retry("record " + id + " was created by another node at the same time", null);
        }
        held.put(id, sealed);
        changed.add(id);
    }

    /**
     * Index entries of a locking unit, inserted in one batch; where one exists, it must name the same record: another
     * record's entry is another node's concurrent insert ({@code RETRY}). An entry the batch did not insert (kept, or
     * not reached when MariaDB stopped at a duplicate) is looked at on its own.
     */
    private void insertEntries(List<Object[]> rows, Sql sql) throws SQLException {
        int[] counts;
        try {
            counts = Jdbc.batch(connection, sql.insertEntry, rows);
        } catch (BatchUpdateException e) {
            if (!SqlFailures.isDuplicateKey(e)) {
                throw e;
            }
            counts = e.getUpdateCounts() == null ? new int[0] : e.getUpdateCounts();
        }
        for (int i = 0; i < rows.size(); i++) {
            boolean inserted = i < counts.length && (counts[i] > 0 || counts[i] == Statement.SUCCESS_NO_INFO);
            if (!inserted) {
                checkEntry(rows.get(i), sql);
            }
        }
    }

    /** An entry an insert kept: it must name this unit's record; gone meanwhile (another node's removal), insert it. */
    private void checkEntry(Object[] row, Sql sql) throws SQLException {
        byte[] holder = Jdbc.bytes(connection, sql.lockEntry, row[0], row[1], row[2]);
        if (holder != null && !Arrays.equals(holder, (byte[]) row[3])) {
            throw SqlFailures.retry("an index entry was taken by another node's record at the same time", null);
        }
        if (holder == null) {
            Jdbc.update(connection, sql.insertEntry, row);
        }
    }

    /** Commits the unit: what it deferred, its change log rows when it changed anything, then the commit itself. */
    void commit(Sql sql, long now) throws SQLException {
        if (hasChanges()) {
            appendChanges(sql, now);
        } else {
            sendDeferred();
        }
        connection.commit();
    }

    /**
     * Appends the change log rows of this unit, numbered after the last under a lock on the counter, so that rows
     * become visible in the order of their numbers (a reader that saw number n has seen every number before it).
     * Taken last, just before the commit, so that it is held briefly. On PostgreSQL one statement advances the counter
     * (locking it) and inserts the rows, sent in one round trip after the statements the unit deferred; a deferred
     * entry move that found no entry is then done as a removal and an insert, the one case where the counter's lock is
     * held while the write may wait for another node's row (a deadlock there is a {@code RETRY}). On MariaDB/MySQL two
     * statements: the counter advanced (which returns the new last number), then the rows as one batch.
     */
    private void appendChanges(Sql sql, long now) throws SQLException {
        if (sql.appendChanges != null && !clearedAll) {
            appendAtOnce(sql, now);
            return;
        }
        sendDeferred();
        int rows = clearedAll ? 1 : changed.size();
        long next = advanceSequence(sql, rows) - rows;
        try (PreparedStatement ps = connection.prepareStatement(sql.appendChange)) {
            if (clearedAll) {
                Jdbc.bind(ps, ++next, null, now).addBatch();
            } else {
                for (String id : changed) {
                    Jdbc.bind(ps, ++next, Jdbc.idBytes(id), now).addBatch();
                }
            }
            ps.executeBatch();
        }
    }

    private void appendAtOnce(Sql sql, long now) throws SQLException {
        byte[][] ids = new byte[changed.size()][];
        int i = 0;
        for (String id : changed) {
            ids[i++] = Jdbc.idBytes(id);
        }
        // with what the write deferred: a refresh's record update and entry move go in the same round trip
        int inserted = send(new Deferred(sql.appendChanges, new Object[] {(long) ids.length, JdbcSchema.SEQUENCE,
                (long) ids.length, now, connection.createArrayOf("bytea", ids)}, CountCheck.NONE));
        if (inserted != ids.length) {
            throw missingCounter(); // no counter row: nothing was inserted
        }
    }

    /** Advances the change log's counter by {@code rows} and returns its new value, the last number now taken. */
    private long advanceSequence(Sql sql, int rows) throws SQLException {
        if (sql.dialect == Dialect.POSTGRESQL) { // UPDATE ... RETURNING value
            byte[] value = Jdbc.bytes(connection, sql.advanceCounter, (long) rows, JdbcSchema.SEQUENCE);
            if (value == null) {
                throw missingCounter();
            }
            return Jdbc.decodeLong(value, 0);
        }
        try (PreparedStatement ps = connection.prepareStatement(sql.advanceCounter, Statement.RETURN_GENERATED_KEYS)) {
            if (Jdbc.bind(ps, (long) rows, JdbcSchema.SEQUENCE).executeUpdate() != 1) {
                throw missingCounter();
            }
            try (ResultSet keys = ps.getGeneratedKeys()) { // LAST_INSERT_ID(value)
                if (keys.next() && keys.getLong(1) > 0) {
                    return keys.getLong(1);
                }
            }
        }
        // a driver that does not report it: the row is locked by this unit now, so a plain read is exact
        return Jdbc.decodeLong(Jdbc.bytes(connection, sql.getMeta, JdbcSchema.SEQUENCE), 0);
    }

    private static SQLException missingCounter() {
        return new SQLException("the change log's counter row " + JdbcSchema.SEQUENCE + " is missing");
    }
}
