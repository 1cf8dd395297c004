package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.Batch;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.LinkedHashSet;
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
    /** Ids of records this unit found or wrote: they exist and are locked by it. */
    private final Set<String> held = new LinkedHashSet<>();
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

    void found(String id) {
        held.add(id);
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

    /** Applies every op of {@code batch} in this transaction. */
    void apply(Batch batch, Sql sql) throws SQLException {
        for (Batch.Op op : batch.ops()) {
            apply(op, sql);
        }
    }

    private void apply(Batch.Op op, Sql sql) throws SQLException {
        Connection c = connection;
        if (op instanceof Batch.PutRecord p) {
            putRecord(p.id(), p.sealed(), sql);
        } else if (op instanceof Batch.RemoveRecord r) {
            Jdbc.update(c, sql.removeRecord, Jdbc.idBytes(r.id()));
            held.remove(r.id());
            changed.add(r.id());
        } else if (op instanceof Batch.PutIndex p) {
            putEntry(generation(sql), p.index(), p.key(), p.id(), sql);
        } else if (op instanceof Batch.RemoveIndex r) {
            Jdbc.update(c, sql.removeEntry, generation(sql), r.index(), r.key());
        } else if (op instanceof Batch.PutIndexIn p) {
            putEntry(p.generation(), p.index(), p.key(), p.id(), sql);
        } else if (op instanceof Batch.RemoveIndexIn r) {
            Jdbc.update(c, sql.removeEntry, r.generation(), r.index(), r.key());
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
        } else if (held.contains(id)) {
            Jdbc.update(connection, sql.updateRecord, sealed, key);
        } else if (!Jdbc.insertKeeping(connection, sql.insertRecord, key, sealed)) {
            throw SqlFailures.retry("record " + id + " was created by another node at the same time", null);
        }
        held.add(id);
        changed.add(id);
    }

    /**
     * An index entry: inserted; where one exists, it must name the same record. In a locking unit another record's
     * entry is another node's concurrent insert ({@code RETRY}); outside one it is replaced, as a put does.
     */
    private void putEntry(int gen, int field, byte[] blind, String id, Sql sql) throws SQLException {
        byte[] target = Jdbc.idBytes(id);
        if (!locking) {
            Jdbc.update(connection, sql.upsertEntry, gen, field, blind, target);
            return;
        }
        if (Jdbc.insertKeeping(connection, sql.insertEntry, gen, field, blind, target)) {
            return;
        }
        byte[] holder = Jdbc.bytes(connection, sql.lockEntry, gen, field, blind);
        if (holder != null && !Arrays.equals(holder, target)) {
            throw SqlFailures.retry("an index entry was taken by another node's record at the same time", null);
        }
        if (holder == null) { // removed meanwhile by a commit of another node: insert again
            Jdbc.update(connection, sql.insertEntry, gen, field, blind, target);
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
