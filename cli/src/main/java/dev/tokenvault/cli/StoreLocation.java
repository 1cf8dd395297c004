package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a store is: a file (a path), or a shared store in a database (a JDBC URL, see {@link DatabaseStore}). The
 * commands open either through {@link #builder()}; the few that only make sense on a file ask for {@link #file}.
 */
final class StoreLocation implements AutoCloseable {
    private final Path file;
    private final DatabaseStore database;

    private StoreLocation(Path file, DatabaseStore database) {
        this.file = file;
        this.database = database;
    }

    static StoreLocation file(Path file) {
        return new StoreLocation(file, null);
    }

    static StoreLocation database(DatabaseStore database) {
        return new StoreLocation(null, database);
    }

    boolean isDatabase() {
        return database != null;
    }

    /** The store file; a usage error naming {@code command} when the store is in a database. */
    Path file(String command, String why) {
        if (database != null) {
            throw CliException.usage(command + " works on a store file, and " + database.display() + " is a shared"
                    + " store in a database: " + why);
        }
        return file;
    }

    /** A new store file goes where nothing is, in a directory that exists; {@code rule} says so when not. */
    static void requireNewFile(Path path, String rule) {
        if (Files.exists(path)) {
            throw CliException.conflict("a store (or another file) already exists at " + path + "; " + rule);
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw CliException.io("cannot create " + path + ": the directory " + parent + " does not exist", null);
        }
    }

    /** The path or the URL (without any password), fit to print. */
    String display() {
        return database == null ? file.toString() : database.display();
    }

    /** {@code text} with the database password (if any) masked. */
    String scrub(String text) {
        return database == null ? text : database.scrub(text);
    }

    /**
     * A builder naming this store: its path, or the database's pool (opened now, so that connection failures are
     * reported here) and table prefix.
     */
    TokenVault.Builder builder() {
        if (database == null) {
            return TokenVault.builder().path(file);
        }
        TokenVault.Builder b = TokenVault.builder().dataSource(database.dataSource());
        return database.tablePrefix() == null ? b : b.tablePrefix(database.tablePrefix());
    }

    /** Closes the database pool, if one was opened; the vault on it must be closed first. */
    @Override
    public void close() {
        if (database != null) {
            database.close();
        }
    }
}
