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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Package boundaries, read from the sources: {@code dev.tokenvault.crypto} depends only on the JDK and BouncyCastle;
 * the engine packages ({@code dev.tokenvault.engine} and below) never on the API package, crypto or Caffeine;
 * {@code dev.tokenvault.engine} itself (the contract every engine meets) only on the JDK; {@code
 * dev.tokenvault.engine.mapdb} is the only user of MapDB; the module exports only {@code dev.tokenvault}. Both import
 * lines and fully qualified names in the code are checked.
 */
class ArchitectureTest {
    private static final List<String> CRYPTO_ALLOWED =
            List.of("java.", "javax.", "org.bouncycastle.", "dev.tokenvault.crypto.");
    private static final List<String> ENGINE_ALLOWED =
            List.of("java.", "javax.", "org.mapdb.", "dev.tokenvault.engine.");
    /** The contract package, which a second engine implements without MapDB. */
    private static final List<String> ENGINE_CONTRACT_ALLOWED = List.of("java.", "javax.", "dev.tokenvault.engine.");
    private static final String MAPDB = "org.mapdb.";

    private static final Pattern IMPORT = Pattern.compile("(?m)^\\s*import\\s+(?:static\\s+)?([\\w.]+(?:\\.\\*)?)\\s*;");
    private static final Pattern PACKAGE = Pattern.compile("(?m)^\\s*package\\s+([\\w.]+)\\s*;");
    /** A dotted name starting at a top-level package root, e.g. {@code org.mapdb.DB} or {@code dev.tokenvault.X}. */
    private static final Pattern QUALIFIED = Pattern.compile(
            "(?<![\\w.])((?:java|javax|jdk|sun|com|org|net|io|dev|kotlin|scala)(?:\\s*\\.\\s*[A-Za-z_$][\\w$]*)+)");

    /** The module's main source root: {@code store/src/main/java}, found by walking up from the working directory. */
    static Path mainSources() {
        Path start = Paths.get("").toAbsolutePath().normalize();
        for (Path d = start; d != null; d = d.getParent()) {
            for (Path c : new Path[] {d.resolve("src/main/java"), d.resolve("store/src/main/java")}) {
                if (Files.isRegularFile(c.resolve("dev/tokenvault/crypto/AesGcm.java"))) {
                    return c;
                }
            }
        }
        return fail("store/src/main/java with dev/tokenvault/crypto not found above " + start);
    }

    @Test
    void cryptoDependsOnlyOnJdkAndBouncyCastle() throws IOException {
        Path dir = mainSources().resolve("dev/tokenvault/crypto");
        List<String> v = violations(dir, "dev.tokenvault.crypto", CRYPTO_ALLOWED);
        assertTrue(v.isEmpty(), "dev.tokenvault.crypto has forbidden dependencies:\n" + String.join("\n", v));
        assertTrue(javaFiles(dir).size() >= 10, "expected the crypto sources in " + dir);
    }

    @Test
    void engineDependsOnlyOnJdkAndMapDb() throws IOException {
        Path dir = mainSources().resolve("dev/tokenvault/engine");
        List<String> v = violations(dir, "dev.tokenvault.engine", ENGINE_ALLOWED);
        assertTrue(v.isEmpty(), "dev.tokenvault.engine has forbidden dependencies:\n" + String.join("\n", v));
        assertTrue(javaFiles(dir).size() >= 1, "expected the engine sources in " + dir);
    }

    @Test
    void engineContractPackageDependsOnlyOnTheJdk() throws IOException {
        Path dir = mainSources().resolve("dev/tokenvault/engine");
        List<String> v = violations(javaFilesIn(dir), "dev.tokenvault.engine", ENGINE_CONTRACT_ALLOWED);
        assertTrue(v.isEmpty(), "dev.tokenvault.engine has forbidden dependencies:\n" + String.join("\n", v));
        assertTrue(javaFilesIn(dir).size() >= 4, "expected RecordEngine, Batch, EngineException, CommitProbe in " + dir);
    }

    @Test
    void onlyEngineMapdbUsesMapDb() throws IOException {
        Path root = mainSources();
        Path mapdb = root.resolve("dev/tokenvault/engine/mapdb");
        List<Path> others = javaFiles(root.resolve("dev")).stream().filter(p -> !p.startsWith(mapdb)).toList();
        List<String> v = uses(others, MAPDB);
        assertTrue(v.isEmpty(), "MapDB used outside dev.tokenvault.engine.mapdb:\n" + String.join("\n", v));
        assertTrue(others.size() >= 20 && !javaFiles(mapdb).isEmpty(), "expected the main sources in " + root);
    }

    /**
     * JDBC stays in the shared engine: the rest of the library names {@code javax.sql.DataSource} only where the
     * builder takes one and the opener passes it on, so the store needs no driver.
     */
    @Test
    void onlyEngineJdbcUsesJdbc() throws IOException {
        Path root = mainSources();
        Path jdbc = root.resolve("dev/tokenvault/engine/jdbc");
        List<Path> others = javaFiles(root.resolve("dev")).stream().filter(p -> !p.startsWith(jdbc)).toList();
        List<String> v = new ArrayList<>(uses(others, "java.sql."));
        for (String use : uses(others, "javax.sql.")) {
            boolean builder = use.contains("TokenVault.java") || use.contains("VaultOpener.java");
            if (!builder || !use.endsWith("javax.sql.DataSource")) {
                v.add(use);
            }
        }
        assertTrue(v.isEmpty(), "JDBC used outside dev.tokenvault.engine.jdbc:\n" + String.join("\n", v));
        assertTrue(!javaFiles(jdbc).isEmpty(), "expected the shared engine in " + jdbc);
    }

    @Test
    void moduleExportsOnlyTheApiPackage() throws IOException {
        Path mi = mainSources().resolve("module-info.java");
        assertTrue(Files.isRegularFile(mi), "missing " + mi);
        assertEquals(List.of(), moduleViolations(Files.readString(mi, StandardCharsets.UTF_8), mi.toString()));
    }

    static List<String> moduleViolations(String source, String name) {
        String code = stripCommentsAndLiterals(source);
        List<String> out = new ArrayList<>();
        if (Pattern.compile("\\bopen\\s+module\\b").matcher(code).find()) {
            out.add(name + ": an open module opens every package, crypto and engine included");
        }
        Matcher exports = Pattern.compile("\\bexports\\s+([\\w.]+)\\s*(to\\s+[^;]+)?;").matcher(code);
        List<String> exported = new ArrayList<>();
        while (exports.find()) {
            exported.add(exports.group(1));
            if (!"dev.tokenvault".equals(exports.group(1)) || exports.group(2) != null) {
                out.add(name + ": exports " + exports.group(1)
                        + (exports.group(2) == null ? "" : " " + exports.group(2).trim()));
            }
        }
        if (!exported.contains("dev.tokenvault")) {
            out.add(name + ": does not export dev.tokenvault");
        }
        Matcher opens = Pattern.compile("\\bopens\\s+([\\w.]+)").matcher(code);
        while (opens.find()) {
            if (opens.group(1).startsWith("dev.tokenvault.")) {
                out.add(name + ": opens " + opens.group(1));
            }
        }
        return out;
    }

    static List<Path> javaFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return fail("not a directory: " + dir);
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList());
        }
    }

    /** The .java files directly in {@code dir}, not in its subdirectories. */
    static List<Path> javaFilesIn(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList());
        }
    }

    /** Every import or qualified reference to a name starting with {@code prefix} in {@code files}, one line each. */
    static List<String> uses(List<Path> files, String prefix) throws IOException {
        List<String> out = new ArrayList<>();
        for (Path file : files) {
            String code = stripCommentsAndLiterals(Files.readString(file, StandardCharsets.UTF_8));
            for (String ref : references(code)) {
                if (ref.substring(ref.lastIndexOf(' ') + 1).startsWith(prefix)) {
                    out.add(file + ": " + ref);
                }
            }
        }
        return out;
    }

    /** Every forbidden import or qualified reference in the .java files under {@code dir}, one line each. */
    static List<String> violations(Path dir, String expectedPackage, List<String> allowed) throws IOException {
        return violations(javaFiles(dir), expectedPackage, allowed);
    }

    /** Every forbidden import or qualified reference in {@code files}, one line each. */
    static List<String> violations(List<Path> files, String expectedPackage, List<String> allowed) throws IOException {
        List<String> out = new ArrayList<>();
        for (Path file : files) {
            String code = stripCommentsAndLiterals(Files.readString(file, StandardCharsets.UTF_8));
            Matcher pkg = PACKAGE.matcher(code);
            if (!pkg.find()
                    || !(pkg.group(1).equals(expectedPackage) || pkg.group(1).startsWith(expectedPackage + "."))) {
                out.add(file + ": package declaration is not " + expectedPackage);
                continue;
            }
            for (String ref : references(code)) {
                String name = ref.substring(ref.lastIndexOf(' ') + 1);
                if (!allowedName(name, allowed)) {
                    out.add(file + ": " + ref);
                }
            }
        }
        return out;
    }

    /**
     * The imports ({@code "import NAME"}) and fully qualified type references ({@code "qualified reference NAME"}) of
     * {@code code}, which has its comments and literals stripped.
     */
    static List<String> references(String code) {
        List<String> out = new ArrayList<>();
        Matcher imp = IMPORT.matcher(code);
        while (imp.find()) {
            out.add("import " + imp.group(1));
        }
        // Fully qualified names in the body (imports and the package line removed first).
        String body = PACKAGE.matcher(IMPORT.matcher(code).replaceAll(" ")).replaceAll(" ");
        Matcher q = QUALIFIED.matcher(body);
        while (q.find()) {
            String ref = q.group(1).replaceAll("\\s+", "");
            if (namesAType(ref)) {
                out.add("qualified reference " + ref);
            }
        }
        return out;
    }

    /** Whether a dotted name reaches a type (a capitalised segment), so {@code io.read()} on a variable is no package. */
    private static boolean namesAType(String ref) {
        String[] parts = ref.split("\\.");
        for (int i = 1; i < parts.length; i++) {
            if (!parts[i].isEmpty() && Character.isUpperCase(parts[i].charAt(0))) {
                return true;
            }
        }
        return false;
    }

    private static boolean allowedName(String name, List<String> allowed) {
        for (String prefix : allowed) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** Replaces comments, string, text-block and char literals with spaces, keeping line breaks. */
    static String stripCommentsAndLiterals(String src) {
        StringBuilder out = new StringBuilder(src.length());
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            if (c == '/' && i + 1 < n && src.charAt(i + 1) == '/') {
                while (i < n && src.charAt(i) != '\n') {
                    out.append(' ');
                    i++;
                }
            } else if (c == '/' && i + 1 < n && src.charAt(i + 1) == '*') {
                int end = src.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
                blank(src, i, end, out);
                i = end;
            } else if (src.startsWith("\"\"\"", i)) {
                int j = i + 3;
                while (j < n && !src.startsWith("\"\"\"", j)) {
                    j += src.charAt(j) == '\\' ? 2 : 1;
                }
                int end = Math.min(n, j + 3);
                blank(src, i, end, out);
                i = end;
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && src.charAt(j) != c && src.charAt(j) != '\n') {
                    j += src.charAt(j) == '\\' ? 2 : 1;
                }
                int end = Math.min(n, j + 1);
                blank(src, i, end, out);
                i = end;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private static void blank(String src, int from, int to, StringBuilder out) {
        for (int k = from; k < to; k++) {
            out.append(src.charAt(k) == '\n' ? '\n' : ' ');
        }
    }

    // --- The checker must be able to fail: synthetic sources with each kind of violation. ---

    @Test
    void checkerReportsFileAndOffendingImport(@TempDir Path tmp) throws IOException {
        Path crypto = Files.createDirectories(tmp.resolve("crypto"));
        Files.writeString(crypto.resolve("Good.java"), "package dev.tokenvault.crypto;\n"
                + "import java.util.List;\nimport javax.crypto.Mac;\nimport org.bouncycastle.util.Arrays;\n"
                + "import static dev.tokenvault.crypto.Bytes.utf8;\n"
                + "/** See {@link dev.tokenvault.TokenStore} and org.mapdb.DB in prose. */\n"
                + "class Good { String s = \"org.mapdb.DB dev.tokenvault.ErrorCode\"; char c = '\"';\n"
                + "  java.util.Map<String, byte[]> m; int x = org.bouncycastle.util.Pack.bigEndianToInt(null, 0);\n"
                + "  void f(java.io.InputStream io) throws Exception { io.read(); } }\n");
        Files.writeString(crypto.resolve("BadImport.java"), "package dev.tokenvault.crypto;\n"
                + "import java.util.List;\nimport dev.tokenvault.ErrorCode;\nimport org.mapdb.*;\n"
                + "import static dev.tokenvault.engine.Batch.of;\nclass BadImport {}\n");
        Files.writeString(crypto.resolve("BadQualified.java"), "package dev.tokenvault.crypto;\n"
                + "class BadQualified { Object o = new com.github.benmanes.caffeine.cache.Caffeine();\n"
                + "  void f() { dev.tokenvault . TokenStoreException e = null; org.mapdb.DBMaker.memoryDB(); } }\n");
        Files.writeString(crypto.resolve("WrongPackage.java"), "package dev.tokenvault;\nclass WrongPackage {}\n");

        List<String> v = violations(crypto, "dev.tokenvault.crypto", CRYPTO_ALLOWED);
        String all = String.join("\n", v);
        assertTrue(v.stream().noneMatch(s -> s.contains("Good.java")), "false positives:\n" + all);
        assertContains(v, "BadImport.java: import dev.tokenvault.ErrorCode");
        assertContains(v, "BadImport.java: import org.mapdb.*");
        assertContains(v, "BadImport.java: import dev.tokenvault.engine.Batch.of");
        assertContains(v, "BadQualified.java: qualified reference com.github.benmanes.caffeine.cache.Caffeine");
        assertContains(v, "BadQualified.java: qualified reference dev.tokenvault.TokenStoreException");
        assertContains(v, "BadQualified.java: qualified reference org.mapdb.DBMaker.memoryDB");
        assertContains(v, "WrongPackage.java: package declaration");
        assertEquals(7, v.size(), all);

        Path engine = Files.createDirectories(tmp.resolve("engine"));
        Files.writeString(engine.resolve("E.java"), "package dev.tokenvault.engine;\nimport org.mapdb.DB;\n"
                + "import dev.tokenvault.crypto.RecordSeal;\nimport com.github.benmanes.caffeine.cache.Cache;\n"
                + "import dev.tokenvault.TokenVault;\nclass E { org.bouncycastle.util.Arrays a; }\n");
        List<String> e = violations(engine, "dev.tokenvault.engine", ENGINE_ALLOWED);
        assertContains(e, "E.java: import dev.tokenvault.crypto.RecordSeal");
        assertContains(e, "E.java: import com.github.benmanes.caffeine.cache.Cache");
        assertContains(e, "E.java: import dev.tokenvault.TokenVault");
        assertContains(e, "E.java: qualified reference org.bouncycastle.util.Arrays");
        assertEquals(4, e.size(), String.join("\n", e));
    }

    @Test
    void mapDbCheckerCanFail(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("Vault.java");
        Files.writeString(file, "package dev.tokenvault;\nimport org.mapdb.DB;\n/** org.mapdb.HTreeMap in prose */\n"
                + "class Vault { Object o = org.mapdb.Serializer.STRING; String s = \"org.mapdb.CC\"; }\n");
        List<String> v = uses(List.of(file), MAPDB);
        assertContains(v, "Vault.java: import org.mapdb.DB");
        assertContains(v, "Vault.java: qualified reference org.mapdb.Serializer.STRING");
        assertEquals(2, v.size(), String.join("\n", v));
        Path contract = Files.createDirectories(tmp.resolve("engine"));
        Files.writeString(contract.resolve("R.java"), "package dev.tokenvault.engine;\nimport org.mapdb.DB;\n"
                + "import java.util.List;\nclass R { }\n");
        assertContains(violations(javaFilesIn(contract), "dev.tokenvault.engine", ENGINE_CONTRACT_ALLOWED),
                "R.java: import org.mapdb.DB");
    }

    @Test
    void moduleCheckerCanFail() {
        assertEquals(List.of(), moduleViolations("module dev.tokenvault { requires mapdb; exports dev.tokenvault; "
                + "// exports dev.tokenvault.crypto;\n }", "m"));
        assertContains(moduleViolations("module dev.tokenvault { exports dev.tokenvault; exports dev.tokenvault.crypto; }",
                "m"), "m: exports dev.tokenvault.crypto");
        assertContains(moduleViolations("module dev.tokenvault { exports dev.tokenvault.engine to x.y; }", "m"),
                "m: does not export dev.tokenvault");
        assertContains(moduleViolations("open module dev.tokenvault { exports dev.tokenvault; }", "m"),
                "m: an open module");
        assertContains(moduleViolations("module dev.tokenvault { exports dev.tokenvault; opens dev.tokenvault.crypto; }",
                "m"), "m: opens dev.tokenvault.crypto");
    }

    private static void assertContains(List<String> lines, String fragment) {
        assertTrue(lines.stream().anyMatch(l -> l.contains(fragment)),
                "no violation containing \"" + fragment + "\" in:\n" + String.join("\n", lines));
    }
}
