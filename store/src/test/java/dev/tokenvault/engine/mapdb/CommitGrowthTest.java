package dev.tokenvault.engine.mapdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.Batch;
import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A commit that needs more room grows the main file by whole 1 MiB pages. The open refuses a length that is no whole
 * number of pages as a store cut short, so a growth must never show one, even for the instant a kill can land in; and
 * a store an earlier build left torn that way (MapDB's own growth wrote its zeros 1 KiB at a time) is finished by the
 * next writer, not refused.
 */
class CommitGrowthTest {
    private static final long PAGE = 1L << 20;
    private static final int RECORD = 10_000;

    @TempDir
    Path dir;

    private static void commitRecords(MapDbEngine engine, int from, int to) {
        Batch batch = new Batch();
        for (int i = from; i < to; i++) {
            batch.putRecord("r" + i, ReplayGrowthTest.filled(RECORD, i));
        }
        engine.commit(batch);
    }

    @Test
    void theFileIsAWholeNumberOfPagesAtEveryMomentOfItsGrowth() throws Exception {
        Path file = dir.resolve("store.db");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong looks = new AtomicLong();
        AtomicLong torn = new AtomicLong(-1);
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            long before = Files.size(file);
            // What a kill would leave, looked at as often as a second core can: the length between two writes.
            Thread watcher = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        long size = Files.size(file);
                        if (size % PAGE != 0) {
                            torn.compareAndSet(-1, size);
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    looks.incrementAndGet();
                }
            });
            watcher.start();
            try {
                for (int i = 0; i < 1000; i += 100) { // a MiB per commit: ten growths
                    commitRecords(engine, i, i + 100);
                }
            } finally {
                stop.set(true);
                watcher.join();
            }
            long grown = Files.size(file) - before;
            assertTrue(grown >= 8 * PAGE, "the test grows the file by at least 8 pages: " + grown + " bytes");
            assertTrue(looks.get() > 100, "the watcher looked " + looks.get() + " times");
            assertEquals(-1, torn.get(), "a length that is no whole number of pages, seen during a growth");
            assertArrayEquals(ReplayGrowthTest.filled(RECORD, 999), engine.get("r999"));
        }
    }

    @Test
    void aGrowthAKillInterruptedIsFinishedByTheNextWriterAndNamedByAReader() throws IOException {
        Path file = dir.resolve("store.db");
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            commitRecords(engine, 0, 200);
        }
        long whole = Files.size(file);
        // What an earlier build left when killed in the middle of a growth: zeros, 1 KiB at a time, past the last page.
        long tornLength = whole + 338 * 1024;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate((int) (tornLength - whole)), whole);
        }
        assertEquals(tornLength, Files.size(file));

        EngineException refused = assertThrows(EngineException.class,
                () -> MapDbEngine.openReadOnly(file, 1).close());
        assertEquals(EngineException.Kind.READ_ONLY, refused.kind(), refused.getMessage());
        assertTrue(refused.getMessage().contains("open it once with write access"), refused.getMessage());
        assertEquals(tornLength, Files.size(file), "a read-only open writes nothing");

        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            assertEquals(whole + PAGE, Files.size(file), "finished to the next whole page");
            assertArrayEquals(ReplayGrowthTest.filled(RECORD, 199), engine.get("r199"));
            commitRecords(engine, 200, 400);
        }
        try (MapDbEngine reader = MapDbEngine.openReadOnly(file, 1)) {
            assertArrayEquals(ReplayGrowthTest.filled(RECORD, 0), reader.get("r0"));
            assertArrayEquals(ReplayGrowthTest.filled(RECORD, 399), reader.get("r399"));
        }
    }

    @Test
    void aLengthThatCutsIntoTheStoresUsedSpaceIsRefusedAsCutShortAndLeftAsItIs() throws IOException {
        Path file = dir.resolve("store.db");
        try (MapDbEngine engine = MapDbEngine.open(file, 1)) {
            commitRecords(engine, 0, 300); // about 3 MiB of records: the used space ends past the second page
        }
        long cut = 2 * PAGE + 1000;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(cut);
        }
        for (boolean readOnly : new boolean[] {false, true}) {
            EngineException e = assertThrows(EngineException.class,
                    () -> (readOnly ? MapDbEngine.openReadOnly(file, 1) : MapDbEngine.open(file, 1)).close());
            assertEquals(EngineException.Kind.CORRUPT, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("cut short"), e.getMessage());
            assertEquals(cut, Files.size(file), "nothing written to a store cut short");
        }
    }
}
