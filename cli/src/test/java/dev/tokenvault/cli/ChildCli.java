package dev.tokenvault.cli;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CLI in a JVM of its own, for the tests that kill it with SIGKILL ({@link Process#destroyForcibly()}) in the
 * middle of a command. Standard output goes to a file; standard error is read as it comes, and the progress line of
 * an import ({@code import: saving 1,500 of 6,000 rows}) is followed, so that a test can kill the import at a known
 * point of its saves.
 */
final class ChildCli {
    /** What SIGKILL makes a JVM exit with (128 + 9): a process that had already ended exits otherwise. */
    static final int KILLED = 137;

    private static final Pattern SAVING = Pattern.compile("import: saving ([0-9,]+) of");

    private final Process process;
    private final Path out;
    private final StringBuilder err = new StringBuilder();
    private final Thread errReader;
    private volatile long savingRows = -1;
    private volatile int savingLines;

    private ChildCli(Process process, Path out) {
        this.process = process;
        this.out = out;
        this.errReader = new Thread(this::readErr, "child-cli-stderr");
        errReader.setDaemon(true);
        errReader.start();
    }

    /**
     * Starts {@code tokenvault args...} in a new JVM: through {@link TokenvaultCli#main} itself, or, with
     * {@code progress}, through {@link WithProgress#main}, which is the same but for the progress line on standard
     * error (the CLI shows it only on a console, which a child process does not have).
     */
    static ChildCli start(Path dir, boolean progress, String... args) throws IOException {
        List<String> command = ChildJvm.java();
        command.addAll(List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", BigImportTest.classPath(),
                (progress ? WithProgress.class : TokenvaultCli.class).getName()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "child-out", ".txt");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.PIPE).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        return new ChildCli(p, out);
    }

    private void readErr() {
        try (Reader r = new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)) {
            StringBuilder line = new StringBuilder();
            char[] buf = new char[4096];
            for (int n = r.read(buf); n >= 0; n = r.read(buf)) {
                synchronized (err) {
                    err.append(buf, 0, n);
                }
                for (int i = 0; i < n; i++) {
                    char c = buf[i];
                    if (c == '\r' || c == '\n') {
                        progressLine(line);
                        line.setLength(0);
                    } else {
                        line.append(c);
                    }
                }
                progressLine(line); // a progress line is flushed without an end: read it as it is
            }
        } catch (IOException e) {
            // the process was killed
        }
    }

    private void progressLine(CharSequence line) {
        Matcher m = SAVING.matcher(line);
        if (m.find()) {
            long rows = Long.parseLong(m.group(1).replace(",", ""));
            if (rows > savingRows) { // each line shows more rows than the one before; a line may be read twice
                savingRows = rows;
                savingLines++;
            }
        }
    }

    /**
     * Waits until the import's progress line has been shown {@code lines} times in the saving pass, or the process
     * ended, or the time ran out; returns whether the process is still running. The first line comes with the first
     * row, and the line is rewritten at most every 250 ms, so the n-th line comes at least (n - 1) / 4 s into the
     * saves; every whole chunk among the rows it shows was committed before it was shown.
     */
    boolean awaitSavingLines(int lines, long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (savingLines < lines && process.isAlive() && System.nanoTime() - deadline < 0) {
            Thread.sleep(1);
        }
        return savingLines >= lines && process.isAlive();
    }

    /** The most rows the progress line has shown in the saving pass; -1 before it began. */
    long savingRows() {
        return savingRows;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL; returns the exit code ({@link #KILLED} when the signal ended it). */
    int kill() throws InterruptedException {
        process.destroyForcibly();
        return awaitExit(60);
    }

    /** Waits for the process to end; returns its exit code. */
    int awaitExit(long timeoutSeconds) throws InterruptedException {
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the child CLI did not end within " + timeoutSeconds + " s:\n" + output());
        }
        try {
            errReader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return process.exitValue();
    }

    /** Standard output and standard error so far. */
    String output() {
        String o;
        try {
            o = Files.readString(out);
        } catch (IOException e) {
            o = "(standard output unreadable: " + e + ")";
        }
        synchronized (err) {
            return o + err;
        }
    }

    /**
     * {@link TokenvaultCli#main} with the progress line written to standard error, as on a console: the only
     * difference from the real entry point, so that a test can see how far the saves have come.
     */
    static final class WithProgress {
        private WithProgress() {
        }

        public static void main(String[] args) {
            PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
            Io io = new Io(System.in, new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8),
                    true), err, err, System.getenv(), prompt -> null);
            int code = TokenvaultCli.commandLine(io).execute(args);
            io.out.flush();
            io.err.flush();
            System.exit(code);
        }
    }
}
