package dev.tokenvault.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tokenvault.OAuthToken;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Output: a readable table or one JSON document, secrets masked unless {@code --reveal}. */
final class Render {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    /** The ten token fields, in the order and with the names of the JSON documents. */
    static final String[] FIELDS = {"id", "userName", "clientId", "clientSecret", "refreshToken", "accessToken",
        "grantToken", "expiryTime", "redirectUrl", "apiDomain"};

    final PrintWriter out;
    final boolean json;
    final boolean reveal;

    Render(PrintWriter out, boolean json, boolean reveal) {
        this.out = out;
        this.json = json;
        this.reveal = reveal;
    }

    String secret(String value) {
        return reveal ? value : Secrets.mask(value);
    }

    /** A token as an ordered map of the ten fields; secrets masked unless revealing; absent fields are null. */
    Map<String, Object> token(OAuthToken t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", t.getId());
        m.put("userName", t.getUserName());
        m.put("clientId", t.getClientId());
        m.put("clientSecret", secret(t.getClientSecret()));
        m.put("refreshToken", secret(t.getRefreshToken()));
        m.put("accessToken", secret(t.getAccessToken()));
        m.put("grantToken", secret(t.getGrantToken()));
        m.put("expiryTime", t.getExpiryTime());
        m.put("redirectUrl", t.getRedirectUrl());
        m.put("apiDomain", t.getApiDomain());
        return m;
    }

    void json(Object document) {
        try {
            out.println(MAPPER.writeValueAsString(document));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
        out.flush();
    }

    /** One token, one field per line. */
    void details(OAuthToken t) {
        Map<String, Object> m = token(t);
        int width = 0;
        for (String k : m.keySet()) {
            width = Math.max(width, k.length());
        }
        for (Map.Entry<String, Object> e : m.entrySet()) {
            String value = e.getValue() == null ? "-" : Text.safe(e.getValue().toString());
            if (e.getKey().equals("expiryTime") && e.getValue() != null) {
                value = value + "  (" + expiry(e.getValue().toString()) + ")";
            }
            out.println(pad(e.getKey(), width) + "  " + value);
        }
        out.flush();
    }

    /** Tokens as a table of the columns an operator scans for; {@code get ID} shows every field. */
    void tokenTable(List<OAuthToken> tokens) {
        List<String> header = List.of("ID", "USER", "CLIENT ID", "ACCESS TOKEN", "REFRESH TOKEN", "GRANT TOKEN",
                "EXPIRES", "API DOMAIN");
        List<List<String>> rows = new ArrayList<>();
        for (OAuthToken t : tokens) {
            rows.add(List.of(dash(t.getId()), dash(t.getUserName()), dash(t.getClientId()),
                    dash(secret(t.getAccessToken())), dash(secret(t.getRefreshToken())),
                    dash(secret(t.getGrantToken())),
                    t.getExpiryTime() == null ? "-" : expiry(t.getExpiryTime()), dash(t.getApiDomain())));
            // Every cell escaped: a control character in a user name cannot reach the terminal or break the row.
        }
        table(header, rows);
    }

    void table(List<String> header, List<List<String>> rows) {
        int[] widths = new int[header.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = header.get(i).length();
            for (List<String> row : rows) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        out.println(line(header, widths));
        for (List<String> row : rows) {
            out.println(line(row, widths));
        }
        out.flush();
    }

    private static String line(List<String> cells, int[] widths) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                b.append("  ");
            }
            b.append(i == cells.size() - 1 ? cells.get(i) : pad(cells.get(i), widths[i]));
        }
        return b.toString().stripTrailing();
    }

    static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }

    static String dash(String s) {
        return s == null ? "-" : Text.safe(s);
    }

    /**
     * Epoch milliseconds as an ISO instant, with {@code (expired)} when it has passed; the raw text (escaped) when it
     * is not a number.
     */
    static String expiry(String epochMillis) {
        try {
            long millis = Long.parseLong(epochMillis);
            return Instant.ofEpochMilli(millis) + (millis <= System.currentTimeMillis() ? " (expired)" : "");
        } catch (RuntimeException e) {
            return Text.safe(epochMillis);
        }
    }
}
