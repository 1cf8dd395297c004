package dev.tokenvault.engine.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.RecordEngine;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A node's lookups compare the asked index generation with the one the node knows instead of reading it beside the
 * entry: a lookup that overlaps a switch of generation answers {@code GENERATION_CHANGED}, never an entry of a
 * generation that was no longer current, and a node that opens later reads the switched generation.
 */
class GenerationSwitchTest {
    private static final int ACCESS = 1;
    private static final byte[] KEY = "the value".getBytes(StandardCharsets.UTF_8);

    private TestDatabase db;
    private String prefix;
    private final List<JdbcEngine> engines = new ArrayList<>();

    @AfterEach
    void close() {
        engines.forEach(JdbcEngine::close);
        if (prefix != null) {
            db.drop(prefix);
        }
    }

    private JdbcEngine open(TestDatabase database) {
        database.assumeAvailable();
        db = database;
        if (prefix == null) {
            prefix = TestDatabase.freshPrefix();
        }
        JdbcEngine engine = JdbcEngine.open(db.dataSource(), prefix);
        engines.add(engine);
        return engine;
    }

    /**
     * One thread switches between two generations; after each switch it points the entry of the generation it left
     * at a record named "stale", then back at that generation's own record, and only then switches back. A reader that
     * ever sees "stale" read a generation that was no longer current.
     */
    @ParameterizedTest
    @EnumSource(TestDatabase.class)
    void aLookupThatOverlapsASwitchNeverAnswersFromTheGenerationLeft(TestDatabase database) throws Exception {
        JdbcEngine engine = open(database);
        int first = engine.indexGeneration();
        int second = engine.nextIndexGeneration();
        engine.commit(new Batch().putRecord("one", bytes("1")).putRecord("two", bytes("2"))
                .putRecord("stale", bytes("s")).putIndexIn(first, ACCESS, KEY, "one")
                .putIndexIn(second, ACCESS, KEY, "two"));

        AtomicBoolean done = new AtomicBoolean();
        AtomicLong answered = new AtomicLong();
        AtomicLong changed = new AtomicLong();
        List<String> wrong = new ArrayList<>();
        Thread reader = new Thread(() -> {
            while (!done.get()) {
                int g = engine.indexGeneration();
                RecordEngine.Entry e = engine.getByIndex(g, ACCESS, KEY);
                if (e == RecordEngine.GENERATION_CHANGED) {
                    changed.incrementAndGet();
                    continue;
                }
                answered.incrementAndGet();
                String expected = g == first ? "one" : "two";
                if (e == null || !expected.equals(e.id())) {
                    synchronized (wrong) {
                        wrong.add("generation " + g + " answered " + (e == null ? "nothing" : e.id()));
                    }
                }
            }
        });
        reader.start();
        try {
            int current = first;
            for (int round = 0; round < 150; round++) {
                int next = current == first ? second : first;
                engine.commit(new Batch().switchIndexGeneration(next));
                engine.commit(new Batch().putIndexIn(current, ACCESS, KEY, "stale"));
                engine.commit(new Batch().putIndexIn(current, ACCESS, KEY, current == first ? "one" : "two"));
                current = next;
            }
        } finally {
            done.set(true);
            reader.join();
        }
        assertEquals(List.of(), wrong);
        assertTrue(answered.get() > 0, "the reader got answers (and " + changed.get() + " GENERATION_CHANGED)");

        JdbcEngine later = open(database);
        assertEquals(engine.indexGeneration(), later.indexGeneration(), "a node that opens later reads the switch");
        int other = later.indexGeneration() == first ? second : first;
        assertSame(RecordEngine.GENERATION_CHANGED, later.getByIndex(other, ACCESS, KEY));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
