package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repository stands alone: no file of the project (build scripts, code, tests, docs, comments) refers to the
 * folder that sat beside the first checkouts, or cites the design notes that lived there. The project's own design
 * notes are docs/ARCHITECTURE.md. {@code .ci/run} runs the same check with {@code git grep}.
 */
class StandaloneRepositoryTest {
    /*
     * The patterns are built from pieces so that this file does not match them itself. They catch a relative path
     * into the outside folder, the vector directory's old location, and a citation of the outside design notes.
     */
    private static final String OUTSIDE = "sha" + "red";
    static final Pattern OUTSIDE_REFERENCE = Pattern.compile(String.join("|",
            "\\.\\./" + OUTSIDE + "/[A-Za-z]",
            OUTSIDE + "/test" + "vectors",
            "DES" + "IGN\\.md"));

    /** Directories that git does not track here: build output, IDE settings, and git's own data. */
    private static final Set<String> SKIPPED_DIRECTORIES = Set.of(".git", "target", ".idea");

    @Test
    void noFileOfTheRepositoryRefersToTheOutsideFolderOrItsDesignNotes() throws IOException {
        Path root = projectRoot();
        List<String> hits = references(root);
        assertTrue(hits.isEmpty(), hits.size() + " reference(s) to a file outside the repository; "
                + "cite docs/ARCHITECTURE.md and load test data from the class path instead:\n"
                + String.join("\n", hits));
    }

    @Test
    void theScanFindsEachKindOfReferenceAndSkipsBuildOutputAndBinaries(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("docs"));
        Files.writeString(dir.resolve("docs/notes.md"),
                "fine\nsee ../" + OUTSIDE + "/Notes for more\nfine\nas DES" + "IGN.md section 3 says\n");
        Files.writeString(dir.resolve("Loader.java"), "// reads " + OUTSIDE + "/test" + "vectors/x.json\n");
        Files.writeString(dir.resolve("clean.txt"), "../" + OUTSIDE + "/ alone, and a " + OUTSIDE + " folder\n");
        Files.createDirectories(dir.resolve("store/target"));
        Files.writeString(dir.resolve("store/target/copy.md"), "../" + OUTSIDE + "/Notes\n");
        Files.write(dir.resolve("data.bin"), ("\0../" + OUTSIDE + "/Notes").getBytes(StandardCharsets.US_ASCII));

        assertEquals(List.of(
                "Loader.java:1: // reads " + OUTSIDE + "/test" + "vectors/x.json",
                "docs/notes.md:2: see ../" + OUTSIDE + "/Notes for more",
                "docs/notes.md:4: as DES" + "IGN.md section 3 says"), references(dir));
    }

    /**
     * The checkout this module belongs to. Maven runs a module's tests in the module's directory, so the root is its
     * parent; it is checked, never searched for further up, since a folder above the checkout is what must not matter.
     */
    static Path projectRoot() {
        Path cwd = Paths.get("").toAbsolutePath().normalize();
        for (Path candidate : new Path[] {cwd.getParent(), cwd}) {
            if (candidate != null && Files.isRegularFile(candidate.resolve("pom.xml"))
                    && Files.isRegularFile(candidate.resolve("store/pom.xml"))
                    && Files.isRegularFile(candidate.resolve(".ci/run"))) {
                return candidate;
            }
        }
        return fail("the project root (with pom.xml, store/pom.xml and .ci/run) is neither " + cwd + " nor its parent");
    }

    /** Every matching line of every text file under {@code root}, as {@code path:line: text}, sorted by path. */
    static List<String> references(Path root) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(Files::isRegularFile)
                    .filter(f -> !inSkippedDirectory(root.relativize(f)))
                    .sorted()
                    .collect(Collectors.toList());
        }
        List<String> hits = new ArrayList<>();
        for (Path f : files) {
            byte[] bytes = Files.readAllBytes(f);
            if (isBinary(bytes)) {
                continue;
            }
            // Decoding replaces malformed bytes instead of failing, so every text file is scanned.
            String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
            for (int i = 0; i < lines.length; i++) {
                if (OUTSIDE_REFERENCE.matcher(lines[i]).find()) {
                    hits.add(root.relativize(f).toString().replace('\\', '/') + ":" + (i + 1) + ": "
                            + lines[i].strip());
                }
            }
        }
        return hits;
    }

    private static boolean inSkippedDirectory(Path relative) {
        for (int i = 0; i < relative.getNameCount() - 1; i++) {
            if (SKIPPED_DIRECTORIES.contains(relative.getName(i).toString())) {
                return true;
            }
        }
        // A git worktree has a .git file instead of a directory.
        return relative.getNameCount() == 1 && relative.getFileName().toString().equals(".git");
    }

    /** As git decides: a NUL byte in the first 8,000 bytes makes a file binary. */
    private static boolean isBinary(byte[] bytes) {
        for (int i = 0; i < Math.min(bytes.length, 8000); i++) {
            if (bytes[i] == 0) {
                return true;
            }
        }
        return false;
    }
}
