package dev.tokenvault.engine.jdbc;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * A data source that records the round trips its connections make: each statement execution (a JDBC batch is one),
 * each commit or rollback, with the SQL, and each call that reads or sets the transaction isolation, for tests that bound the statements a call costs. Only the threads a test
 * {@link #watch()}es are counted, so the change feed's polls do not blur the figures.
 */
public final class CountingDataSource extends DelegatingDataSource {
    /** How the connection calls that may be round trips of their own are recorded (their name follows). */
    public static final String ISOLATION = "Connection.";

    private final ThreadLocal<List<String>> trips = new ThreadLocal<>();

    public CountingDataSource(DataSource inner) {
        super(inner);
    }

    /** Starts counting the calling thread's round trips, from zero. */
    public void watch() {
        trips.set(new ArrayList<>());
    }

    /** The round trips of the calling thread since {@link #watch()}, one line each. */
    public List<String> trips() {
        return List.copyOf(trips.get());
    }

    @Override
    public Connection getConnection() throws SQLException {
        Connection c = super.getConnection();
        return proxy(Connection.class, c, (method, args) -> {
            String name = method.getName();
            if (name.equals("commit") || name.equals("rollback")) {
                record(name.toUpperCase(java.util.Locale.ROOT));
            } else if (name.equals("getTransactionIsolation") || name.equals("setTransactionIsolation")) {
                record(ISOLATION + name); // a query on PostgreSQL's driver, and on others without session tracking
            }
            Object result = method.invoke(c, args);
            if (result instanceof PreparedStatement ps) {
                return statement(PreparedStatement.class, ps, (String) args[0]);
            }
            if (result instanceof Statement st) {
                return statement(Statement.class, st, null);
            }
            return result;
        });
    }

    private <T extends Statement> T statement(Class<T> type, T inner, String sql) {
        return proxy(type, inner, (method, args) -> {
            if (method.getName().startsWith("execute")) {
                record(sql != null ? sql : args != null && args.length > 0 ? String.valueOf(args[0]) : "?");
            }
            return method.invoke(inner, args);
        });
    }

    private void record(String sql) {
        List<String> list = trips.get();
        if (list != null) {
            list.add(sql);
        }
    }

    @FunctionalInterface
    private interface Call {
        Object invoke(Method method, Object[] args) throws Exception;
    }

    private static <T> T proxy(Class<T> type, T inner, Call call) {
        InvocationHandler h = (p, method, args) -> {
            try {
                return call.invoke(method, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return type.cast(Proxy.newProxyInstance(CountingDataSource.class.getClassLoader(), new Class<?>[] {type}, h));
    }
}
