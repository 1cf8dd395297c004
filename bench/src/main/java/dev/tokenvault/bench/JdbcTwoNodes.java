package dev.tokenvault.bench;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the JDBC benchmarks share: a database server, a data set of {@code tokens} tokens, and two nodes of the store
 * under test on it (two stores, each with its own pool of 8 connections), closed after the trial. Thread states put
 * a thread on node (thread number mod 2).
 */
@State(Scope.Benchmark)
public abstract class JdbcTwoNodes {
    @Param({"mariadb", "postgresql"})
    public String db;

    @Param({"1000", "100000"})
    public int tokens;

    protected final JdbcStores.Node[] nodes = new JdbcStores.Node[2];

    /** Opens both nodes of {@code store} on its data set named {@code kind} ("find", "save"), loaded when absent. */
    protected void openNodes(String store, String kind) {
        JdbcServer server = JdbcServer.require(db);
        String tables = JdbcStores.dataSet(store, server, kind, tokens);
        for (int node = 0; node < nodes.length; node++) {
            nodes[node] = JdbcStores.open(store, server, tables, 8);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (JdbcStores.Node node : nodes) {
            if (node != null) {
                node.close();
            }
        }
    }
}
