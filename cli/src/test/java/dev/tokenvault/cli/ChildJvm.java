package dev.tokenvault.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The start of a child JVM's command line: this runtime's {@code java} and the options that the {@code tokenvault}
 * launcher passes on this Java version (README, "Java versions"). Without them a Java 24+ child prints the JDK's
 * warnings about MapDB's and lz4-java's calls on its standard error, which some tests read as the command's output.
 */
final class ChildJvm {
    private ChildJvm() {
    }

    /** {@code java} and the launcher's options for this runtime; the caller adds the rest. */
    static List<String> java() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        int feature = Runtime.version().feature();
        if (feature >= 22) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        if (feature >= 23) {
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        return cmd;
    }
}
