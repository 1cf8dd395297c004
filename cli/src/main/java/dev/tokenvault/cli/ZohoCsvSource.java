package dev.tokenvault.cli;

import dev.tokenvault.OAuthToken;
import java.io.IOException;
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

    static final String HEADER =
            "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,"
                    + "api_domain";

    private ZohoCsvSource() {
    }

    static List<SourceRow> read(Path file) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (NoSuchFileException e) {
            throw CliException.usage("file " + file + " does not exist");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw CliException.usage(file + " is not UTF-8 text, so not a Zoho token file");
        } catch (IOException e) {
            throw CliException.io("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<Record> records;
        try {
            records = parse(text);
        } catch (IllegalArgumentException e) {
            throw CliException.usage(file + ": " + e.getMessage());
        }
        if (records.isEmpty()) {
            throw CliException.usage(file + " is empty; a Zoho token file starts with the header " + HEADER);
        }
        List<String> header = records.get(0).cells;
        List<BiConsumer<OAuthToken, String>> setters = new ArrayList<>();
        int idColumn = -1;
        for (int i = 0; i < header.size(); i++) {
            String name = header.get(i).strip().toLowerCase(Locale.ROOT);
            BiConsumer<OAuthToken, String> setter = COLUMNS.get(name);
            if (setter == null) {
                throw CliException.usage(file + " line 1 is not a Zoho token file header: unknown column \""
                        + header.get(i) + "\" (expected " + HEADER + ", or the nine columns without api_domain)");
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
        List<SourceRow> rows = new ArrayList<>();
        for (Record r : records.subList(1, records.size())) {
            String place = "line " + r.line;
            if (r.cells.size() == 1 && r.cells.get(0).isEmpty()) {
                continue; // blank line
            }
            if (r.cells.size() != header.size()) {
                String id = idColumn >= 0 && idColumn < r.cells.size() ? emptyToNull(r.cells.get(idColumn)) : null;
                rows.add(SourceRow.unreadable(place, id, "has " + r.cells.size() + " cells; the header has "
                        + header.size()));
                continue;
            }
            OAuthToken t = new OAuthToken();
            for (int i = 0; i < header.size(); i++) {
                setters.get(i).accept(t, emptyToNull(r.cells.get(i)));
            }
            rows.add(SourceRow.of(place, t));
        }
        return rows;
    }

    static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    /** One CSV record and the line it starts on. */
    record Record(int line, List<String> cells) { }

    /** RFC 4180: comma separated, CRLF or LF, double quotes around cells that hold commas, quotes or line breaks. */
    static List<Record> parse(String text) {
        List<Record> out = new ArrayList<>();
        int i = 0;
        int n = text.length();
        if (n > 0 && text.charAt(0) == '\uFEFF') {
            i = 1; // byte order mark
        }
        int line = 1;
        while (i < n) {
            int startLine = line;
            List<String> cells = new ArrayList<>();
            StringBuilder cell = new StringBuilder();
            boolean endOfRecord = false;
            while (!endOfRecord) {
                if (i < n && text.charAt(i) == '"') {
                    i++;
                    while (true) {
                        if (i >= n) {
                            throw new IllegalArgumentException("line " + startLine + ": a quoted cell is not closed");
                        }
                        char c = text.charAt(i++);
                        if (c == '"') {
                            if (i < n && text.charAt(i) == '"') {
                                cell.append('"');
                                i++;
                            } else {
                                break;
                            }
                        } else {
                            if (c == '\n') {
                                line++;
                            }
                            cell.append(c);
                        }
                    }
                    if (i < n && text.charAt(i) != ',' && text.charAt(i) != '\n' && text.charAt(i) != '\r') {
                        throw new IllegalArgumentException("line " + line + ": text after a closing quote");
                    }
                }
                while (i < n && text.charAt(i) != ',' && text.charAt(i) != '\n' && text.charAt(i) != '\r') {
                    char c = text.charAt(i++);
                    if (c == '"') {
                        throw new IllegalArgumentException("line " + line + ": a quote inside an unquoted cell");
                    }
                    cell.append(c);
                }
                cells.add(cell.toString());
                cell.setLength(0);
                if (i >= n) {
                    endOfRecord = true;
                } else if (text.charAt(i) == ',') {
                    i++;
                } else {
                    if (text.charAt(i) == '\r') {
                        i++;
                    }
                    if (i < n && text.charAt(i) == '\n') {
                        i++;
                    }
                    line++;
                    endOfRecord = true;
                }
            }
            out.add(new Record(startLine, cells));
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
