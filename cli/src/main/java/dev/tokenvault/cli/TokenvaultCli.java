package dev.tokenvault.cli;

import dev.tokenvault.TokenStoreException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code tokenvault}: the operator's command line for a tokenvault store.
 *
 * <p>Tests run it through {@link #commandLine(Io)} and {@link CommandLine#execute}; {@link #main} uses the process's
 * own streams.
 */
@Command(name = "tokenvault",
        scope = ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = TokenvaultCli.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Administers a tokenvault store: an encrypted store of OAuth tokens (the Zoho CRM SDK's TokenStore).",
            "Secrets are masked in every output unless --reveal is given, and are read from files or standard "
                    + "input (-), never from the command line."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:not found (find, get, delete)",
            "2:usage error, or an invalid value",
            "3:wrong master key, or integrity failure",
            "4:store locked by another process",
            "5:conflict (token value held by another record, file exists)",
            "6:I/O error (files, store, source database); also any other failure"},
        footerHeading = "%nKey sources, first that is given wins:%n",
        footer = {
            "  --key-file FILE              32 raw bytes or their base64 text; mode 0600",
            "  --passphrase                 prompts without echo (Argon2id)",
            "  TOKENVAULT_MASTER_KEY        base64 of 32 bytes",
            "  TOKENVAULT_PASSPHRASE        a passphrase, for scripts",
            "Store path: --store, else TOKENVAULT_STORE, else ./tokenvault.db"},
        subcommands = {
            KeygenCommand.class,
            InitCommand.class,
            SaveCommand.class,
            FindCommand.class,
            GetCommand.class,
            ListCommand.class,
            DeleteCommand.class,
            PurgeCommand.class,
            VerifyCommand.class,
            StatsCommand.class,
            RotateKeyCommand.class,
            RotateDataKeyCommand.class,
            RotateIndexKeyCommand.class,
            ResealCommand.class,
            RepairCommand.class,
            CompactCommand.class,
            ImportCommand.class,
            CopyCommand.class,
            DemoCommand.class,
            CommandLine.HelpCommand.class})
public final class TokenvaultCli implements java.util.concurrent.Callable<Integer> {
    static final String ENV_STORE = "TOKENVAULT_STORE";
    static final String ENV_MASTER_KEY = "TOKENVAULT_MASTER_KEY";
    static final String ENV_PASSPHRASE = "TOKENVAULT_PASSPHRASE";
    static final String DEFAULT_STORE = "tokenvault.db";

    @Option(names = "--store", paramLabel = "PATH|URL", scope = ScopeType.INHERIT,
            description = "The store file, or the JDBC URL of a shared store (jdbc:mariadb:, jdbc:mysql:, "
                    + "jdbc:postgresql:; no password in it). Default: $TOKENVAULT_STORE, else tokenvault.db here.")
    String store;

    @Option(names = "--db-user", paramLabel = "USER", scope = ScopeType.INHERIT,
            description = "Database user of a shared store (else $TOKENVAULT_DB_USER, else the URL's user=).")
    String dbUser;

    @Option(names = "--db-password-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "File holding the database password of a shared store, or - for standard input "
                    + "(else $TOKENVAULT_DB_PASSWORD).")
    String dbPasswordFile;

    @Option(names = "--table-prefix", paramLabel = "PREFIX", scope = ScopeType.INHERIT,
            description = "Table prefix of a shared store (default tokenvault).")
    String tablePrefix;

    @Option(names = "--key-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "Master key file (32 bytes or their base64; must not be readable by group or others).")
    Path keyFile;

    @Option(names = "--passphrase", scope = ScopeType.INHERIT,
            description = "Prompt for a passphrase (no echo; standard input and output must be a terminal) "
                    + "instead of a key file.")
    boolean passphrase;

    @Option(names = "--json", scope = ScopeType.INHERIT,
            description = "Print one JSON document instead of a table.")
    boolean json;

    @Option(names = "--reveal", scope = ScopeType.INHERIT,
            description = "Print secrets in full (a warning goes to standard error).")
    boolean reveal;

    @Option(names = "--wait", paramLabel = "DURATION", scope = ScopeType.INHERIT,
            converter = WaitConverter.class,
            description = "When another process holds the store, retry until DURATION has passed (e.g. 30s, 5m; "
                    + "at most 24h) instead of failing at once.")
    Duration waitFor;

    /** Options that keygen and demo do not use: not listed in their help, refused if given after them. */
    static final List<String> STORE_OPTIONS = List.of("--store", "--key-file", "--passphrase",
            "--wait", "--db-user", "--db-password-file", "--table-prefix");

    final Io io;

    public TokenvaultCli(Io io) {
        this.io = io;
    }

    /** The configured command line: output to {@code io}, exit codes mapped from store errors. */
    public static CommandLine commandLine(Io io) {
        TokenvaultCli root = new TokenvaultCli(io);
        CommandLine cl = new CommandLine(root);
        cl.setOut(io.out);
        cl.setErr(io.err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // Ids kept by an import may begin with '-': `get -x1...` must read it as an id, not an option.
        cl.setUnmatchedOptionsArePositionalParams(true);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> root.fail(e));
        // Plain help: the output passes through TerminalSafeWriter, which would show colour codes as text.
        cl.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        cl.setParameterExceptionHandler(TokenvaultCli::usageError);
        cl.setExecutionStrategy(parseResult -> root.executeReportingErrors(parseResult));
        for (String name : new String[] {"keygen", "demo"}) {
            CommandLine.Model.CommandSpec spec = cl.getSubcommands().get(name).getCommandSpec();
            for (String option : STORE_OPTIONS) {
                spec.remove(spec.findOption(option));
            }
            spec.usageMessage().footerHeading("").footer(new String[0]); // key sources and store path do not apply
        }
        return cl;
    }

    /** A usage error: one line and where to read more, not the whole help. */
    static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println("tokenvault: " + (e instanceof CommandLine.UnmatchedArgumentException
                ? CommandLineChecks.unmatchedMessage(cl, args) : e.getMessage()));
        err.println("see `" + cl.getCommandSpec().qualifiedName() + " --help`");
        err.flush();
        return ExitCode.USAGE;
    }

    /**
     * Runs the command picocli chose. An unknown command is a usage error even when --help follows it; an
     * {@link Error} (out of memory, for one) ends with one line and the I/O exit code, never a stack trace.
     */
    int execute(CommandLine.ParseResult parseResult) {
        if (!parseResult.hasSubcommand() && !parseResult.unmatched().isEmpty()) {
            return usageError(new CommandLine.UnmatchedArgumentException(parseResult.commandSpec().commandLine(),
                    parseResult.unmatched()), parseResult.originalArgs().toArray(new String[0]));
        }
        String twoReaders = CommandLineChecks.twoStdinReaders(parseResult);
        if (twoReaders != null) {
            return fail(CliException.usage(twoReaders));
        }
        try {
            return new CommandLine.RunLast().execute(parseResult);
        } catch (CommandLine.ExecutionException e) {
            throw e;
        } finally {
            closeLocations();
        }
    }

    /** Closes the database pools the command opened (its vaults are closed by then). */
    private void closeLocations() {
        for (StoreLocation location : locations) {
            try {
                location.close();
            } catch (RuntimeException ignored) {
                // the command's own outcome is what counts
            }
        }
        locations.clear();
    }

    /** {@link #execute} with an {@link Error} reported as one line. */
    int executeReportingErrors(CommandLine.ParseResult parseResult) {
        try {
            return execute(parseResult);
        } catch (Error e) {
            io.err.println("tokenvault: stopped by " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")")
                    + (e instanceof OutOfMemoryError ? "; give the JVM more memory (JAVA_TOOL_OPTIONS=-Xmx...)" : ""));
            io.err.flush();
            return ExitCode.IO;
        }
    }

    public static void main(String[] args) {
        Io io = Io.system();
        int code = commandLine(io).execute(args);
        io.out.flush();
        io.err.flush();
        System.exit(code);
    }

    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Without a command: a usage error like any other, one line and where to read more; exit code 2. */
    @Override
    public Integer call() {
        io.err.println("tokenvault: missing command");
        io.err.println("see `tokenvault --help`");
        io.err.flush();
        return ExitCode.USAGE;
    }

    /** Reports a failure on standard error (and as a JSON error document with --json); returns the exit code. */
    int fail(Exception e) {
        int code;
        String name;
        String message;
        if (e instanceof CliException ce) {
            code = ce.exitCode();
            name = ce.errorName();
            message = ce.getMessage();
        } else if (e instanceof TokenStoreException te) {
            code = ExitCode.of(te.code());
            name = te.code().name();
            message = switch (te.code()) {
                // on a shared store, LOCKED is an operation that needs the store to itself: the library says which
                case LOCKED -> storeLocation != null && storeLocation.isDatabase() ? te.getMessage()
                        : "the store " + storeNameForMessage() + " is locked: another process has it open (a running "
                        + "application, or another tokenvault command). Stop it or wait for it to finish, then "
                        + "retry" + (waitFor == null ? ", or give --wait DURATION." : " (waited "
                        + (waitFor.toMillis() % 1000 == 0 ? waitFor.toSeconds() + " s" : waitFor.toMillis() + " ms")
                        + ").");
                case WRONG_KEY -> te.getMessage() + ". Check --key-file, TOKENVAULT_MASTER_KEY or the passphrase.";
                case CORRUPT -> "the store " + storeNameForMessage() + " is damaged: " + te.getMessage();
                case UNSUPPORTED_FORMAT -> storeNameForMessage() + " is not a tokenvault store this version can open: "
                        + te.getMessage();
                case IO -> te.getMessage() + permissionHint();
                // the read commands open read-only; only a crashed store's redo log stops them
                case READ_ONLY -> te.getMessage() + ". `tokenvault repair` does that (and changes nothing more when"
                        + " the store is clean).";
                default -> te.getMessage();
            };
        } else {
            code = ExitCode.IO;
            name = "INTERNAL";
            message = "unexpected failure: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
        }
        for (StoreLocation location : locations) {
            message = location.scrub(message);
        }
        io.err.println("tokenvault: " + message);
        io.err.flush();
        if (json) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("code", name);
            error.put("exitCode", code);
            error.put("message", message);
            new Render(io.out, true, false).json(Map.of("error", error));
        }
        return code;
    }

    /** The locations this command resolved; their pools are closed when it ends. */
    private final List<StoreLocation> locations = new ArrayList<>();
    private StoreLocation storeLocation;

    /** The store of --store, else $TOKENVAULT_STORE, else ./tokenvault.db: a file, or a database (a JDBC URL). */
    StoreLocation storeLocation() {
        if (storeLocation == null) {
            if (store != null && store.isEmpty()) {
                throw CliException.usage("--store must name a file or a JDBC URL; it is empty");
            }
            String fromEnv = io.env(ENV_STORE);
            String spec = store != null ? store : fromEnv != null ? fromEnv : DEFAULT_STORE;
            String from = store != null ? "--store" : fromEnv != null ? ENV_STORE
                    : "the default store ./" + DEFAULT_STORE + " (neither --store nor " + ENV_STORE + " is set)";
            storeLocation = location(spec, from, dbUser, dbPasswordFile, "--db-password-file", tablePrefix);
        }
        return storeLocation;
    }

    /**
     * The store {@code spec} names ({@code option} says where it came from): a JDBC URL is a database store, with its
     * user ({@code user}, else $TOKENVAULT_DB_USER, else the URL's), its password (from {@code passwordFile}, else
     * $TOKENVAULT_DB_PASSWORD) and table prefix; anything else is a file, for which those options are usage errors.
     */
    StoreLocation location(String spec, String option, String user, String passwordFile, String passwordOption,
                           String prefix) {
        StoreLocation location;
        if (DatabaseStore.isUrl(spec)) {
            String password = passwordFile != null ? Secrets.read(passwordFile, passwordOption, io.in)
                    : io.env(DatabaseStore.ENV_PASSWORD);
            location = StoreLocation.database(DatabaseStore.of(spec, option, user != null ? user
                    : io.env(DatabaseStore.ENV_USER), password, prefix));
        } else {
            if (user != null || passwordFile != null || prefix != null) {
                throw CliException.usage("--db-user, the password file and table prefix options apply to a shared"
                        + " store in a database (a JDBC URL), and " + option + " names a file");
            }
            location = StoreLocation.file(Path.of(spec));
        }
        locations.add(location);
        return location;
    }

    /** The store file; a usage error when the store is in a database (see {@link StoreLocation#file}). */
    Path storePath(String command, String why) {
        return storeLocation().file(command, why);
    }

    /** For a failure message: the store's name, or the spec as given (without a password) when it did not parse. */
    private String storeNameForMessage() {
        if (storeLocation != null) {
            return storeLocation.display();
        }
        String fromEnv = io.env(ENV_STORE);
        String spec = store != null ? store : fromEnv != null ? fromEnv : DEFAULT_STORE;
        return JdbcPasswords.redact(spec);
    }

    /** The store, fit to print: its path, or its URL without a password. */
    String storeName() {
        return storeLocation().display();
    }

    /** For an I/O failure: says so when the store's directory may not be written (the lock file goes there). */
    private String permissionHint() {
        try {
            if (storeLocation == null || storeLocation.isDatabase()) {
                return "";
            }
            Path dir = storeLocation.file("", "").toAbsolutePath().getParent();
            if (dir != null && Files.isDirectory(dir) && !Files.isWritable(dir)) {
                return " (permission denied: this user may not write in " + dir + ", where the store keeps its "
                        + "lock and redo files)";
            }
        } catch (RuntimeException ignored) {
            // no hint
        }
        return "";
    }

    /** {@code 30s}, {@code 5m}, {@code 1h}, {@code 500ms} or plain seconds; at most a day. */
    static final class WaitConverter implements CommandLine.ITypeConverter<Duration> {
        static final Duration MAX = Duration.ofHours(24);

        @Override
        public Duration convert(String value) {
            Matcher m = Pattern.compile("(\\d{1,9})(ms|s|m|h)?").matcher(value);
            if (!m.matches()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a duration; use e.g. 30s, "
                        + "5m, 1h or 500ms");
            }
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            Duration d = switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofSeconds(n);
            };
            if (d.compareTo(MAX) > 0) {
                throw new CommandLine.TypeConversionException("'" + value + "' is longer than 24h");
            }
            return d;
        }
    }

    Render render() {
        if (reveal) {
            io.err.println("tokenvault: warning: --reveal prints secrets in plain text; they may stay in terminal "
                    + "scrollback, logs and pipes");
            io.err.flush();
        }
        return new Render(io.out, json, reveal);
    }

    /** The version from the build. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Properties p = new Properties();
            try (InputStream in = TokenvaultCli.class.getResourceAsStream("/tokenvault-version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                // fall through to "unknown"
            }
            return new String[] {"tokenvault " + p.getProperty("version", "unknown"),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
