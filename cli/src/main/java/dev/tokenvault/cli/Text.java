package dev.tokenvault.cli;

/**
 * Text from a store or an import source made safe to print on a terminal. Whoever controls one row of a CSV file or
 * one user name must not be able to retitle the operator's terminal, move its cursor, overwrite what was printed
 * (ESC, BEL, CR), break a table (newline) or reorder what is shown (bidirectional overrides).
 */
final class Text {
    private Text() {
    }

    /**
     * {@code s} with every C0 control (newline and tab included), DEL, C1 control, bidirectional control and line or
     * paragraph separator written as {@code \x1B} or {@code \u202E}; {@code null} stays {@code null}.
     */
    static String safe(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (unsafe(c)) {
                if (b == null) {
                    b = new StringBuilder(s.length() + 8).append(s, 0, i);
                }
                b.append(c < 0x100 ? String.format("\\x%02X", (int) c) : String.format("\\u%04X", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    static boolean unsafe(char c) {
        return c < 0x20 || (c >= 0x7F && c <= 0x9F)
                || c == '\u061C' || c == '\u200E' || c == '\u200F'
                || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069')
                || c == '\u2028' || c == '\u2029';
    }
}
