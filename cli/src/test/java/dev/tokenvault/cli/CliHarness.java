package dev.tokenvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the CLI in this JVM through picocli's {@code CommandLine.execute}, with its own standard input, output,
 * error, environment and passphrase prompt. Every run is recorded so tests can check all output at once.
 */
final class CliHarness {
    /** One run: exit code, standard output, standard error. */
    record Run(List<String> args, int code, String out, String err) {
        String all() {
            return out + err;
        }

        Run expect(int expected) {
            assertEquals(expected, code, () -> "exit code of " + args + "\n--- out:\n" + out + "\n--- err:\n" + err);
            return this;
        }
    }

    final Path dir;
    final Path store;
    final Path key;
    final Map<String, String> env = new HashMap<>();
    final Deque<char[]> passphrases = new ArrayDeque<>();
    /** The passphrase prompts shown, in order. */
    final List<String> prompts = new ArrayList<>();
    boolean terminal = true;
    /** What the progress line of long commands showed; only while {@link #progressTerminal} is set. */
    final StringWriter progress = new StringWriter();
    boolean progressTerminal;
    final List<Run> runs = new ArrayList<>();

    CliHarness(Path dir) {
        this.dir = dir;
        this.store = dir.resolve("tokens.db");
        this.key = dir.resolve("master.key");
    }

    /** Runs with no standard input. */
    Run run(String... args) {
        return runWithStdin("", args);
    }

    Run runWithStdin(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Io io = new Io(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintWriter(out, true), new PrintWriter(err, true),
                progressTerminal ? new PrintWriter(progress, true) : null, env,
                prompt -> {
                    prompts.add(prompt);
                    return terminal ? passphrases.poll() : null;
                });
        int code = TokenvaultCli.commandLine(io).execute(args);
        Run run = new Run(List.of(args), code, out.toString(), err.toString());
        runs.add(run);
        return run;
    }

    /** {@code --store <store> --key-file <key> args...} */
    Run store(String... args) {
        return run(withStore(args));
    }

    Run storeWithStdin(String stdin, String... args) {
        return runWithStdin(stdin, withStore(args));
    }

    String[] withStore(String... args) {
        String[] all = Arrays.copyOf(new String[] {"--store", store.toString(), "--key-file", key.toString()},
                4 + args.length);
        System.arraycopy(args, 0, all, 4, args.length);
        return all;
    }

    /** A key file and an empty store. */
    CliHarness initStore() {
        run("keygen", "--out", key.toString()).expect(0);
        store("init").expect(0);
        return this;
    }

    /** Writes a secret to a file of its own (mode 0600) and returns its path. */
    String secretFile(String name, String secret) {
        Path f = dir.resolve(name);
        try {
            Files.writeString(f, secret + "\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return f.toString();
    }

    /** Every output of every run so far. */
    String allOutput() {
        StringBuilder b = new StringBuilder();
        for (Run r : runs) {
            b.append(r.out).append(r.err);
        }
        return b.toString();
    }
}
