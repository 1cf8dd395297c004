package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.Batch;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
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

    WriteUnit(Connection connection, boolean locking) {
        this.connection = connection;
        this.locking = locking;
    }

    boolean ownedByCaller() {
        return owner == Thread.currentThread();
    }

    void found(String id, byte[] sealed) {
        held.put(id, sealed);
    }

    /** The sealed bytes of record {@code id} as this locking unit holds it locked, or {@code null} when it does not. */
    byte[] lockedRecord(String id) {
        return locking ? held.get(id) : null;
    }

    int generation(Sql sql) throws SQLException {
        if (generation < 0) {
            generation = (int) Jdbc.decodeLong(Jdbc.bytes(connection, sql.getMeta, JdbcSchema.GENERATION), 0);
        }
        return generation;
    }

    boolean hasChanges() {
        return clearedAll || !changed.isEmpty();
    }

    /**
     * Applies every op of {@code batch} in this transaction; a run of index entry puts, or of removals, goes to the
     * database as one JDBC batch (one round trip).
     */
    void apply(Batch batch, Sql sql) throws SQLException {
        EntryRun puts = new EntryRun();
        EntryRun removals = new EntryRun();
        for (Batch.Op op : batch.ops()) {
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
        flush(puts, sql);
        flush(removals, sql);
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
        if (run.rows.get(0).length == 3) {
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
        } else if (op instanceof Batch.RemoveRecord r) {
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
        } else {
            throw new IllegalArgumentException("unknown batch operation " + op.getClass().getSimpleName());
        }
    }

    private void putRecord(String id, byte[] sealed, Sql sql) throws SQLException {
        byte[] key = Jdbc.idBytes(id);
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

    /**
     * Appends the change log rows of this unit, numbered after the last under a lock on the counter, so that rows
     * become visible in the order of their numbers (a reader that saw number n has seen every number before it).
     * Taken last, just before the commit, so that it is held briefly and never waits while holding it.
     */
    void appendChanges(Sql sql, long now) throws SQLException {
        long last = Jdbc.decodeLong(Jdbc.bytes(connection, sql.lockMeta, JdbcSchema.SEQUENCE), 0);
        long next = last;
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
        Jdbc.update(connection, sql.upsertMeta, JdbcSchema.SEQUENCE, Jdbc.encodeLong(next));
    }
}
