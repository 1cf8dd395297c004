package dev.tokenvault;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM that a test starts (a worker to kill, a second process to lock out): this runtime's
 * {@code java}, the options an application embedding tokenvault sets on this Java version (README, "Java versions"),
 * then the test class path and the main class. Without those options a Java 24+ child prints the JDK's warnings about
 * MapDB's and lz4-java's calls on its standard error, which these tests read as the child's protocol.
 */
final class ChildJvm {
    private ChildJvm() {
    }

    /** {@code java [embedder's options] -cp CLASSPATH MAIN ARGS}. */
    static List<String> command(Class<?> main, String... args) {
        return command(List.of(), main, args);
    }

    /** {@code java [embedder's options] JVM_OPTIONS -cp CLASSPATH MAIN ARGS}. */
    static List<String> command(List<String> jvmOptions, Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(embedderOptions());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * What README tells an application on this Java version to pass: on 22 and later, native access for lz4-java's
     * JNI library (MapDB hashes with it); on 23 and later, {@code sun.misc.Unsafe} for MapDB's unmapping of the store
     * file. Java 17 accepts the first option too, but needs neither.
     */
    static List<String> embedderOptions() {
        int feature = Runtime.version().feature();
        List<String> options = new ArrayList<>();
        if (feature >= 22) {
            options.add("--enable-native-access=ALL-UNNAMED");
        }
        if (feature >= 23) {
            options.add("--sun-misc-unsafe-memory-access=allow");
        }
        return options;
    }
}
