package dev.tokenvault.engine.jdbc;

import java.security.SecureRandom;
import java.util.HexFormat;

/** The engine's statements, for one table prefix and dialect. Ids are bound as their UTF-8 bytes. */
final class Sql {
    private static final SecureRandom RANDOM = new SecureRandom();

    final Dialect dialect;
    /**
     * This node's id, random per opened engine: the payload of its PostgreSQL notifications, so that its own change
     * feed is not woken by its own commits (it learns of those when it commits them). Hex digits, so that the
     * statements can carry it as a literal.
     */
    final String node;
    final String records;
    final String index;
    final String meta;
    final String changes;

    final String getRecord;
    /** A record locked, with the current index generation beside it (the subquery's row is not locked). */
    final String lockRecordAndGeneration;
    final String insertRecord;
    final String updateRecord;
    final String upsertRecord;
    final String removeRecord;
    final String countRecords;
    final String allRecords;
    /** An entry of the asked generation with its record (the record's columns null when it is missing). */
    final String lookup;
    final String lockEntry;
    final String getEntry;
    final String insertEntry;
    final String upsertEntry;
    final String removeEntry;
    /** An entry that now holds another value of the same field for the same record: one statement, not two. */
    final String moveEntry;
    final String entriesOf;
    final String firstEntriesOf;
    final String getMeta;
    final String lockMeta;
    final String upsertMeta;
    /** See {@link Dialect#advanceCounter}. */
    final String advanceCounter;
    /** See {@link Dialect#appendChanges}; {@code null} on MariaDB/MySQL. */
    final String appendChanges;
    final String insertMetaKeeping;
    final String removeMeta;
    final String clearRecords;
    final String clearIndex;
    final String appendChange;
    final String changesAfter;
    final String lastChange;
    final String pruneChanges;

    /** The statements of one node: {@link #node} is new for each. */
    Sql(String prefix, Dialect dialect) {
        this.dialect = dialect;
        this.node = newNodeId();
        records = prefix + "_records";
        index = prefix + "_index";
        meta = prefix + "_meta";
        changes = prefix + "_changes";

        getRecord = "SELECT sealed FROM " + records + " WHERE id = ?";
        lockRecordAndGeneration = "SELECT r.sealed, (SELECT m.value FROM " + meta + " m WHERE m.name = ?) FROM "
                + records + " r WHERE r.id = ? FOR UPDATE";
        insertRecord = dialect.insertKeeping(records, "id, sealed", "?, ?", "id");
        updateRecord = "UPDATE " + records + " SET sealed = ? WHERE id = ?";
        upsertRecord = dialect.upsert(records, "id", "sealed");
        removeRecord = "DELETE FROM " + records + " WHERE id = ?";
        countRecords = "SELECT COUNT(*) FROM " + records;
        allRecords = "SELECT id, sealed FROM " + records;
        lookup = "SELECT e.record_id, r.sealed FROM " + index + " e LEFT JOIN " + records + " r ON r.id = e.record_id"
                + " WHERE e.generation = ? AND e.field = ? AND e.blind = ?";
        getEntry = "SELECT record_id FROM " + index + " WHERE generation = ? AND field = ? AND blind = ?";
        lockEntry = getEntry + " FOR UPDATE";
        insertEntry = dialect.insertKeeping(index, "generation, field, blind, record_id", "?, ?, ?, ?",
                "generation, field, blind");
        upsertEntry = dialect.upsert(index, "generation, field, blind", "record_id");
        removeEntry = "DELETE FROM " + index + " WHERE generation = ? AND field = ? AND blind = ?";
        moveEntry = "UPDATE " + index + " SET blind = ? WHERE generation = ? AND field = ? AND blind = ?"
                + " AND record_id = ?";
        entriesOf = "SELECT blind, record_id FROM " + index + " WHERE generation = ? AND field = ?";
        firstEntriesOf = "SELECT field, blind FROM " + index + " WHERE generation = ? ORDER BY field, blind LIMIT ?";
        getMeta = "SELECT value FROM " + meta + " WHERE name = ?";
        lockMeta = getMeta + " FOR UPDATE";
        upsertMeta = dialect.upsert(meta, "name", "value");
        advanceCounter = dialect.advanceCounter(meta);
        appendChanges = dialect.appendChanges(meta, changes);
        insertMetaKeeping = dialect.insertKeeping(meta, "name, value", "?, ?", "name");
        removeMeta = "DELETE FROM " + meta + " WHERE name = ?";
        clearRecords = "DELETE FROM " + records;
        clearIndex = "DELETE FROM " + index;
        appendChange = "INSERT INTO " + changes + " (seq, record_id, changed_at) VALUES (?, ?, ?)";
        changesAfter = "SELECT seq, record_id FROM " + changes + " WHERE seq > ? ORDER BY seq";
        lastChange = "SELECT MAX(seq) FROM " + changes;
        pruneChanges = "DELETE FROM " + changes + " WHERE changed_at < ? AND seq < ?";
    }

    private static String newNodeId() {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
