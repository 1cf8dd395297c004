package dev.tokenvault.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.tokenvault.OAuthToken;
import dev.tokenvault.TokenStore;
import dev.tokenvault.TokenVault;
import dev.tokenvault.bench.baseline.SdkDbStore;
import dev.tokenvault.bench.baseline.TunedJdbcStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Opens the JDBC stores under test by name on a {@link JdbcServer}, over data sets that live in the database.
 *
 * <p>Each loaded data set is built once, under the table (for tokenvault, the table prefix)
 * {@code tvb_<store>_<purpose>_<n>_<version>}, and recorded in table {@code tvb_datasets} when complete, so that later
 * forks and runs reuse it (drop the {@code tvb_} tables to rebuild). Lookups and saves use different data sets ({@code purpose} {@code find} or {@code save}): a refresh
 * changes access tokens that the lookups check.
 */
public final class JdbcStores {
    public static final String TOKENVAULT_JDBC = "tokenvault-jdbc";
    public static final String TOKENVAULT_JDBC_NOCACHE = "tokenvault-jdbc-nocache";
    public static final String TUNED_JDBC = "tuned-jdbc";
    public static final String SDK_DBSTORE = "sdk-dbstore";
    /** Bump when {@link TokenData} or a store's tables change, so that stale data sets are not reused. */
    private static final String DATA_VERSION = "v1";
    private static final String REGISTRY = "tvb_datasets";

    private JdbcStores() {
    }

    /** One node: a store over its own connection pool (none for the SDK design, which connects per call). */
    public record Node(TokenStore store, HikariDataSource pool) implements AutoCloseable {
        @Override
        public void close() {
            Stores.close(store);
            if (pool != null) {
                pool.close();
            }
        }
    }

    /** The on-database family of a store name ({@code tokenvault-jdbc-nocache} reads tokenvault-jdbc's tables). */
    static String family(String store) {
        return switch (store) {
            case TOKENVAULT_JDBC, TOKENVAULT_JDBC_NOCACHE -> "tv";
            case TUNED_JDBC -> "tuned";
            case SDK_DBSTORE -> "sdk";
            default -> throw new IllegalArgumentException("unknown JDBC store " + store);
        };
    }

    /** The table (baselines) or table prefix (tokenvault) of a loaded data set, built when absent. */
    public static String dataSet(String store, JdbcServer server, String purpose, int tokens) {
        String name = "tvb_" + family(store) + "_" + purpose + "_" + tokens + "_" + DATA_VERSION;
        String tables = name; // a table, or tokenvault's table prefix
        try (Connection c = server.connect(); Statement st = c.createStatement()) {
            st.executeUpdate("create table if not exists " + REGISTRY + " (name varchar(100) not null primary key)");
            try (PreparedStatement ps = c.prepareStatement("select name from " + REGISTRY + " where name = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return tables;
                    }
                }
            }
            dropTables(server, name);
            long t0 = System.nanoTime();
            try (Node node = open(store, server, tables, 8)) {
                load(node.store(), tokens);
            }
            try (PreparedStatement ps = c.prepareStatement("insert into " + REGISTRY + " (name) values (?)")) {
                ps.setString(1, name);
                ps.executeUpdate();
            }
            System.err.printf("# built %s on %s with %,d tokens in %.1f s%n", name, server.db(), tokens,
                    (System.nanoTime() - t0) / 1e9);
            return tables;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot build data set " + name + " on " + server, e);
        }
    }

    private static void load(TokenStore store, int tokens) {
        if (store instanceof TunedJdbcStore tuned) {
            tuned.bulkLoad(tokens, TokenData::token);
        } else if (store instanceof SdkDbStore sdk) {
            sdk.bulkLoad(tokens, TokenData::token);
        } else {
            loadVault((TokenVault) store, tokens);
        }
    }

    /**
     * Loads tokenvault through its public {@code saveTokens}: {@value #LOAD_CHUNK} tokens per call (one transaction),
     * four calls at a time.
     */
    private static void loadVault(TokenVault vault, int tokens) {
        IntStream.range(0, (tokens + LOAD_CHUNK - 1) / LOAD_CHUNK).parallel().forEach(chunk -> {
            List<OAuthToken> batch = new ArrayList<>();
            for (int i = chunk * LOAD_CHUNK; i < Math.min(tokens, (chunk + 1) * LOAD_CHUNK); i++) {
                batch.add(TokenData.token(i));
            }
            vault.saveTokens(batch);
        });
    }

    private static final int LOAD_CHUNK = 1_000;

    /**
     * Opens {@code store} over the table or table prefix {@code tables}, creating its tables when they are missing.
     * Pooled stores get a pool of {@code poolSize} connections of their own: two nodes are two calls.
     */
    public static Node open(String store, JdbcServer server, String tables, int poolSize) {
        switch (store) {
            case SDK_DBSTORE -> {
                return new Node(new SdkDbStore(server::connect, tables, server.postgres()).createTable(), null);
            }
            case TUNED_JDBC -> {
                HikariDataSource pool = server.pool("tuned-jdbc", poolSize);
                try {
                    return new Node(new TunedJdbcStore(pool, tables).createTable(), pool);
                } catch (RuntimeException e) {
                    pool.close();
                    throw e;
                }
            }
            case TOKENVAULT_JDBC, TOKENVAULT_JDBC_NOCACHE -> {
                HikariDataSource pool = server.pool(store, poolSize);
                try {
                    TokenVault.Builder b = TokenVault.builder().dataSource(pool).tablePrefix(tables)
                            .masterKey(Stores.masterKey());
                    // cache on: the default 10,000 entries
                    return new Node((store.equals(TOKENVAULT_JDBC) ? b : b.cacheMaximumSize(0)).open(), pool);
                } catch (RuntimeException e) {
                    pool.close();
                    throw e;
                }
            }
            default -> throw new IllegalArgumentException("unknown JDBC store " + store);
        }
    }

    /** Drops every table whose name begins with {@code prefix}. */
    public static void dropTables(JdbcServer server, String prefix) {
        String schema = server.postgres() ? "current_schema()" : "database()";
        String like = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%";
        try (Connection c = server.connect()) {
            List<String> names = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("select table_name from information_schema.tables"
                    + " where table_schema = " + schema + " and table_name like ?")) {
                ps.setString(1, like);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        names.add(rs.getString(1));
                    }
                }
            }
            try (Statement st = c.createStatement()) {
                for (String name : names) {
                    st.executeUpdate("drop table if exists " + name + (server.postgres() ? " cascade" : ""));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot drop the tables " + prefix + "* on " + server, e);
        }
    }
}
