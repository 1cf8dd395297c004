package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Set;
import java.util.SortedSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** {@link MapDbEngine#openReadOnly}: reads, refuses every change, tidies nothing and writes no byte. */
class MapDbReadOnlyEngineTest {
    private static final int INDEXES = 4;
    private static final FileTime LONG_AGO = FileTime.fromMillis(1_000_000_000_000L);

    @TempDir
    Path dir;

    @Test
    void readsRefusesEveryChangeAndLeavesAStaleGenerationForTheNextWriter() throws IOException {
        Path store = dir.resolve("s.db");
        byte[] key = {1, 2, 3};
        int stale;
        try (MapDbEngine writer = MapDbEngine.open(store, INDEXES)) {
            stale = writer.nextIndexGeneration();
            // a build a crash cut short: entries of a generation that never became current
            writer.commit(new Batch().putRecord("r1", bytes("sealed")).putIndex(0, key, "r1")
                    .putIndexIn(stale, 0, key, "r1"));
        }
        Files.setLastModifiedTime(store, LONG_AGO);
        byte[] before = Files.readAllBytes(store);

        try (MapDbEngine reader = MapDbEngine.openReadOnly(store, INDEXES)) {
            assertTrue(reader.isReadOnly());
            assertArrayEquals(bytes("sealed"), reader.get("r1"));
            assertEquals("r1", reader.getByIndex(reader.indexGeneration(), 0, key).id());
            SortedSet<Integer> generations = reader.indexGenerations();
            assertTrue(generations.contains(stale), "nothing discarded at a read-only open: " + generations);
            for (Executable change : new Executable[] {
                () -> reader.stage(new Batch().removeRecord("r1")),
                reader::commitStaged,
                () -> reader.clearIndexGeneration(stale, 10),
                reader::compact}) {
                EngineException e = assertThrows(EngineException.class, change);
                assertEquals(EngineException.Kind.READ_ONLY, e.kind(), e.getMessage());
            }
            assertArrayEquals(bytes("sealed"), reader.get("r1"));
        }
        assertArrayEquals(before, Files.readAllBytes(store));
        assertEquals(LONG_AGO, Files.getLastModifiedTime(store));

        try (MapDbEngine writer = MapDbEngine.open(store, INDEXES)) {
            assertEquals(Set.of(writer.indexGeneration()), writer.indexGenerations(), "a writer discards it");
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
