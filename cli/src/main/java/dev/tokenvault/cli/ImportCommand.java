package dev.tokenvault.cli;

import dev.tokenvault.TokenVault;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "import", description = {
    "Imports the tokens of a plaintext token store, keeping their ids.",
    "First every row is checked (bad values, rows that share a user or token, values the store already holds); "
            + "every problem row is reported by id, and nothing is saved unless every row is fine.",
    "Then the rows are saved in chunks of 500, each one atomic commit: all or nothing per chunk, not for the "
            + "whole import. If a chunk fails or the import is stopped (SIGTERM, Ctrl-C finish the chunk in "
            + "progress), the chunks before it stay saved and the report names the last saved row; rerun with "
            + "--resume to import the rest.",
    "The source is read twice, a row at a time: memory does not grow with its size.",
    "Sources:",
    "  --from zoho-csv FILE  the Zoho SDKs' file store (CSV)",
    "  --from sqlite FILE    an oauthtoken table in SQLite",
    "  --from jdbc URL       an oauthtoken table in MySQL or MariaDB, e.g.",
    "    jdbc:mariadb://127.0.0.1:3306/zohooauth --user U --password-file F",
    "Exit code 5 when a row conflicts, 2 when a row is invalid (and none conflicts)."})
final class ImportCommand extends StoreCommand {
    enum Kind { zoho_csv, sqlite, jdbc }

    @Option(names = "--from", required = true, paramLabel = "KIND",
            converter = KindConverter.class,
            description = "Source kind: zoho-csv, sqlite or jdbc.")
    Kind from;

    @Parameters(paramLabel = "SOURCE", description = "The CSV or SQLite file, or the JDBC URL.")
    String source;

    @Option(names = "--table", paramLabel = "NAME", defaultValue = "oauthtoken",
            description = "Table name for sqlite and jdbc (default: ${DEFAULT-VALUE}).")
    String table;

    @Option(names = "--user", paramLabel = "USER", description = "Database user (jdbc).")
    String user;

    @Option(names = "--password-file", paramLabel = "FILE",
            description = "File holding the database password, or - for standard input (jdbc).")
    String passwordFile;

    @Option(names = "--dry-run", description = "Check every row and report; save nothing.")
    boolean dryRun;

    @Option(names = "--resume", description = "Skip rows the store already holds identically (same id, same "
            + "fields; for a row without an id, a record with all its fields), as after an interrupted import; rows "
            + "with the same id or values and other content still conflict.")
    boolean resume;

    static final class KindConverter implements picocli.CommandLine.ITypeConverter<Kind> {
        @Override
        public Kind convert(String value) {
            return switch (value) {
                case "zoho-csv", "csv" -> Kind.zoho_csv;
                case "sqlite" -> Kind.sqlite;
                case "jdbc", "mysql", "mariadb" -> Kind.jdbc;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "'" + value + "' is not a source kind; use zoho-csv, sqlite or jdbc");
            };
        }
    }

    @Override
    public Integer call() {
        if (from != Kind.jdbc && (user != null || passwordFile != null)) {
            throw CliException.usage("--user and --password-file apply to --from jdbc only");
        }
        if (from == Kind.zoho_csv && !"oauthtoken".equals(table)) {
            throw CliException.usage("--table applies to --from sqlite and --from jdbc only");
        }
        Render r = root.render();
        if (from == Kind.jdbc && JdbcPasswords.inUrl(source)) {
            io().err.println("tokenvault: warning: the JDBC URL holds a password, which other users of this machine "
                    + "can read in the process list (ps); give it with --password-file FILE instead");
            io().err.flush();
        }
        RowSource rows = switch (from) {
            case zoho_csv -> ZohoCsvSource.of(Path.of(source));
            case sqlite -> SqlTableSource.sqlite(Path.of(source), table);
            case jdbc -> SqlTableSource.jdbc(source, user,
                    passwordFile == null ? null : Secrets.read(passwordFile, "--password-file", io().in), table);
        };
        StopRequest stop = StopRequest.onShutdown();
        try {
            Importer.Result result;
            try (TokenVault vault = openStore()) {
                result = new Importer(vault, resume, Progress.of(io(), r.json, "import"), stop::requested)
                        .run(rows, dryRun);
            }
            report(r, rows.where(), result);
            if (!result.ok()) {
                return result.hasConflict() ? ExitCode.CONFLICT : ExitCode.USAGE;
            }
            return ExitCode.OK;
        } finally {
            stop.release();
        }
    }

    private void report(Render r, String where, Importer.Result result) {
        boolean ok = result.ok();
        String notice = ok && !dryRun && !result.stopped() && result.saved() + result.alreadyPresent() > 0
                ? plaintextNotice(where, result.rows()) : null;
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("source", where);
            doc.put("kind", from.name().replace('_', '-'));
            doc.put("dryRun", dryRun);
            doc.put("resume", resume);
            doc.put("rows", result.rows());
            doc.put("imported", result.saved());
            doc.put("alreadyPresent", result.alreadyPresent());
            doc.put("stopped", result.stopped());
            doc.put("lastSaved", result.lastSaved());
            List<Map<String, Object>> problems = new ArrayList<>();
            for (Importer.Problem p : result.problems()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("row", p.row());
                m.put("place", p.place());
                m.put("id", p.id());
                m.put("kind", p.kind());
                m.put("message", p.message());
                problems.add(m);
            }
            doc.put("problemRows", result.problemRows());
            doc.put("problemCount", result.problemCount());
            doc.put("problems", problems);
            doc.put("plaintextSourceNotice", notice);
            r.json(doc);
            return;
        }
        String skipped = result.alreadyPresent() > 0 ? "; " + result.alreadyPresent()
                + " row(s) were already in the store identically and were skipped" : "";
        if (!ok) {
            r.out.println("import refused: " + result.problemRows() + " of " + result.rows() + " row(s) of " + where
                    + " have problems; nothing was saved");
            Map<String, List<String>> byRow = new LinkedHashMap<>();
            for (Importer.Problem p : result.problems()) {
                byRow.computeIfAbsent(p.ref(), k -> new ArrayList<>()).add(p.message());
            }
            for (Map.Entry<String, List<String>> e : byRow.entrySet()) {
                r.out.println("  " + Text.safe(e.getKey()) + ": " + Text.safe(String.join("; ", e.getValue())));
            }
            if (result.problemCount() > result.problems().size()) {
                r.out.println("  ... and " + (result.problemCount() - result.problems().size())
                        + " more problem(s) not listed (--json lists the first " + Importer.MAX_REPORTED_PROBLEMS
                        + " too)");
            }
        } else if (result.stopped()) {
            r.out.println("import stopped: " + (result.saved() == 0 ? "nothing was saved"
                    : "saved " + result.saved() + " token(s) from " + where + " (through "
                            + Text.safe(result.lastSaved()) + "); the chunk in progress was finished, none was "
                            + "begun after it. Rerun with --resume to import the rest") + skipped);
        } else if (dryRun) {
            r.out.println("dry run: all " + result.rows() + " row(s) of " + where
                    + " can be imported; nothing was saved" + skipped);
        } else {
            r.out.println("imported " + result.saved() + " token(s) from " + where + " into "
                    + root.storeName() + skipped);
            if (notice != null) {
                r.out.println();
                r.out.println(notice);
            }
        }
        r.out.flush();
    }

    private String plaintextNotice(String where, long rows) {
        String how = switch (from) {
            case zoho_csv -> "Check the import (tokenvault list), then delete the file: shred -u " + where
                    + " (or rm, on file systems where shred cannot overwrite in place), and point the SDK at "
                    + "tokenvault instead of its file store.";
            case sqlite -> "Check the import (tokenvault list), then delete the database file: shred -u " + where
                    + " (a DELETE alone leaves the old rows in free pages and the journal; if you keep the file, "
                    + "run: sqlite3 " + where + " \"DELETE FROM " + table + "; VACUUM;\").";
            case jdbc -> "Check the import (tokenvault list), then remove them: DELETE FROM " + table
                    + " (or DROP TABLE " + table + "); copies remain in backups, binary logs and replicas "
                    + "until those age out.";
        };
        return "NOTE: " + where + " still holds these " + rows + " token(s) in plaintext. " + how;
    }
}
