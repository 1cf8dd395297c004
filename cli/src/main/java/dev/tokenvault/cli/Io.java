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
    /** Standard error as it is, for the progress line's carriage returns; {@code null} when not a terminal. */
    final PrintWriter progress;
    final Map<String, String> env;
    final PasswordPrompt prompt;

    /** Streams with no terminal: no progress is shown. */
    public Io(InputStream in, PrintWriter out, PrintWriter err, Map<String, String> env, PasswordPrompt prompt) {
        this(in, out, err, null, env, prompt);
    }

    /**
     * {@code progress}: where the progress of long commands goes when the output is a terminal, else {@code null}.
     * Standard output and error escape control characters (see {@link TerminalSafeWriter}).
     */
    public Io(InputStream in, PrintWriter out, PrintWriter err, PrintWriter progress, Map<String, String> env,
              PasswordPrompt prompt) {
        this.in = in;
        this.out = new PrintWriter(new TerminalSafeWriter(out), true);
        this.err = new PrintWriter(new TerminalSafeWriter(err), true);
        this.progress = progress;
        this.env = Map.copyOf(env);
        this.prompt = prompt;
    }

    /**
     * The process's own streams, environment and terminal. Progress only when {@link System#console()} exists, that
     * is when standard input and standard output are both a terminal: Java 17 cannot tell whether standard error is
     * one (cli/README.md says so).
     */
    public static Io system() {
        PrintWriter err = writer(System.err);
        return new Io(System.in, writer(System.out), err, System.console() != null ? err : null, System.getenv(),
                Io::consolePrompt);
    }

    /** Why an I/O operation failed, in words: "permission denied" rather than the path again. */
    static String reason(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
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
