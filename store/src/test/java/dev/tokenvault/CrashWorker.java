package dev.tokenvault;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Random;

/**
 * Child process of {@link CrashTest}: writes to a store from several threads, each owning its own users, and logs
 * every call before it starts ({@code I}) and after it returns ({@code A}) to a journal that survives SIGKILL (the
 * process dies, the kernel keeps its writes). The parent kills it at a random moment and checks the store against
 * the journal.
 *
 * <p>Journal line: {@code I|A thread seq op user accessToken end} where op is {@code save} or {@code delete}. A
 * line longer than the stream's buffer reaches the file in several writes, so a kill can tear it anywhere, even in
 * the access token: only a line that ends with {@code end} is whole.
 *
 * <p>Arguments: {@code store base64Key journal seed threads [compact | users=PREFIX]}; with {@code compact} one more
 * thread runs {@link TokenVault#compact()} in a loop, so that kills land during compactions; with {@code users=PREFIX}
 * the threads' user names start with {@code PREFIX}, so that workers run one after another own distinct users.
 */
public final class CrashWorker {
    private CrashWorker() {
    }

    public static void main(String[] args) throws IOException {
        Path store = Path.of(args[0]);
        MasterKey key = MasterKey.fromBase64(args[1]);
        Path journal = Path.of(args[2]);
        long seed = Long.parseLong(args[3]);
        int threads = Integer.parseInt(args[4]);
        boolean compacting = args.length > 5 && args[5].equals("compact"); // one more thread compacts, again and again
        String users = args.length > 5 && args[5].startsWith("users=") ? args[5].substring("users=".length()) : "";
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            e.printStackTrace();
            System.exit(3); // a failed call is a test failure, not a crash: the parent sees the early exit
        });
        try (TokenVault vault = TokenVault.builder().path(store).masterKey(key).open();
             PrintStream out = new PrintStream(new FileOutputStream(journal.toFile(), true), true)) {
            Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int thread = t;
                workers[t] = new Thread(() -> run(vault, out, users, thread, seed, new Random(seed * 31 + thread)));
                workers[t].start();
            }
            if (compacting) {
                Thread compactor = new Thread(() -> {
                    Random pause = new Random(seed);
                    while (true) {
                        try {
                            Thread.sleep(pause.nextInt(300)); // windows in which the writers get the store
                        } catch (InterruptedException e) {
                            return;
                        }
                        vault.compact();
                    }
                });
                compactor.setDaemon(true);
                compactor.start();
            }
            System.out.println("READY");
            for (Thread w : workers) {
                w.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void run(TokenVault vault, PrintStream out, String users, int thread, long seed, Random random) {
        // Each thread owns users t<thread>-u0..u7; big values push commits across pages and force checkpoints.
        for (long seq = 0; ; seq++) {
            String user = users + "t" + thread + "-u" + random.nextInt(8);
            boolean delete = random.nextInt(10) == 0;
            String access = "at-" + seed + "-" + thread + "-" + seq + "-" + "x".repeat(random.nextInt(4) == 0 ? 12_000 : 20);
            String line = thread + " " + seq + " " + (delete ? "delete" : "save") + " " + user + " " + access;
            synchronized (out) {
                out.println("I " + line + " end");
            }
            if (delete) {
                OAuthToken found = vault.findToken(OAuthToken.builder().userName(user).build());
                if (found != null) {
                    vault.deleteToken(found.getId());
                }
            } else {
                vault.saveToken(OAuthToken.builder().userName(user).accessToken(access)
                        .refreshToken("rt-" + user).expiryTime(Long.toString(seq)).build());
            }
            synchronized (out) {
                out.println("A " + line + " end");
            }
        }
    }
}
