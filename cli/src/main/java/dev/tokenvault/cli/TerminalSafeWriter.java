package dev.tokenvault.cli;

import java.io.FilterWriter;
import java.io.IOException;
import java.io.Writer;

/**
 * The last line of defence for everything the CLI prints: every character {@link Text#unsafe} names but the newline
 * is escaped, so a value that a command forgot to escape still cannot drive the terminal. Values in
 * tables are escaped before (newlines included), so they cannot break a row either.
 */
final class TerminalSafeWriter extends FilterWriter {
    TerminalSafeWriter(Writer out) {
        super(out);
    }

    /**
     * Always the {@code \\uXXXX} form: it is also a valid JSON escape of the same character, so a JSON document
     * (Jackson leaves DEL, C1 and bidirectional controls raw) still parses to the exact value.
     */
    @Override
    public void write(int c) throws IOException {
        if (c != '\n' && Text.unsafe((char) c)) {
            out.write(String.format("\\u%04X", c));
        } else {
            out.write(c);
        }
    }

    @Override
    public void write(char[] cbuf, int off, int len) throws IOException {
        for (int i = off; i < off + len; i++) {
            write(cbuf[i]);
        }
    }

    @Override
    public void write(String str, int off, int len) throws IOException {
        for (int i = off; i < off + len; i++) {
            write(str.charAt(i));
        }
    }
}
