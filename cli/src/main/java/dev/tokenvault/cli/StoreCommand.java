package dev.tokenvault.cli;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import picocli.CommandLine.ParentCommand;

/** A command that works on the store: resolves the path and the master key and opens it. */
abstract class StoreCommand implements Callable<Integer> {
    @ParentCommand
    TokenvaultCli root;

    Io io() {
        return root.io;
    }

    /**
     * Whether this command only reads the store: then {@link #openStore()} opens it read-only, so that it works on a
     * store the user may only read and leaves every file as it was (no lock file, no redo log, not even an mtime).
     */
    boolean readsOnly() {
        return false;
    }

    /**
     * Opens the existing store, read-only when the command {@link #readsOnly()} (a file or a shared store alike); a
     * missing store is an error that says how to make one.
     */
    TokenVault openStore() {
        StoreLocation where = root.storeLocation();
        try {
            // createIfMissing(false) and readOnly(): the library checks for the store under its lock, so nothing
            // races the check
            return open(where, masterKey(false), readsOnly() ? TokenVault.Builder::readOnly
                    : b -> b.createIfMissing(false));
        } catch (TokenStoreException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw new CliException(ExitCode.IO, "NO_STORE", "no store at " + where.display()
                        + "; create one with `tokenvault init`, or name it with --store or TOKENVAULT_STORE");
            }
            throw e;
        }
    }

    /**
     * Opens the store at {@code where} (creating it only when {@code create}); with --wait, retries while another
     * process holds a store file. Destroys {@code key}.
     */
    TokenVault open(StoreLocation where, MasterKey key, boolean create) {
        return open(where, key, b -> b.createIfMissing(create));
    }

    /** {@link #open(StoreLocation, MasterKey, boolean)} with the open mode set by {@code mode}. */
    private TokenVault open(StoreLocation where, MasterKey key, UnaryOperator<TokenVault.Builder> mode) {
        try {
            // The CLI is short-lived: no cache, so no decrypted copies stay in memory longer than needed.
            return whileLocked(where.display(),
                    () -> mode.apply(where.builder().masterKey(key).cacheMaximumSize(0)).open());
        } finally {
            key.destroy();
        }
    }

    /**
     * Runs {@code attempt}; with --wait, runs it again every {@value #LOCK_RETRY_MILLIS} ms while it fails with
     * {@code LOCKED}, until the wait is over. {@code attempt} must change nothing when it fails with {@code LOCKED}.
     */
    <T> T whileLocked(String what, Supplier<T> attempt) {
        long deadline = root.waitFor == null ? 0 : System.nanoTime() + root.waitFor.toNanos();
        while (true) {
            try {
                return attempt.get();
            } catch (TokenStoreException e) {
                if (e.code() != ErrorCode.LOCKED || System.nanoTime() - deadline >= 0) {
                    throw e;
                }
            }
            try {
                Thread.sleep(LOCK_RETRY_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException(ExitCode.LOCKED, "LOCKED", "interrupted while waiting for " + what);
            }
        }
    }

    static final long LOCK_RETRY_MILLIS = 200;

    /**
     * The master key from the first source given: --key-file, --passphrase, TOKENVAULT_MASTER_KEY,
     * TOKENVAULT_PASSPHRASE. Giving two of the options, or setting both variables, is a usage error.
     */
    MasterKey masterKey(boolean creating) {
        return masterKey(creating, root::storeName);
    }

    /**
     * {@link #masterKey(boolean)} for the store {@code storeName} names, shown in the passphrase prompt (asked only
     * when it prompts): copy names its source, and so never resolves the store of --store or TOKENVAULT_STORE.
     */
    MasterKey masterKey(boolean creating, Supplier<String> storeName) {
        if (root.keyFile != null && root.passphrase) {
            throw CliException.usage("give either --key-file or --passphrase, not both");
        }
        if (root.keyFile != null) {
            return keyFromFile(root.keyFile, "key file");
        }
        if (root.passphrase) {
            char[] typed = promptPassphrase("Passphrase for " + storeName.get(), creating,
                    TokenvaultCli.ENV_PASSPHRASE);
            try {
                if (creating) {
                    checkNewPassphrase(typed);
                }
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
                        + "(make a key with `tokenvault keygen --reveal`)");
            }
        }
        if (passphrase != null) {
            char[] chars = passphrase.toCharArray();
            try {
                if (creating) {
                    checkNewPassphrase(chars);
                }
                return MasterKey.fromPassphrase(chars);
            } finally {
                Arrays.fill(chars, '\0');
            }
        }
        throw CliException.usage("no master key: give --key-file FILE or --passphrase, or set "
                + TokenvaultCli.ENV_MASTER_KEY + " or " + TokenvaultCli.ENV_PASSPHRASE);
    }

    /**
     * A key file: the path checked first, so that the message says what is wrong with it. The messages do not repeat
     * the path: a key given where its file's name belongs would be printed with them.
     */
    static MasterKey keyFromFile(Path file, String what) {
        if (Files.isDirectory(file)) {
            throw CliException.usage("the " + what + " given is a directory, not a key file");
        }
        if (!Files.exists(file)) {
            throw CliException.usage("the " + what + " given does not exist (make one with `tokenvault keygen --out"
                    + " FILE`)");
        }
        return MasterKey.fromFile(file);
    }

    /**
     * Passphrases for new keys have at least {@value #MIN_PASSPHRASE_LENGTH} characters unless the command was given
     * {@code --allow-short-passphrase}. Argon2id makes each guess slow, but whoever copies the store file can guess
     * offline for as long as they like: a short passphrase falls to that. Twelve characters is the shortest length
     * at which even lower-case letters alone (26^12, about 2^56 guesses) stay out of reach at Argon2id's cost;
     * an entropy estimate would judge patterns better but cannot be explained in one message.
     */
    void checkNewPassphrase(char[] passphrase) {
        int length = Character.codePointCount(passphrase, 0, passphrase.length);
        if (length < MIN_PASSPHRASE_LENGTH && !allowShortPassphrase()) {
            throw CliException.usage("the new passphrase has " + length + " characters; use at least "
                    + MIN_PASSPHRASE_LENGTH + " (whoever copies the store file can try guesses offline, without "
                    + "limit), or give --allow-short-passphrase to accept the risk");
        }
    }

    static final int MIN_PASSPHRASE_LENGTH = 12;

    /** Whether this command was told to accept a short new passphrase; only commands that make keys say yes. */
    boolean allowShortPassphrase() {
        return false;
    }

    /** Prompts without echo; asks twice when a new store (or a new key) is being made. */
    char[] promptPassphrase(String what, boolean confirm, String environmentVariable) {
        char[] first = io().prompt == null ? null : io().prompt.read(what + ": ");
        if (first == null) {
            // Java 17 reads without echo only through System.console(), which exists only when standard input and
            // standard output are both a terminal; a prompt with echo on would show the passphrase
            throw CliException.usage("cannot prompt for the passphrase without echo: that needs standard input and "
                    + "standard output to be a terminal, and one of them is redirected (or there is no terminal); "
                    + "set " + environmentVariable + " instead (in bash, `read -rs " + environmentVariable
                    + " && export " + environmentVariable + "` reads it without echo), or use a key file");
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
