package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An import far larger than its heap: the CLI runs in a child JVM with a small {@code -Xmx}, so the test fails if
 * the import holds all rows in memory (before streaming, 50,000 rows peaked at 848 MB). By default 80,000 rows under
 * {@code -Xmx96m}: a tenth of what holding them all would take, and about 50 s less CI time than the 200,000 rows it
 * ran before; {@code -Dtokenvault.bigImport.rows=1000000} runs the full million under {@code -Xmx256m} (heap
 * overridable with {@code -Dtokenvault.bigImport.heap}). What does grow with the file is the duplicate check's
 * fingerprint table, about 24 bytes per value (about 8 MB at 80,000 rows, with a transient copy of half that while it
 * grows): at 200,000 rows 64 MB was measured to pass alone but to fail on a loaded machine, so the default leaves room.
 */
class BigImportTest {
    @TempDir
    Path dir;

    @Test
    void aLargeImportStreamsInBoundedHeap() throws Exception {
        int rows = Integer.getInteger("tokenvault.bigImport.rows", 80_000);
        String heap = System.getProperty("tokenvault.bigImport.heap", rows > 200_000 ? "256m" : rows > 80_000 ? "128m" : "96m");
        CliHarness cli = new CliHarness(dir).initStore();
        Path csv = dir.resolve("big.csv");
        writeCsv(csv, rows);

        Path out = dir.resolve("out.json");
        Path err = dir.resolve("err.txt");
        List<String> command = ChildJvm.java();
        command.addAll(List.of("-Xmx" + heap, "-cp", classPath(), TokenvaultCli.class.getName()));
        command.addAll(List.of(cli.withStore("import", "--json", "--from", "zoho-csv", csv.toString())));
        long start = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(15, TimeUnit.MINUTES), "the import did not end");
        String errors = Files.readString(err);
        assertEquals(0, p.exitValue(), () -> "import of " + rows + " rows under -Xmx" + heap + ":\n" + errors);
        System.out.printf("BigImportTest: %,d rows under -Xmx%s imported in %.1f s%n", rows, heap,
                (System.nanoTime() - start) / 1e9);
        JsonNode doc = CommandsTest.JSON.readTree(out.toFile());
        assertEquals(rows, doc.path("imported").asLong());
        assertEquals(rows, CommandsTest.json(cli.store("stats", "--json").expect(0)).path("records").asLong());
    }

    /**
     * SIGTERM in the middle of an import: the commit in progress finishes, the process prints what was saved and
     * ends; {@code --resume} then imports the rest, and the store verifies clean.
     */
    @Test
    void sigtermFinishesTheChunkReportsAndResumeCompletes() throws Exception {
        int rows = 24_000; // 12 chunks: SIGTERM comes after the first two
        CliHarness cli = new CliHarness(dir).initStore();
        Path csv = dir.resolve("big.csv");
        writeCsv(csv, rows);
        Path redo = Path.of(cli.store + ".redo");
        java.nio.file.attribute.FileTime before = Files.exists(redo) ? Files.getLastModifiedTime(redo) : null;
        Path out = dir.resolve("out.txt");
        List<String> command = ChildJvm.java();
        command.addAll(List.of("-cp", classPath(), TokenvaultCli.class.getName()));
        command.addAll(List.of(cli.withStore("import", "--from", "zoho-csv", csv.toString())));
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectErrorStream(true).start();
        // The redo log is written when the store is opened, then at each commit: wait for the first commit after the
        // open, then stop the import as a service manager would.
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        for (int change = 0; change < 2; change++) {
            while (p.isAlive() && System.nanoTime() < deadline
                    && (!Files.exists(redo) || Files.getLastModifiedTime(redo).equals(before))) {
                Thread.sleep(20);
            }
            Thread.sleep(200);
            before = Files.exists(redo) ? Files.getLastModifiedTime(redo) : null;
        }
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        String printed = Files.readString(out);
        if (p.exitValue() == 0) {
            System.out.println("BigImportTest: the import ended before SIGTERM; nothing to check: " + printed);
            return;
        }
        assertEquals(143, p.exitValue(), printed);
        assertTrue(printed.startsWith("import stopped: "), printed);
        long saved = CommandsTest.json(cli.store("stats", "--json").expect(0)).path("records").asLong();
        System.out.println("BigImportTest: SIGTERM after " + saved + " of " + rows + " rows were saved");
        assertEquals(0, saved % Importer.CHUNK_ROWS, "whole chunks only: " + saved);
        assertTrue(saved == 0 ? printed.contains("nothing was saved")
                : printed.contains("saved " + saved + " token(s)") && printed.contains("--resume"), printed);
        CliHarness.Run resumed = cli.store("import", "--resume", "--from", "zoho-csv", csv.toString()).expect(0);
        assertTrue(resumed.out().contains("imported " + (rows - saved) + " token(s)"), resumed.out());
        assertEquals(rows, CommandsTest.json(cli.store("stats", "--json").expect(0)).path("records").asLong());
        cli.store("verify").expect(0);
    }

    /** The test class path: surefire's booter jar names it in its manifest, which java -cp follows. */
    static String classPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    static void writeCsv(Path csv, int rows) throws Exception {
        SplittableRandom random = new SplittableRandom();
        HexFormat hex = HexFormat.of();
        byte[] b = new byte[16];
        try (BufferedWriter w = Files.newBufferedWriter(csv)) {
            w.write(ZohoCsvSource.HEADER);
            w.write("\r\n");
            for (int i = 1; i <= rows; i++) {
                String[] token = new String[2];
                for (int t = 0; t < 2; t++) {
                    random.nextBytes(b);
                    token[t] = "1000." + hex.formatHex(b) + "." + Integer.toHexString(i);
                }
                w.write(i + ",user" + i + "@example.com,1000.CLIENT,client-secret-0123456789," + token[0] + ","
                        + token[1] + ",,1800000000000,,https://www.zohoapis.com\r\n");
            }
        }
    }
}
