package dev.tokenvault.cli;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
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
        StoreLocation where = root.storeLocation();
        if (where.isDatabase()) {
            requireNoStore(where);
        } else {
            StoreLocation.requireNewFile(where.file("init", ""), "init never touches an existing file");
        }
        try (TokenVault vault = open(where, masterKey(true), true)) {
            Render r = root.render();
            if (r.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("store", where.display());
                doc.put("created", true);
                doc.put("currentKeyVersion", vault.stats().currentKeyVersion());
                r.json(doc);
            } else {
                r.out.println("created an empty store at " + where.display());
                r.out.flush();
            }
        }
        return ExitCode.OK;
    }

    /**
     * A database has no file whose presence says that a store is there, so the library answers: an open that may not
     * create a store is {@code NOT_FOUND} when there is none. It is asked with a throwaway key, so that the real one
     * is not spent (and a passphrase not asked for twice); {@code WRONG_KEY} (for the throwaway key) means a store
     * exists.
     */
    private void requireNoStore(StoreLocation where) {
        MasterKey probe = MasterKey.generate();
        try (TokenVault existing = where.builder().masterKey(probe).cacheMaximumSize(0).createIfMissing(false)
                .open()) {
            throw existsAlready(where);
        } catch (TokenStoreException e) {
            if (e.code() == ErrorCode.WRONG_KEY) {
                throw existsAlready(where);
            }
            if (e.code() != ErrorCode.NOT_FOUND) {
                throw e; // the database failed, or holds something else: its own message says what
            }
        } finally {
            probe.destroy();
        }
    }

    private static CliException existsAlready(StoreLocation where) {
        return CliException.conflict("a store already exists at " + where.display() + "; init never touches an"
                + " existing store (name another --table-prefix for a second store in this database)");
    }
}
