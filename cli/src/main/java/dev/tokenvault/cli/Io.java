package dev.tokenvault.cli;

import java.io.Console;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What a command reads and writes besides files: standard input, output and error, the environment and the
 * terminal. Tests build one with their own streams and variables.
 */
public final class Io {
    /** Reads a passphrase without echo; {@code null} when there is no terminal. */
    @FunctionalInterface
    public interface PasswordPrompt {
        char[] read(String prompt);
    }

    final InputStream in;
    final PrintWriter out;
    final PrintWriter err;
    final Map<String, String> env;
    final PasswordPrompt prompt;

    public Io(InputStream in, PrintWriter out, PrintWriter err, Map<String, String> env, PasswordPrompt prompt) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.env = Map.copyOf(env);
        this.prompt = prompt;
    }

    /** The process's own streams, environment and terminal. */
    public static Io system() {
        return new Io(System.in, writer(System.out), writer(System.err), System.getenv(), Io::consolePrompt);
    }

    private static PrintWriter writer(PrintStream stream) {
        return new PrintWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8), true);
    }

    private static char[] consolePrompt(String prompt) {
        Console console = System.console();
        return console == null ? null : console.readPassword("%s", prompt);
    }

    String env(String name) {
        String v = env.get(name);
        return v == null || v.isEmpty() ? null : v;
    }
}
