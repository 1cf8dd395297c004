package dev.tokenvault.engine.jdbc;

import dev.tokenvault.engine.EngineException;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.Collections;
import java.util.Locale;

/**
 * What differs between the databases the shared engine runs on: the schema file and the few statements whose syntax
 * differs (an upsert, an insert that keeps an existing row). Everything else is plain SQL that MySQL-protocol
 * databases (MariaDB, MySQL, TiDB) and PostgreSQL-protocol ones (PostgreSQL, CockroachDB, YugabyteDB) all accept.
 */
enum Dialect {
    MARIADB("schema-mariadb.sql") {
        @Override
        String upsert(String table, String key, String column) {
            return "INSERT INTO " + table + " (" + key + ", " + column + ") VALUES (" + placeholders(key) + ", ?)"
                    + " ON DUPLICATE KEY UPDATE " + column + " = VALUES(" + column + ")";
        }

        @Override
        String insertKeeping(String table, String columns, String values, String key) {
            // a duplicate key fails this statement only (not the transaction); Jdbc.insertKeeping reads it as "kept".
            // Not INSERT IGNORE, which would turn other errors into warnings.
            return "INSERT INTO " + table + " (" + columns + ") VALUES (" + values + ")";
        }

        @Override
        String advanceCounter(String meta) {
            // No UPDATE ... RETURNING on MariaDB 10.6 or MySQL: LAST_INSERT_ID(n) hands the new value back in the
            // statement's OK packet (read as its generated key); the value column is 8 bytes, big-endian
            return "UPDATE " + meta + " SET value = UNHEX(LPAD(HEX(LAST_INSERT_ID("
                    + "CAST(CONV(HEX(value), 16, 10) AS UNSIGNED) + ?)), 16, '0')) WHERE name = ?";
        }

        @Override
        String appendChanges(String meta, String changes) {
            return null; // a data-modifying statement cannot feed an INSERT here
        }
    },
    POSTGRESQL("schema-postgresql.sql") {
        @Override
        String upsert(String table, String key, String column) {
            return "INSERT INTO " + table + " (" + key + ", " + column + ") VALUES (" + placeholders(key) + ", ?)"
                    + " ON CONFLICT (" + key + ") DO UPDATE SET " + column + " = EXCLUDED." + column;
        }

        @Override
        String insertKeeping(String table, String columns, String values, String key) {
            return "INSERT INTO " + table + " (" + columns + ") VALUES (" + values + ") ON CONFLICT (" + key
                    + ") DO NOTHING";
        }

        @Override
        String advanceCounter(String meta) {
            return "UPDATE " + meta + " SET value = int8send(" + COUNTER + " + ?) WHERE name = ? RETURNING value";
        }

        @Override
        String appendChanges(String meta, String changes) {
            return "WITH c AS (UPDATE " + meta + " SET value = int8send(" + COUNTER + " + ?) WHERE name = ?"
                    + " RETURNING " + COUNTER + " AS last)"
                    + " INSERT INTO " + changes + " (seq, record_id, changed_at)"
                    + " SELECT c.last - ? + u.n, u.id, ? FROM c, unnest(?::bytea[]) WITH ORDINALITY AS u(id, n)";
        }
    };

    /** PostgreSQL: the 8-byte big-endian counter in {@code value} as a bigint. */
    private static final String COUNTER = "('x' || encode(value, 'hex'))::bit(64)::bigint";

    /** The schema file, a resource beside this class, with {@code ${prefix}} for the table prefix. */
    final String schemaResource;

    Dialect(String schemaResource) {
        this.schemaResource = schemaResource;
    }

    /** One {@code ?} per column of {@code columns} (a comma-separated list). */
    static String placeholders(String columns) {
        return String.join(", ", Collections.nCopies(columns.split(",").length, "?"));
    }

    /** Inserts {@code (key..., column)} or, when the key exists, replaces {@code column}; {@code key} may list several. */
    abstract String upsert(String table, String key, String column);

    /** Inserts a row, or leaves the row with the same {@code key} (a column list) as it is. */
    abstract String insertKeeping(String table, String columns, String values, String key);

    /**
     * Adds {@code ?} (first parameter) to the 8-byte counter in the metadata row named by the second parameter, locking
     * the row until the transaction ends, and hands back the new value in one round trip: on PostgreSQL as the
     * result's {@code value} column, on MariaDB/MySQL as the statement's generated key.
     */
    abstract String advanceCounter(String meta);

    /**
     * The whole change log append of a write in one statement, or {@code null} where the database has no such form:
     * advances the counter as {@link #advanceCounter} does (parameters 1 and 2: the number of rows and the counter's
     * name), and inserts one row per id of the array in parameter 5, numbered after the counter's old value
     * (parameter 3: the number of rows again) in the array's order, each with the time in parameter 4.
     */
    abstract String appendChanges(String meta, String changes);

    /** The dialect of the database behind {@code metaData}. */
    static Dialect of(DatabaseMetaData metaData) throws SQLException {
        String product = metaData.getDatabaseProductName();
        String name = product == null ? "" : product.toLowerCase(Locale.ROOT);
        if (name.contains("mariadb") || name.contains("mysql")) {
            return MARIADB;
        }
        if (name.contains("postgres")) {
            return POSTGRESQL;
        }
        throw new EngineException(EngineException.Kind.UNSUPPORTED_FORMAT, "the shared store runs on MariaDB 10.6+,"
                + " MySQL 8 or PostgreSQL 13+; the data source is " + product);
    }
}
