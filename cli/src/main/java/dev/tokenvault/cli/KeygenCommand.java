package dev.tokenvault.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "keygen", description = {
    "Makes a new random 256-bit master key and writes it to a new file (--out FILE), or prints it as base64 "
            + "(--reveal).",
    "The file is created with mode 0600 (owner only) and never overwritten. A printed key may stay in terminal "
            + "scrollback, logs and pipes, so printing needs --reveal."})
final class KeygenCommand implements Callable<Integer> {
    @ParentCommand
    TokenvaultCli root;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the key to FILE (created 0600; must not exist)."
            + " Without it, keygen prints the key only with --reveal.")
    Path out;

    @Override
    public Integer call() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        byte[] text = (Base64.getEncoder().encodeToString(key) + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            if (out == null) {
                // a key is a secret: like every secret, printed only when --reveal asks for it
                if (!root.reveal) {
                    throw CliException.usage("keygen writes the new key to a file: give --out FILE (created 0600);"
                            + " to print it instead, give --reveal (a printed key may stay in terminal scrollback,"
                            + " logs and pipes)");
                }
                root.render(); // the --reveal warning
                String base64 = new String(text, StandardCharsets.US_ASCII).strip();
                if (root.json) {
                    new Render(root.io.out, true, false).json(Map.of("masterKey", base64));
                } else {
                    root.io.out.println(base64);
                    root.io.out.flush();
                }
                root.io.err.println("tokenvault: keep this key secret; without it the store cannot be opened");
                root.io.err.flush();
                return ExitCode.OK;
            }
            write(out, text);
            if (root.json) {
                new Render(root.io.out, true, false).json(Map.of("keyFile", out.toString()));
            } else {
                root.io.out.println("wrote a new master key to " + out + " (mode 0600)");
                root.io.out.println("use it with: tokenvault --key-file " + out + " init");
                root.io.out.flush();
            }
            return ExitCode.OK;
        } finally {
            Arrays.fill(key, (byte) 0);
            Arrays.fill(text, (byte) 0);
        }
    }

    /** Creates {@code file} with owner-only permissions set at creation (no window with wider ones). */
    static void write(Path file, byte[] content) {
        boolean posix = file.getFileSystem().supportedFileAttributeViews().contains("posix");
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
        FileAttribute<?>[] attrs = posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(ownerOnly)}
                : new FileAttribute<?>[0];
        try {
            Files.createFile(file, attrs);
        } catch (FileAlreadyExistsException e) {
            throw CliException.conflict(file + " already exists; keygen never overwrites a key file");
        } catch (java.nio.file.NoSuchFileException e) {
            Path parent = file.toAbsolutePath().getParent();
            throw CliException.io("cannot create " + file + ": the directory " + parent + " does not exist", e);
        } catch (IOException e) {
            throw CliException.io("cannot create " + file + ": " + Io.reason(e), e);
        }
        try (OutputStream os = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.SYNC)) {
            os.write(content);
        } catch (IOException e) {
            throw CliException.io("cannot write " + file + ": " + Io.reason(e), e);
        }
    }
}
