package dev.tokenvault.cli;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.StoreCopy;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import dev.tokenvault.VerifyReport;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "copy", description = {
    "Copies a store into a new, empty one: a file into a database, a database into a file, or a file into a file.",
    "Nothing is decrypted: sealed records, index entries and keys move as they are, so the copy opens with the same "
            + "master key. The key is checked before anything is written, the counts after the copy, and then the "
            + "copy is verified (exit code 3 when it is not clean).",
    "Stop the writers of a shared store before copying it. An interrupted copy leaves a target that every open "
            + "refuses: remove it (the file, or the tables) and copy again."})
final class CopyCommand extends StoreCommand {
    @Option(names = "--from", required = true, paramLabel = "PATH|URL", description = "The store to copy.")
    String from;

    @Option(names = "--to", required = true, paramLabel = "PATH|URL",
            description = "The new store: a file that does not exist, or a database without this table prefix's store.")
    String to;

    @Option(names = "--from-password-file", paramLabel = "FILE",
            description = "Password of --from's database, or - for standard input (else $TOKENVAULT_DB_PASSWORD).")
    String fromPasswordFile;

    @Option(names = "--to-password-file", paramLabel = "FILE",
            description = "Password of --to's database, or - for standard input (else $TOKENVAULT_DB_PASSWORD).")
    String toPasswordFile;

    @Option(names = "--from-table-prefix", paramLabel = "PREFIX", description = "Table prefix of --from's store.")
    String fromPrefix;

    @Option(names = "--to-table-prefix", paramLabel = "PREFIX", description = "Table prefix of --to's store.")
    String toPrefix;

    @Override
    public Integer call() {
        if (root.store != null || root.dbPasswordFile != null || root.tablePrefix != null) {
            throw CliException.usage("copy names its stores with --from and --to (and their --from-/--to- password"
                    + " file and table prefix options), not --store, --db-password-file or --table-prefix");
        }
        // --db-user names the user of whichever side is a database
        StoreLocation source = root.location(from, "--from", DatabaseStore.isUrl(from) ? root.dbUser : null,
                fromPasswordFile, "--from-password-file", fromPrefix);
        StoreLocation target = root.location(to, "--to", DatabaseStore.isUrl(to) ? root.dbUser : null,
                toPasswordFile, "--to-password-file", toPrefix);
        if (source.display().equals(target.display())) {
            throw CliException.usage("--from and --to name the same store, " + source.display());
        }
        if (!target.isDatabase()) {
            StoreLocation.requireNewFile(target.file("copy", ""), "copy writes a new store only");
        }
        Render r = root.render();
        MasterKey key = masterKey(false, source::display); // copy has no --store: the prompt names --from
        StoreCopy.Report copied;
        VerifyReport verified;
        try (Progress.Ticker ticker = Progress.of(io(), root.json, "copy").ticking()) {
            TokenVault.Builder sourceStore = source.builder().masterKey(key);
            // a file is only read, and its lock keeps writers out while the copy runs
            try {
                copied = StoreCopy.copy(source.isDatabase() ? sourceStore : sourceStore.readOnly(),
                        target.builder());
            } catch (TokenStoreException e) {
                // NOT_FOUND is the missing source: exit 6 like every command's missing store, not 1 (find, get)
                if (e.code() == ErrorCode.NOT_FOUND) {
                    throw new CliException(ExitCode.IO, "NO_STORE", "no store at " + source.display()
                            + " (--from); nothing was copied", e);
                }
                throw e;
            }
            try (TokenVault copy = target.builder().masterKey(key).cacheMaximumSize(0).createIfMissing(false)
                    .open()) {
                verified = copy.verify();
            }
        } finally {
            key.destroy();
        }
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("from", source.display());
            doc.put("to", target.display());
            doc.put("records", copied.records());
            doc.put("indexEntries", copied.indexEntries());
            doc.put("metadataValues", copied.metadataValues());
            doc.put("clean", verified.isClean());
            doc.put("problems", verified.problems());
            r.json(doc);
        } else {
            r.out.println("copied " + source.display() + " to " + target.display() + ": " + copied.records()
                    + " records, " + copied.indexEntries() + " index entries, " + copied.metadataValues()
                    + " key metadata values (counts checked)");
            r.out.println(verified.isClean() ? "verify: clean, the copy opens with the same master key"
                    : "verify: " + verified.problems().size() + " problem(s); run `tokenvault verify` on the copy");
            r.out.flush();
        }
        return verified.isClean() ? ExitCode.OK : ExitCode.KEY_OR_INTEGRITY;
    }
}
