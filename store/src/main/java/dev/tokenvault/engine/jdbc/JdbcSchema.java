package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.EngineException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tables of a shared store: created from the dialect's schema file when absent (the file a DBA can run by hand),
 * checked to have the layout this engine writes, and seeded with the engine's own metadata rows. Nodes that do this at
 * the same moment agree: every statement keeps what another node created first.
 */
final class JdbcSchema {
    /** The layout this engine reads and writes; a stored {@code engine.format} above it is a newer store. */
    static final long FORMAT_VERSION = 1;
    static final String FORMAT = "engine.format";
    static final String GENERATION = "engine.generation";
    static final String NEXT_GENERATION = "engine.next-generation";
    static final String SEQUENCE = "engine.sequence";

    private JdbcSchema() {
    }

    /** The index generation a {@link #GENERATION} value holds; 0 (the first) when there is none. */
    static int generationOf(byte[] stored) {
        return (int) Jdbc.decodeLong(stored, 0);
    }

    /**
     * A table's columns, in order, and its primary key: a table of the same name with other columns is not a store's,
     * nor one without that key, on which uniqueness across nodes rests (an insert that meets another node's row fails
     * on it, or, on PostgreSQL, does nothing).
     */
    private record Table(List<String> columns, List<String> key) { }

    private static Map<String, Table> layout(Sql sql, String prefix) {
        Map<String, Table> tables = new LinkedHashMap<>();
        tables.put(sql.records, new Table(List.of("id", "sealed"), List.of("id")));
        tables.put(sql.index, new Table(List.of("generation", "field", "blind", "record_id"),
                List.of("generation", "field", "blind")));
        tables.put(sql.meta, new Table(List.of("name", "value"), List.of("name")));
        tables.put(sql.changes, new Table(List.of("seq", "record_id", "changed_at"), List.of("seq")));
        tables.put(JdbcLeases.table(prefix), new Table(List.of("record_id", "holder", "expires_at"),
                List.of("record_id")));
        return tables;
    }

    /** The statements of the dialect's schema file, for {@code prefix}. */
    static List<String> statements(Dialect dialect, String prefix) {
        String text;
        try (InputStream in = JdbcSchema.class.getResourceAsStream(dialect.schemaResource)) {
            if (in == null) {
                throw new IllegalStateException("schema resource missing: " + dialect.schemaResource);
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> out = new ArrayList<>();
        StringBuilder withoutComments = new StringBuilder();
        for (String line : text.replace("${prefix}", prefix).split("\n")) {
            if (!line.trim().startsWith("--")) {
                withoutComments.append(line).append('\n');
            }
        }
        for (String s : withoutComments.toString().split(";")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    /**
     * Creates what is missing when {@code create} is set, checks the layout and the format version, and seeds the
     * engine's rows. Without {@code create} nothing is created or written.
     *
     * @throws EngineException {@code NOT_FOUND} when a table or the store's format row is absent and {@code create}
     *         is not set; {@code UNSUPPORTED_FORMAT} for a table of another layout or a newer format
     * @throws SQLException when the database fails
     */
    static void prepare(Connection c, Dialect dialect, String prefix, Sql sql, boolean create) throws SQLException {
        Map<String, Table> tables = layout(sql, prefix);
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Table> t : tables.entrySet()) {
            if (exists(c, t.getKey())) {
                check(c, t.getKey(), t.getValue()); // before anything is created beside a foreign table
            } else {
                missing.add(t.getKey());
            }
        }
        if (!missing.isEmpty() && !create) {
            throw absent(sql, "it has no table " + String.join(", ", missing));
        }
        if (!missing.isEmpty()) {
            create(c, dialect, prefix, tables.keySet());
            for (Map.Entry<String, Table> t : tables.entrySet()) {
                check(c, t.getKey(), t.getValue());
            }
        }
        if (create) {
            Jdbc.insertKeeping(c, sql.insertMetaKeeping, FORMAT, Jdbc.encodeLong(FORMAT_VERSION));
            Jdbc.insertKeeping(c, sql.insertMetaKeeping, GENERATION, Jdbc.encodeLong(0));
            Jdbc.insertKeeping(c, sql.insertMetaKeeping, NEXT_GENERATION, Jdbc.encodeLong(1));
            Jdbc.insertKeeping(c, sql.insertMetaKeeping, SEQUENCE, Jdbc.encodeLong(0));
        }
        byte[] stored = Jdbc.bytes(c, sql.getMeta, FORMAT);
        if (stored == null && !create) {
            throw absent(sql, "its tables were never opened by tokenvault");
        }
        long format = Jdbc.decodeLong(stored, -1);
        if (format != FORMAT_VERSION) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "the table " + sql.meta + " holds"
                    + " format version " + format + ", and this tokenvault reads version " + FORMAT_VERSION);
        }
    }

    private static EngineException absent(Sql sql, String why) {
        String prefix = sql.records.substring(0, sql.records.length() - "_records".length());
        return new EngineException(EngineException.Kind.NOT_FOUND, "no shared store " + prefix + " in the database: "
                + why + " (and the open was asked not to create one)");
    }

    /**
     * Whether {@code table} exists: only the database's "no such table" says it does not (SQLSTATE 42S02, PostgreSQL's
     * 42P01); any other failure (a lost connection, a missing privilege, a timeout) is thrown, so that an open does
     * not call a store it could not look at absent ({@code NOT_FOUND}) but says why ({@code IO}).
     */
    private static boolean exists(Connection c, String table) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM " + table + " WHERE 1 = 0")) {
            return true;
        } catch (SQLException e) {
            if ("42S02".equals(e.getSQLState()) || "42P01".equals(e.getSQLState())) {
                return false;
            }
            throw e;
        }
    }

    /**
     * Runs the schema file. Another node may create the same tables at the same moment: PostgreSQL may then fail a
     * {@code CREATE TABLE IF NOT EXISTS} with a duplicate; what counts is that the tables exist afterwards.
     */
    private static void create(Connection c, Dialect dialect, String prefix, Collection<String> tables)
            throws SQLException {
        SQLException failure = null;
        for (String statement : statements(dialect, prefix)) {
            try (Statement st = c.createStatement()) {
                st.execute(statement);
            } catch (SQLException e) {
                failure = e;
            }
        }
        if (failure != null) {
            for (String table : tables) {
                if (!exists(c, table)) {
                    throw failure;
                }
            }
        }
    }

    private static void check(Connection c, String name, Table table) throws SQLException {
        checkLayout(c, name, table.columns());
        checkKey(c, name, table.key());
    }

    private static void checkKey(Connection c, String table, List<String> key) throws SQLException {
        Map<Short, String> found = new TreeMap<>();
        try (ResultSet rs = c.getMetaData().getPrimaryKeys(c.getCatalog(), c.getSchema(), table)) {
            while (rs.next()) {
                found.put(rs.getShort("KEY_SEQ"), rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT));
            }
        }
        if (!new ArrayList<>(found.values()).equals(key)) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "the table " + table + " is not a"
                    + " tokenvault table: its primary key is " + found.values() + ", a shared store's is " + key
                    + " (uniqueness across nodes rests on it); create the tables from the schema files unchanged, or"
                    + " choose another tablePrefix");
        }
    }

    private static void checkLayout(Connection c, String table, List<String> columns) throws SQLException {
        List<String> found = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM " + table + " WHERE 1 = 0")) {
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                found.add(rs.getMetaData().getColumnName(i).toLowerCase(Locale.ROOT));
            }
        }
        if (!found.equals(columns)) {
            throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "the table " + table + " is not a"
                    + " tokenvault table: it has the columns " + found + ", a shared store's has " + columns
                    + "; choose another tablePrefix");
        }
    }
}
