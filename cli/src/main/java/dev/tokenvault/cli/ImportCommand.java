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
    "Imports the tokens of a plaintext token store, keeping their ids. All or nothing: every row is checked first "
            + "(bad values, rows that share a user or token, values the store already holds), every problem row is "
            + "reported by id, and nothing is saved unless every row is fine.",
    "Sources:",
    "  --from zoho-csv FILE  the Zoho SDKs' file store (CSV, header id,user_name,client_id,...,api_domain)",
    "  --from sqlite FILE    an oauthtoken table in SQLite (the Kaizen #192 custom store)",
    "  --from jdbc URL       an oauthtoken table in MySQL or MariaDB (the SDKs' DBStore), e.g.",
    "                        jdbc:mariadb://127.0.0.1:3306/zohooauth --user U --password-file F",
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
        // Read the source before opening the store: the store stays locked only for the checks and the saves.
        List<SourceRow> rows = switch (from) {
            case zoho_csv -> ZohoCsvSource.read(Path.of(source));
            case sqlite -> SqlTableSource.readSqlite(Path.of(source), table);
            case jdbc -> SqlTableSource.readJdbc(source, user,
                    passwordFile == null ? null : Secrets.read(passwordFile, "--password-file", io().in), table);
        };
        String where = from == Kind.jdbc ? SqlTableSource.redact(source) : source;
        Importer.Result result;
        try (TokenVault vault = openStore()) {
            result = Importer.run(vault, rows, dryRun);
        }
        report(r, where, result);
        if (!result.problems().isEmpty()) {
            return result.hasConflict() ? ExitCode.CONFLICT : ExitCode.USAGE;
        }
        return ExitCode.OK;
    }

    private void report(Render r, String where, Importer.Result result) {
        boolean ok = result.problems().isEmpty();
        String notice = ok && !dryRun && result.rows() > 0 ? plaintextNotice(where, result.rows()) : null;
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("source", where);
            doc.put("kind", from.name().replace('_', '-'));
            doc.put("dryRun", dryRun);
            doc.put("rows", result.rows());
            doc.put("imported", result.insertedIds().size());
            doc.put("importedIds", result.insertedIds());
            List<Map<String, Object>> problems = new ArrayList<>();
            for (Importer.Problem p : result.problems()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("row", p.row());
                m.put("id", p.id());
                m.put("kind", p.kind());
                m.put("message", p.message());
                problems.add(m);
            }
            doc.put("problemRows", result.problems().stream().map(Importer.Problem::row).distinct().count());
            doc.put("problems", problems);
            doc.put("plaintextSourceNotice", notice);
            r.json(doc);
            return;
        }
        if (!ok) {
            Map<String, List<String>> byRow = new LinkedHashMap<>();
            for (Importer.Problem p : result.problems()) {
                byRow.computeIfAbsent(p.row(), k -> new ArrayList<>()).add(p.message());
            }
            r.out.println("import refused: " + byRow.size() + " of " + result.rows() + " row(s) of " + where
                    + " have problems; nothing was saved");
            for (Map.Entry<String, List<String>> e : byRow.entrySet()) {
                r.out.println("  " + e.getKey() + ": " + String.join("; ", e.getValue()));
            }
        } else if (dryRun) {
            r.out.println("dry run: all " + result.rows() + " row(s) of " + where
                    + " can be imported; nothing was saved");
        } else {
            r.out.println("imported " + result.insertedIds().size() + " token(s) from " + where + " into "
                    + root.storePath());
            if (notice != null) {
                r.out.println();
                r.out.println(notice);
            }
        }
        r.out.flush();
    }

    private String plaintextNotice(String where, int rows) {
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
