package dev.tokenvault.cli;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps database passwords out of every message: the ones inside a JDBC URL, in any of the forms MariaDB
 * Connector/J reads, and the one from {@code --password-file}. A driver's own message may echo a password without
 * its key (MariaDB reports {@code Incorrect port value : PASSWORD@host} for user info it cannot parse), so every
 * message is also scrubbed of each password's literal text.
 */
final class JdbcPasswords {
    static final String MASK = "***";
    /** {@code //user:password@host}: everything from the first colon after {@code //} to the last {@code @}. */
    private static final Pattern USER_INFO = Pattern.compile("(//[^/:@]*):(.*)@");
    /** {@code password=}, {@code pwd=}, {@code trustStorePassword=}: in a query, after {@code ;}, or in address=(...). */
    private static final Pattern KEY_VALUE =
            Pattern.compile("(?i)([a-z]*(?:password|passwd|pwd)\\s*=\\s*)([^&;)\\s]*)");

    private final List<String> secrets = new ArrayList<>();

    /** The passwords in {@code url} and {@code extra} (may be null). */
    JdbcPasswords(String url, String extra) {
        Matcher m = USER_INFO.matcher(url);
        if (m.find()) {
            add(m.group(2));
        }
        Matcher kv = KEY_VALUE.matcher(url);
        while (kv.find()) {
            add(kv.group(2));
        }
        add(extra);
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
        String s = USER_INFO.matcher(text).replaceAll("$1:" + MASK + "@");
        s = KEY_VALUE.matcher(s).replaceAll("$1" + Matcher.quoteReplacement(MASK));
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
