package dev.tokenvault.bench.baseline;

import dev.tokenvault.OAuthToken;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * The design of the Zoho SDK's default file store: one CSV file with the header {@code id,user_name,client_id,
 * client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain}, read whole and scanned
 * for each lookup, rewritten whole for each save or delete. (Unlike the SDK's, this version writes to a temporary
 * file and renames it, so a reader never sees half a file; like the SDK's, it does not fsync.)
 */
public final class CsvFileStore extends ContractBaseline {
    static final String HEADER = String.join(",", Rows.COLUMNS);
    private final Path file;
    private final Object writeLock = new Object();
    /** The rows of the current write transaction; only its thread (holding writeLock) uses it. */
    private List<String[]> txRows;
    private Thread txThread;

    public CsvFileStore(Path file) {
        this.file = file;
        try {
            if (!Files.exists(file)) {
                writeAll(List.of());
            }
        } catch (UncheckedIOException e) {
            throw Rows.io("cannot create " + file, e);
        }
    }

    @Override
    protected String[] byColumn(int col, String value) {
        List<String[]> rows = txThread == Thread.currentThread() ? txRows : readAll();
        for (String[] row : rows) {
            if (value.equals(row[col])) {
                return row;
            }
        }
        return null;
    }

    @Override
    protected <T> T inWriteTransaction(Supplier<T> work) {
        synchronized (writeLock) {
            txRows = readAll();
            txThread = Thread.currentThread();
            try {
                T result = work.get();
                writeAll(txRows);
                return result;
            } finally {
                txThread = null;
                txRows = null;
            }
        }
    }

    @Override
    protected void write(String[] existing, String[] merged) {
        if (existing == null) {
            txRows.add(merged);
        } else {
            txRows.set(txRows.indexOf(existing), merged);
        }
    }

    @Override
    public void bulkLoad(int count, IntFunction<OAuthToken> tokens) {
        synchronized (writeLock) {
            List<String[]> rows = readAll();
            for (int i = 0; i < count; i++) {
                rows.add(Rows.of(tokens.apply(i)));
            }
            writeAll(rows);
        }
    }

    @Override
    public void deleteToken(String id) {
        if (id == null) {
            throw Rows.invalid("id must not be null");
        }
        synchronized (writeLock) {
            List<String[]> rows = readAll();
            if (!rows.removeIf(r -> id.equals(r[Rows.ID]))) {
                throw Rows.notFound(id);
            }
            writeAll(rows);
        }
    }

    @Override
    public List<OAuthToken> getTokens() {
        List<OAuthToken> out = new ArrayList<>();
        for (String[] row : readAll()) {
            out.add(Rows.toToken(row));
        }
        return out;
    }

    @Override
    public void deleteTokens() {
        synchronized (writeLock) {
            writeAll(List.of());
        }
    }

    // ---------------------------------------------------------------- CSV

    private List<String[]> readAll() {
        List<String[]> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line = in.readLine(); // header
            if (line == null || !line.equals(HEADER)) {
                throw new IOException("not a token CSV file (bad header)");
            }
            while ((line = in.readLine()) != null) {
                if (!line.isEmpty()) {
                    rows.add(parse(line));
                }
            }
        } catch (IOException e) {
            throw Rows.io("cannot read " + file, e);
        }
        return rows;
    }

    private void writeAll(List<String[]> rows) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            try (BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                out.write(HEADER);
                out.write('\n');
                StringBuilder sb = new StringBuilder(512);
                for (String[] row : rows) {
                    sb.setLength(0);
                    for (int c = 0; c < Rows.WIDTH; c++) {
                        if (c > 0) {
                            sb.append(',');
                        }
                        quote(sb, row[c]);
                    }
                    sb.append('\n');
                    out.write(sb.toString());
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw Rows.io("cannot write " + file, e);
        }
    }

    /** Absent is an empty field; a value with a comma, quote or line break is quoted, quotes doubled. */
    private static void quote(StringBuilder sb, String v) {
        if (v == null) {
            return;
        }
        boolean needs = false;
        for (int i = 0; i < v.length() && !needs; i++) {
            char ch = v.charAt(i);
            needs = ch == ',' || ch == '"' || ch == '\n' || ch == '\r';
        }
        if (!needs) {
            sb.append(v);
            return;
        }
        sb.append('"').append(v.replace("\"", "\"\"")).append('"');
    }

    static String[] parse(String line) {
        String[] row = new String[Rows.WIDTH];
        int col = 0;
        int i = 0;
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        while (i <= line.length()) {
            if (i == line.length()) {
                row[col] = cur.length() == 0 ? null : cur.toString();
                break;
            }
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cur.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                row[col++] = cur.length() == 0 ? null : cur.toString();
                cur.setLength(0);
                if (col >= Rows.WIDTH) {
                    break;
                }
            } else {
                cur.append(ch);
            }
            i++;
        }
        return row;
    }
}
