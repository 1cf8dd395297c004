package dev.tokenvault;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local stand-in for the accounts server's token endpoint ({@code POST /oauth/v2/token}, grant type
 * {@code refresh_token}): counts the calls, answers each after a set delay, and answers the first
 * {@code failingCalls} with HTTP 500. A successful answer carries a new access token, {@code 1000.fresh-N} for the
 * N-th call, valid for an hour.
 */
final class FakeAccountsServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final AtomicInteger calls = new AtomicInteger();
    private final Duration delay;
    private final int failingCalls;

    FakeAccountsServer(Duration delay, int failingCalls) throws IOException {
        this.delay = delay;
        this.failingCalls = failingCalls;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/oauth/v2/token", this::answer);
        server.start();
    }

    /** The token endpoint's address. */
    URI tokenUri() {
        return URI.create("http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort()
                + "/oauth/v2/token");
    }

    /** Refresh calls received so far. */
    int calls() {
        return calls.get();
    }

    private void answer(HttpExchange exchange) throws IOException {
        int n = calls.incrementAndGet();
        exchange.getRequestBody().readAllBytes();
        try {
            Thread.sleep(delay.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean fail = n <= failingCalls;
        byte[] body = (fail ? "{\"error\":\"internal_error\"}"
                : "{\"access_token\":\"1000.fresh-" + n + "\",\"expires_in\":3600,\"token_type\":\"Bearer\"}")
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(fail ? 500 : 200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
