package dev.tokenvault.cli;

import dev.tokenvault.MasterKey;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "rotate-key", description = {
    "Re-wraps the store's keyring under a new master key, in one atomic change; records are not re-encrypted.",
    "Afterwards only the new key opens the store: keep the old one until you have checked the new one works."})
final class RotateKeyCommand extends StoreCommand {
    static final String ENV_NEW_PASSPHRASE = "TOKENVAULT_NEW_PASSPHRASE";

    @ArgGroup(exclusive = true, multiplicity = "1")
    NewKey newKey;

    @Option(names = "--allow-short-passphrase",
            description = "Accept a new passphrase shorter than 12 characters (easier to guess offline).")
    boolean allowShort;

    @Override
    boolean allowShortPassphrase() {
        return allowShort;
    }

    static final class NewKey {
        @Option(names = "--new-key-file", paramLabel = "FILE", required = true,
                description = "The new master key file (make one with `tokenvault keygen --out FILE`).")
        Path file;

        @Option(names = "--new-passphrase", required = true,
                description = "Prompt for a new passphrase (or read $TOKENVAULT_NEW_PASSPHRASE).")
        boolean passphrase;
    }

    @Override
    public Integer call() {
        MasterKey next = newMasterKey();
        Render r = root.render();
        boolean same = sameAsCurrent();
        if (same) {
            io().err.println("tokenvault: warning: the new key is the current one; the store keeps opening with the "
                    + "same " + (newKey.file != null ? "key" : "passphrase") + " (a passphrase gets a new salt)");
            io().err.flush();
        }
        try (TokenVault vault = openStore()) {
            vault.rotateMasterKey(next);
        } finally {
            next.destroy();
        }
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("rotated", "masterKey");
            doc.put("store", root.storeName());
            r.json(doc);
        } else {
            String what = newKey.file != null ? "key in " + newKey.file : "passphrase";
            r.out.println(same ? "the store " + root.storeName() + " still opens with the same " + what
                    : "the store " + root.storeName() + " now opens only with the new " + what);
            r.out.flush();
        }
        return ExitCode.OK;
    }

    /** The new key file holds the same bytes as the current one, or the new passphrase equals the current one. */
    private boolean sameAsCurrent() {
        try {
            if (newKey.file != null && root.keyFile != null) {
                return Files.mismatch(newKey.file, root.keyFile) == -1;
            }
        } catch (java.io.IOException e) {
            return false;
        }
        String current = io().env(TokenvaultCli.ENV_PASSPHRASE);
        return newKey.passphrase && !root.passphrase && root.keyFile == null && current != null
                && current.equals(io().env(ENV_NEW_PASSPHRASE));
    }

    private MasterKey newMasterKey() {
        if (newKey.file != null) {
            return keyFromFile(newKey.file, "new key file");
        }
        String fromEnv = io().env(ENV_NEW_PASSPHRASE);
        char[] chars = fromEnv != null ? fromEnv.toCharArray()
                : promptPassphrase("New passphrase", true, ENV_NEW_PASSPHRASE);
        try {
            checkNewPassphrase(chars);
            return MasterKey.fromPassphrase(chars);
        } finally {
            Arrays.fill(chars, '\0');
        }
    }
}
