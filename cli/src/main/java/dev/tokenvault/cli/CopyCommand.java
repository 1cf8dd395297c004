package dev.tokenvault.cli;

import dev.tokenvault.ErrorCode;
import dev.tokenvault.MasterKey;
import dev.tokenvault.StoreCopy;
import dev.tokenvault.TokenStoreException;
import dev.tokenvault.TokenVault;
import dev.tokenvault.VerifyReport;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "copy", description = {
    "Copies a store into a new, empty one: a file into a database, a database into a file, or a file into a file.",
    "Nothing is decrypted: sealed records, index entries and keys move as they are, so the copy opens with the same "
            + "master key. The key is checked before anything is written, the counts after the copy, and then the "
            + "copy is verified (exit code 3 when it is not clean).",
    "Stop the writers of a shared store before copying it. A copy to a file is made as FILE.copying and put at "
            + "FILE when whole: an interrupted one leaves only FILE.copying, which the next copy refuses until it is "
            + "removed. An interrupted copy into a database leaves tables that every open refuses: drop them and copy "
            + "again."})
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
        Path targetFile = target.isDatabase() ? null : target.file("copy", "");
        Path unfinished = targetFile == null ? null : unfinished(targetFile);
        if (targetFile != null) {
            StoreLocation.requireNewFile(targetFile, "copy writes a new store only");
            if (Files.exists(unfinished, LinkOption.NOFOLLOW_LINKS)) {
                throw CliException.conflict(unfinished + " exists: a copy to " + targetFile + " was interrupted, or "
                        + "is running now; when none is running, remove " + unfinished + " and copy again");
            }
        }
        Render r = root.render();
        MasterKey key = masterKey(false, source::display); // copy has no --store: the prompt names --from
        StoreCopy.Report copied;
        VerifyReport verified;
        try (Progress.Ticker ticker = Progress.of(io(), root.json, "copy").ticking()) {
            TokenVault.Builder sourceStore = source.builder().masterKey(key);
            // a file is only read, and its lock keeps writers out while the copy runs
            try {
                // a file is copied under another name and put in place when whole (see unfinished())
                // with --wait, a source that a writer holds is waited for: StoreCopy opens it before the target
                copied = whileLocked(source.display(), () -> StoreCopy.copy(
                        source.isDatabase() ? sourceStore : sourceStore.readOnly(),
                        unfinished == null ? target.builder() : TokenVault.builder().path(unfinished)));
            } catch (TokenStoreException e) {
                // NOT_FOUND is the missing source: exit 6 like every command's missing store, not 1 (find, get)
                if (e.code() == ErrorCode.NOT_FOUND) {
                    throw new CliException(ExitCode.IO, "NO_STORE", "no store at " + source.display()
                            + " (--from); nothing was copied", e);
                }
                if (unfinished != null && e.code() != ErrorCode.LOCKED
                        && Files.exists(unfinished, LinkOption.NOFOLLOW_LINKS)) {
                    throw new CliException(ExitCode.of(e.code()), e.code().name(), e.getMessage() + "; nothing is"
                            + " at " + targetFile + ", and the unfinished copy is " + unfinished + ": remove it before"
                            + " copying again", e);
                }
                throw e;
            }
            if (unfinished != null) {
                putInPlace(unfinished, targetFile);
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

    /**
     * Where a copy to the file {@code target} is made: {@code TARGET.copying}, beside it. The target's name appears
     * only when the copy is whole, so a copy that is killed leaves nothing at it. Made in place, a copy killed before
     * its first commit (a second or more, while the first records are read) would leave a store file without records
     * or keys, which an open for writing takes for a new store and initialises: an empty store where the copy was
     * expected. (Killed later, it would leave records without a header, which every open refuses.)
     */
    static Path unfinished(Path target) {
        return companion(target, ".copying");
    }

    /**
     * Puts the whole copy {@code unfinished} at {@code target}, as the library puts a new store file in place: the
     * copy was closed, which synced its file, so its redo log holds nothing to replay and the file moves alone. A redo
     * log at the target's name, which something earlier left without its store, is removed first: it would be
     * replayed onto the copy. A hard link puts the file there, so that a file that appeared at the target meanwhile
     * is never replaced; where the file system has no hard links, an atomic rename once the target is checked absent.
     */
    static void putInPlace(Path unfinished, Path target) {
        try {
            Files.deleteIfExists(companion(unfinished, ".redo"));
            Files.deleteIfExists(companion(target, ".redo"));
            boolean linked;
            try {
                Files.createLink(target, unfinished);
                linked = true;
            } catch (FileAlreadyExistsException e) {
                throw appeared(unfinished, target, e);
            } catch (UnsupportedOperationException | FileSystemException e) {
                linked = false;
            }
            if (linked) {
                Files.delete(unfinished);
            } else if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                throw appeared(unfinished, target, null);
            } else {
                Files.move(unfinished, target, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.deleteIfExists(companion(unfinished, ".lock")); // the copy is in place: nothing opens this name
            Path dir = target.toAbsolutePath().getParent();
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // the new name survives a power cut
            } catch (IOException e) {
                // some file systems cannot sync a directory; the link or rename is still atomic
            }
        } catch (IOException e) {
            throw CliException.io("the copy is whole in " + unfinished + " but could not be put at " + target + ": "
                    + Io.reason(e), e);
        }
    }

    private static CliException appeared(Path unfinished, Path target, Throwable cause) {
        return new CliException(ExitCode.CONFLICT, "CONFLICT", "a file appeared at " + target + " during the copy;"
                + " the copy is whole in " + unfinished + ", and was not put in its place", cause);
    }

    private static Path companion(Path file, String suffix) {
        return file.resolveSibling(file.getFileName() + suffix);
    }
}
