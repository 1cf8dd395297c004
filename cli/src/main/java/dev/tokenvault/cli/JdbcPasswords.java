package dev.tokenvault.cli;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps database passwords out of every message: the ones inside a JDBC URL, in any of the forms MariaDB
 * Connector/J reads, and the one from {@code --password-file}. Key-value forms are masked wherever they appear; the
 * password in user info, and every password found, is replaced wherever its text appears. A driver's own message may echo a password without
 * its key (MariaDB reports {@code Incorrect port value : PASSWORD@host} for user info it cannot parse), so every
 * message is also scrubbed of each password's literal text.
 */
final class JdbcPasswords {
    static final String MASK = "***";
    /** {@code password=}, {@code pwd=}, {@code trustStorePassword=}: in a query, after {@code ;}, or in address=(...). */
    private static final Pattern KEY_VALUE =
            Pattern.compile("(?i)([a-z]*(?:password|passwd|pwd)\\s*=\\s*)([^&;)\\s]*)");

    private final List<String> secrets = new ArrayList<>();

    /** The passwords in {@code url} and {@code extra} (may be null). */
    JdbcPasswords(String url, String extra) {
        add(userInfoPassword(url));
        Matcher kv = KEY_VALUE.matcher(url);
        while (kv.find()) {
            add(kv.group(2));
        }
        add(extra);
    }

    /**
     * {@code //user:password@host}: from the first colon after {@code //} to the last {@code @} before the query, so
     * that a password may hold {@code /} or {@code @} and an {@code @} in a query value ({@code ?user=a@b}) is not
     * mistaken for user info; {@code null} when the URL has none.
     */
    static String userInfoPassword(String url) {
        int start = url.indexOf("//");
        if (start < 0) {
            return null;
        }
        int query = url.indexOf('?', start);
        String beforeQuery = query < 0 ? url : url.substring(0, query);
        int at = beforeQuery.lastIndexOf('@');
        int colon = beforeQuery.indexOf(':', start + 2);
        if (at < 0 || colon < 0 || colon > at || beforeQuery.substring(start + 2, colon).contains("/")) {
            return null;
        }
        return beforeQuery.substring(colon + 1, at);
    }

    private void add(String secret) {
        if (secret == null || secret.isEmpty()) {
            return;
        }
        secrets.add(secret);
        try {
            String decoded = URLDecoder.decode(secret, StandardCharsets.UTF_8);
            if (!decoded.equals(secret)) {
                secrets.add(decoded);
            }
        } catch (IllegalArgumentException e) {
            // not percent-encoded
        }
    }

    /** Whether the URL itself holds a password (other users can read it in the process list). */
    static boolean inUrl(String url) {
        return !new JdbcPasswords(url, null).secrets.isEmpty();
    }

    /** {@code text} with every password form and every known password replaced by {@value #MASK}. */
    String scrub(String text) {
        if (text == null) {
            return null;
        }
        String s = KEY_VALUE.matcher(text).replaceAll("$1" + Matcher.quoteReplacement(MASK));
        // Longest first, so that a password containing another is masked whole.
        List<String> bySize = new ArrayList<>(secrets);
        bySize.sort((a, b) -> b.length() - a.length());
        for (String secret : bySize) {
            s = s.replace(secret, MASK);
        }
        return s;
    }

    /** A URL fit to print. */
    static String redact(String url) {
        return new JdbcPasswords(url, null).scrub(url);
    }
}
