package dev.tokenvault.cli;

/**
 * An import source read one row at a time, so that memory does not grow with its size. It can be read more than
 * once: an import checks every row in a first pass and saves in a second.
 */
interface RowSource {
    /** The source as it may be printed (a JDBC URL without its password). */
    String where();

    /** A new pass over the rows, from the first. */
    Cursor open();

    /** One pass; {@link #next()} returns {@code null} after the last row. */
    interface Cursor extends AutoCloseable {
        SourceRow next();

        @Override
        void close();
    }
}
