package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * The Zoho SDKs' file token store: a CSV file with the header
 * {@code id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain},
 * or the older nine columns without {@code api_domain} (older SDKs name the user column {@code user_mail}). RFC 4180
 * quoting; an empty cell is an absent field.
 */
final class ZohoCsvSource {
    /** Column name to setter; the columns a Zoho token file may have. */
    static final Map<String, BiConsumer<OAuthToken, String>> COLUMNS = new HashMap<>();

    static {
        COLUMNS.put("id", OAuthToken::setId);
        COLUMNS.put("user_name", OAuthToken::setUserName);
        COLUMNS.put("user_mail", OAuthToken::setUserName);
        COLUMNS.put("client_id", OAuthToken::setClientId);
        COLUMNS.put("client_secret", OAuthToken::setClientSecret);
        COLUMNS.put("refresh_token", OAuthToken::setRefreshToken);
        COLUMNS.put("access_token", OAuthToken::setAccessToken);
        COLUMNS.put("grant_token", OAuthToken::setGrantToken);
        COLUMNS.put("expiry_time", OAuthToken::setExpiryTime);
        COLUMNS.put("redirect_url", OAuthToken::setRedirectUrl);
        COLUMNS.put("api_domain", OAuthToken::setApiDomain);
    }

    /**
     * What a column name looks like: letters, {@code _}, {@code -} and spaces, no digits. An unknown header cell of
     * this shape is quoted in the error; any other (a digit, a dot: a token, a client secret or an id) is not, since a
     * file without its header line has a row of data there.
     */
    private static final Pattern COLUMN_NAME = Pattern.compile("[A-Za-z][A-Za-z_ -]{0,63}");

    static final String HEADER =
            "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,"
                    + "api_domain";

    private ZohoCsvSource() {
    }

    /** The file as a source of rows; checked to exist here, read on each {@link #open()}. */
    static RowSource of(Path file) {
        if ("-".equals(file.toString())) {
            throw CliException.usage("import reads its source twice (it checks every row, then saves), so it needs "
                    + "a file: standard input (-) cannot be read twice");
        }
        if (Files.isDirectory(file)) {
            throw CliException.usage(file + " is a directory, not a Zoho token file");
        }
        if (!Files.exists(file)) {
            throw CliException.usage("file " + file + " does not exist");
        }
        return new RowSource() {
            @Override
            public String where() {
                return file.toString();
            }

            @Override
            public Cursor open() {
                return new CsvCursor(file);
            }
        };
    }

    /** One pass over the file: the header first, then a row per record. */
    private static final class CsvCursor implements RowSource.Cursor {
        private final Path file;
        private final Reader reader;
        private final CsvReader csv;
        private final List<BiConsumer<OAuthToken, String>> setters = new ArrayList<>();
        private int idColumn = -1;
        private long row;

        CsvCursor(Path file) {
            this.file = file;
            try {
                // REPORT: a file that is not UTF-8 fails instead of importing replacement characters.
                this.reader = new BufferedReader(new InputStreamReader(Files.newInputStream(file),
                        StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                                .onUnmappableCharacter(CodingErrorAction.REPORT)), 1 << 16);
            } catch (NoSuchFileException e) {
                throw CliException.usage("file " + file + " does not exist");
            } catch (IOException e) {
                throw CliException.io("cannot read " + file + ": " + Io.reason(e), e);
            }
            this.csv = new CsvReader(reader);
            try {
                header();
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        private void header() {
            CsvReader.Record first = record();
            if (first == null) {
                throw CliException.usage(file + " is empty; a Zoho token file starts with the header " + HEADER);
            }
            List<String> header = first.cells();
            for (int i = 0; i < header.size(); i++) {
                String name = header.get(i).strip().toLowerCase(Locale.ROOT);
                BiConsumer<OAuthToken, String> setter = COLUMNS.get(name);
                if (setter == null) {
                    String cell = header.get(i).strip();
                    String unknown = COLUMN_NAME.matcher(cell).matches() ? "\"" + Text.safe(cell) + "\""
                            : (i + 1) + " (its text is not shown: it looks like data, not a column name, so the"
                                    + " header line may be missing)";
                    throw CliException.usage(file + " line 1 is not a Zoho token file header: unknown column "
                            + unknown + "; the file must begin with the header " + HEADER
                            + ", or the nine columns without api_domain");
                }
                if (name.equals("id")) {
                    idColumn = i;
                }
                setters.add(setter);
            }
            for (String required : new String[] {"refresh_token", "access_token", "grant_token"}) {
                if (header.stream().noneMatch(h -> h.strip().equalsIgnoreCase(required))) {
                    throw CliException.usage(file + " line 1 has no " + required + " column; expected " + HEADER);
                }
            }
        }

        private CsvReader.Record record() {
            try {
                return csv.next();
            } catch (CharacterCodingException e) {
                throw CliException.usage(file + " is not UTF-8 text, so not a Zoho token file");
            } catch (IOException e) {
                throw CliException.io("cannot read " + file + ": " + Io.reason(e), e);
            } catch (IllegalArgumentException e) {
                throw CliException.usage(file + ": " + e.getMessage());
            }
        }

        @Override
        public SourceRow next() {
            while (true) {
                CsvReader.Record r = record();
                if (r == null) {
                    return null;
                }
                if (r.cells().size() == 1 && r.cells().get(0).isEmpty()) {
                    continue; // blank line
                }
                row++;
                if (r.cells().size() != setters.size()) {
                    String id = idColumn >= 0 && idColumn < r.cells().size()
                            ? emptyToNull(r.cells().get(idColumn)) : null;
                    return SourceRow.unreadable(row, "line", r.line(), id, "has " + r.cells().size() + " cells; the header has "
                            + setters.size());
                }
                OAuthToken t = new OAuthToken();
                for (int i = 0; i < setters.size(); i++) {
                    setters.get(i).accept(t, emptyToNull(r.cells().get(i)));
                }
                return SourceRow.of(row, "line", r.line(), t);
            }
        }

        @Override
        public void close() {
            try {
                reader.close();
            } catch (IOException e) {
                // read-only: nothing was lost
            }
        }
    }

    static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /** Every record of {@code text} (tests). */
    static List<CsvReader.Record> parse(String text) {
        CsvReader reader = new CsvReader(new StringReader(text));
        List<CsvReader.Record> out = new ArrayList<>();
        try {
            for (CsvReader.Record r = reader.next(); r != null; r = reader.next()) {
                out.add(r);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** Quotes a cell when RFC 4180 needs it (used by tests and the demo to write token files). */
    static String quote(String cell) {
        if (cell == null) {
            return "";
        }
        if (cell.indexOf(',') >= 0 || cell.indexOf('"') >= 0 || cell.indexOf('\n') >= 0 || cell.indexOf('\r') >= 0) {
            return '"' + cell.replace("\"", "\"\"") + '"';
        }
        return cell;
    }
}
