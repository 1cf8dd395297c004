package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "init", description = "Creates an empty store at --store; refuses when one exists.")
final class InitCommand extends StoreCommand {
    @Option(names = "--allow-short-passphrase",
            description = "Accept a passphrase shorter than 12 characters (easier to guess offline).")
    boolean allowShort;

    @Override
    boolean allowShortPassphrase() {
        return allowShort;
    }

    @Override
    public Integer call() {
        Path path = root.storePath();
        if (Files.exists(path)) {
            throw CliException.conflict("a store (or another file) already exists at " + path
                    + "; init never touches an existing file");
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw CliException.io("cannot create " + path + ": the directory " + parent + " does not exist", null);
        }
        try (TokenVault vault = open(path, masterKey(true), true)) {
            Render r = root.render();
            if (r.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("store", path.toString());
                doc.put("created", true);
                doc.put("currentKeyVersion", vault.stats().currentKeyVersion());
                r.json(doc);
            } else {
                r.out.println("created an empty store at " + path);
                r.out.flush();
            }
        }
        return ExitCode.OK;
    }
}
