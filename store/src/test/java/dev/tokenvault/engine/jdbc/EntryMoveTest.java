package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A write that removes a record's entry and puts the same index's new value for it (a refresh's new access token)
 * sends one update of the entry's row: it ends as the removal and the put would, also when the old entry is not
 * where the write expected it, and a new value another record holds fails with {@code RETRY}, changing nothing.
 */
class EntryMoveTest {
    private static final int ACCESS = 1;
    private static final int REFRESH = 3;

    private TestDatabase db;
    private String prefix;
    private JdbcEngine engine;

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
        if (prefix != null) {
            db.drop(prefix);
        }
    }

    private void open(TestDatabase database) {
        database.assumeAvailable();
        db = database;
        prefix = TestDatabase.freshPrefix();
        engine = JdbcEngine.open(db.dataSource(), prefix);
        engine.commit(new Batch().putRecord("a", bytes("sealed a")).putRecord("b", bytes("sealed b"))
                .putIndex(ACCESS, key("a1"), "a").putIndex(REFRESH, key("a-refresh"), "a")
                .putIndex(ACCESS, key("b1"), "b"));
    }

    /** Stages {@code batch} in a write unit, after reading record a as a save does, and commits it. */
    private void write(Batch batch) {
        engine.beginWrite();
        engine.get("a");
        engine.stage(batch);
        engine.commitStaged();
    }

    private String entry(int index, String value) {
        return engine.getIndex(engine.indexGeneration(), index, key(value));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aMovedEntryNamesTheRecordUnderItsNewValueOnly(TestDatabase database) {
        open(database);
        write(new Batch().putRecord("a", bytes("sealed a2")).removeIndex(ACCESS, key("a1"))
                .putIndex(ACCESS, key("a2"), "a"));
        assertNull(entry(ACCESS, "a1"));
        assertEquals("a", entry(ACCESS, "a2"));
        assertEquals("b", entry(ACCESS, "b1"));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void twoMovesInOneWriteBothLand(TestDatabase database) {
        open(database);
        write(new Batch().removeIndex(ACCESS, key("a1")).putIndex(ACCESS, key("a2"), "a")
                .removeIndex(REFRESH, key("a-refresh")).putIndex(REFRESH, key("a-refresh2"), "a"));
        assertNull(entry(ACCESS, "a1"));
        assertNull(entry(REFRESH, "a-refresh"));
        assertEquals("a", entry(ACCESS, "a2"));
        assertEquals("a", entry(REFRESH, "a-refresh2"));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aMoveFromAValueWithoutAnEntryStillPutsTheNewOne(TestDatabase database) {
        open(database);
        write(new Batch().removeIndex(ACCESS, key("never stored")).putIndex(ACCESS, key("a2"), "a"));
        assertEquals("a", entry(ACCESS, "a2"));
        assertEquals("a", entry(ACCESS, "a1"), "no other entry is touched");
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aMoveFromAnotherRecordsEntryRemovesItAndPutsTheNewOne(TestDatabase database) {
        open(database);
        // the removal names b's entry, the put a's new value: the same as the two ops one by one
        write(new Batch().removeIndex(ACCESS, key("b1")).putIndex(ACCESS, key("a2"), "a"));
        assertNull(entry(ACCESS, "b1"));
        assertEquals("a", entry(ACCESS, "a2"));
    }

    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aMoveOntoAValueAnotherRecordHoldsIsRetryAndChangesNothing(TestDatabase database) {
        open(database);
        EngineException e = assertThrows(EngineException.class, () -> {
            stageMoveOntoBsValue();
            engine.commitStaged();
        });
        assertEquals(EngineException.Kind.RETRY, e.kind(), e.getMessage());
        assertNothingChanged();
    }

    /** In a write that read record a, stages a's move from its access token a1 to b1, which record b holds. */
    private void stageMoveOntoBsValue() {
        engine.beginWrite();
        engine.get("a");
        engine.stage(new Batch().putRecord("a", bytes("sealed a2")).removeIndex(ACCESS, key("a1"))
                .putIndex(ACCESS, key("b1"), "a"));
    }

    private void assertNothingChanged() {
        assertEquals("a", entry(ACCESS, "a1"));
        assertEquals("b", entry(ACCESS, "b1"));
        assertEquals("sealed a", new String(engine.get("a"), StandardCharsets.UTF_8));
    }

    /** On PostgreSQL the record update and the move wait for the unit's next round trip: a read of the write sends them. */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aReadInsideTheWriteSeesTheMoveItStaged(TestDatabase database) {
        open(database);
        engine.beginWrite();
        engine.get("a");
        engine.stage(new Batch().putRecord("a", bytes("sealed a2")).removeIndex(ACCESS, key("a1"))
                .putIndex(ACCESS, key("a2"), "a"));
        int generation = engine.indexGeneration();
        assertEquals("a", engine.getIndex(generation, ACCESS, key("a2")));
        assertNull(engine.getIndex(generation, ACCESS, key("a1")));
        engine.commitStaged();
        assertEquals("a", entry(ACCESS, "a2"));
        assertNull(entry(ACCESS, "a1"));
        assertEquals("sealed a2", new String(engine.get("a"), StandardCharsets.UTF_8));
    }

    /** MariaDB runs the move at the stage, PostgreSQL with the write's next round trip, here a read. */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aMoveOntoATakenValueFailsAtTheStageOrTheWritesNextReadAndChangesNothing(TestDatabase database) {
        open(database);
        EngineException e = assertThrows(EngineException.class, () -> {
            stageMoveOntoBsValue();
            engine.getIndex(engine.indexGeneration(), REFRESH, key("a-refresh"));
        });
        assertEquals(EngineException.Kind.RETRY, e.kind(), e.getMessage());
        engine.discardStaged("test");
        assertNothingChanged();
    }

    private static byte[] key(String value) {
        byte[] k = new byte[16];
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(v, 0, k, 0, Math.min(v.length, 16));
        return k;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
