package dev.tokenvault.cli;

import dev.tokenvault.MasterKey;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.ParentCommand;

/** A command that works on the store: resolves the path and the master key and opens it. */
abstract class StoreCommand implements Callable<Integer> {
    @ParentCommand
    TokenvaultCli root;

    Io io() {
        return root.io;
    }

    /** Opens the existing store; a missing store is an error that says how to make one. */
    TokenVault openStore() {
        Path path = root.storePath();
        if (!Files.exists(path)) {
            throw new CliException(ExitCode.IO, "NO_STORE", "no store at " + path
                    + "; create one with `tokenvault init`, or name it with --store or TOKENVAULT_STORE");
        }
        if (Files.isDirectory(path)) {
            throw new CliException(ExitCode.IO, "NO_STORE", path + " is a directory, not a store file");
        }
        return open(path, masterKey(false));
    }

    static TokenVault open(Path path, MasterKey key) {
        try {
            // The CLI is short-lived: no cache, so no decrypted copies stay in memory longer than needed.
            return TokenVault.builder().path(path).masterKey(key).cacheMaximumSize(0).open();
        } finally {
            key.destroy();
        }
    }

    /**
     * The master key from the first source given: --key-file, --passphrase, TOKENVAULT_MASTER_KEY,
     * TOKENVAULT_PASSPHRASE. Giving two of the options, or setting both variables, is a usage error.
     */
    MasterKey masterKey(boolean creating) {
        if (root.keyFile != null && root.passphrase) {
            throw CliException.usage("give either --key-file or --passphrase, not both");
        }
        if (root.keyFile != null) {
            if (!Files.exists(root.keyFile)) {
                throw CliException.usage("key file " + root.keyFile + " does not exist (make one with "
                        + "`tokenvault keygen --out " + root.keyFile + "`)");
            }
            return MasterKey.fromFile(root.keyFile);
        }
        if (root.passphrase) {
            char[] typed = promptPassphrase("Passphrase for " + root.storePath(), creating);
            try {
                return MasterKey.fromPassphrase(typed);
            } finally {
                Arrays.fill(typed, '\0');
            }
        }
        String base64 = io().env(TokenvaultCli.ENV_MASTER_KEY);
        String passphrase = io().env(TokenvaultCli.ENV_PASSPHRASE);
        if (base64 != null && passphrase != null) {
            throw CliException.usage("both " + TokenvaultCli.ENV_MASTER_KEY + " and " + TokenvaultCli.ENV_PASSPHRASE
                    + " are set; unset one, or give --key-file or --passphrase");
        }
        if (base64 != null) {
            try {
                return MasterKey.fromBase64(base64);
            } catch (TokenStoreException e) {
                throw CliException.usage(TokenvaultCli.ENV_MASTER_KEY + " must hold the base64 text of 32 bytes "
                        + "(make a key with `tokenvault keygen`)");
            }
        }
        if (passphrase != null) {
            char[] chars = passphrase.toCharArray();
            try {
                return MasterKey.fromPassphrase(chars);
            } finally {
                Arrays.fill(chars, '\0');
            }
        }
        throw CliException.usage("no master key: give --key-file FILE or --passphrase, or set "
                + TokenvaultCli.ENV_MASTER_KEY + " or " + TokenvaultCli.ENV_PASSPHRASE);
    }

    /** Prompts without echo; asks twice when a new store (or a new key) is being made. */
    char[] promptPassphrase(String what, boolean confirm) {
        char[] first = io().prompt == null ? null : io().prompt.read(what + ": ");
        if (first == null) {
            throw CliException.usage("--passphrase needs a terminal to prompt on; in scripts set "
                    + TokenvaultCli.ENV_PASSPHRASE + " instead");
        }
        if (first.length == 0) {
            throw CliException.usage("the passphrase must not be empty");
        }
        if (confirm) {
            char[] second = io().prompt.read("Repeat the passphrase: ");
            boolean same = second != null && Arrays.equals(first, second);
            if (second != null) {
                Arrays.fill(second, '\0');
            }
            if (!same) {
                Arrays.fill(first, '\0');
                throw CliException.usage("the passphrases do not match");
            }
        }
        return first;
    }
}
