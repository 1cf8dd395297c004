package dev.tokenvault.cli;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;

/**
 * RFC 4180, one record at a time: comma separated, CRLF or LF, double quotes around cells that hold commas, quotes
 * or line breaks; a leading byte order mark is skipped. Cells and records are bounded, so a hostile file cannot make
 * one record fill the memory.
 */
final class CsvReader {
    /** Longer than any field the store keeps (16 KiB of UTF-8) with room for a clear error message from the store. */
    static final int MAX_CELL_CHARS = 65_536;
    static final int MAX_CELLS = 64;

    /** One CSV record and the line it starts on. */
    record Record(int line, List<String> cells) { }

    private static final int NONE = -2;

    private final Reader in;
    private int peeked = NONE;
    private int line = 1;
    private boolean started;

    CsvReader(Reader in) {
        this.in = in;
    }

    /** The next record, or {@code null} at the end. */
    Record next() throws IOException {
        if (!started) {
            started = true;
            if (peek() == '\uFEFF') {
                read();
            }
        }
        if (peek() < 0) {
            return null;
        }
        int startLine = line;
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        while (true) {
            if (peek() == '"') {
                read();
                while (true) {
                    int c = read();
                    if (c < 0) {
                        throw new IllegalArgumentException("line " + startLine + ": a quoted cell is not closed");
                    }
                    if (c == '"') {
                        if (peek() != '"') {
                            break;
                        }
                        read();
                    } else if (c == '\n') {
                        line++;
                    }
                    append(cell, c);
                }
                if (!endOfCell(peek())) {
                    throw new IllegalArgumentException("line " + line + ": text after a closing quote");
                }
            }
            while (!endOfCell(peek())) {
                int c = read();
                if (c == '"') {
                    throw new IllegalArgumentException("line " + line + ": a quote inside an unquoted cell");
                }
                append(cell, c);
            }
            if (cells.size() == MAX_CELLS) {
                throw new IllegalArgumentException("line " + line + ": more than " + MAX_CELLS + " cells");
            }
            cells.add(cell.toString());
            cell.setLength(0);
            int c = read();
            if (c == ',') {
                continue;
            }
            if (c == '\r' && peek() == '\n') {
                read();
            }
            if (c >= 0) {
                line++;
            }
            return new Record(startLine, cells);
        }
    }

    private void append(StringBuilder cell, int c) {
        if (cell.length() == MAX_CELL_CHARS) {
            throw new IllegalArgumentException("line " + line + ": a cell longer than " + MAX_CELL_CHARS
                    + " characters");
        }
        cell.append((char) c);
    }

    private static boolean endOfCell(int c) {
        return c < 0 || c == ',' || c == '\n' || c == '\r';
    }

    private int peek() throws IOException {
        if (peeked == NONE) {
            peeked = in.read();
        }
        return peeked;
    }

    private int read() throws IOException {
        int c = peek();
        peeked = NONE;
        return c;
    }
}
