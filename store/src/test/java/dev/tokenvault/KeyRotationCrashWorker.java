package dev.tokenvault;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * Child process of {@link KeyRotationCrashTest} and {@link NonceLimitTest}: rotates keys (and saves) in a loop until
 * the parent kills it with SIGKILL, logging each call before it starts ({@code I}) and after it returns ({@code A}) to
 * a journal that survives the kill.
 *
 * <ul>
 *   <li>{@code master STORE KEY_A KEY_B JOURNAL}: opens with whichever key opens, then rotates to the other one and
 *       back, forever. Journal: {@code I|A rotate A|B}.</li>
 *   <li>{@code reseal STORE KEY JOURNAL} and {@code index STORE KEY JOURNAL}: one thread loops
 *       {@code rotateDataKey(); resealAll()} or {@code rotateIndexKey()}, another saves new access tokens for users
 *       {@code w0..w9}. Journal: {@code I|A rotate N} and {@code I|A save USER ACCESS}.</li>
 *   <li>{@code seal STORE KEY JOURNAL LIMIT PREFIX}: inserts tokens with {@code Builder.sealLimit(LIMIT)}. Journal:
 *       {@code I|A save USER}.</li>
 * </ul>
 */
public final class KeyRotationCrashWorker {
    private KeyRotationCrashWorker() {
    }

    public static void main(String[] args) throws Exception {
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            e.printStackTrace();
            System.exit(3); // a failed call is a test failure, not a crash
        });
        String mode = args[0];
        Path store = Path.of(args[1]);
        switch (mode) {
            case "master" -> master(store, args[2], args[3], Path.of(args[4]));
            case "reseal", "index" -> rotateWhileSaving(mode, store, MasterKey.fromBase64(args[2]), Path.of(args[3]));
            case "seal" -> seal(store, MasterKey.fromBase64(args[2]), Path.of(args[3]), Long.parseLong(args[4]),
                    args[5]);
            default -> throw new IllegalArgumentException(mode);
        }
    }

    private static PrintStream journal(Path p) throws IOException {
        return new PrintStream(new FileOutputStream(p.toFile(), true), true);
    }

    private static void log(PrintStream out, String line) {
        synchronized (out) {
            out.println(line);
        }
    }

    private static void master(Path store, String a, String b, Path journalPath) throws IOException {
        String[] names = {"A", "B"};
        String[] keys = {a, b};
        int current;
        TokenVault vault;
        try {
            vault = TokenVault.builder().path(store).masterKey(MasterKey.fromBase64(a)).open();
            current = 0;
        } catch (TokenStoreException e) {
            if (e.code() != ErrorCode.WRONG_KEY) {
                throw e;
            }
            vault = TokenVault.builder().path(store).masterKey(MasterKey.fromBase64(b)).open();
            current = 1;
        }
        try (TokenVault v = vault; PrintStream out = journal(journalPath)) {
            System.out.println("READY");
            while (true) {
                int next = 1 - current;
                log(out, "I rotate " + names[next]);
                v.rotateMasterKey(MasterKey.fromBase64(keys[next]));
                log(out, "A rotate " + names[next]);
                current = next;
            }
        }
    }

    private static void rotateWhileSaving(String mode, Path store, MasterKey key, Path journalPath)
            throws IOException, InterruptedException {
        try (TokenVault v = TokenVault.builder().path(store).masterKey(key).open();
             PrintStream out = journal(journalPath)) {
            Thread saver = new Thread(() -> {
                long seed = System.nanoTime();
                for (long n = 0; ; n++) {
                    String user = "w" + (n % 10);
                    String access = "wa-" + seed + "-" + n;
                    log(out, "I save " + user + " " + access);
                    v.saveToken(OAuthToken.builder().userName(user).accessToken(access).build());
                    log(out, "A save " + user + " " + access);
                }
            });
            saver.setDaemon(true);
            System.out.println("READY");
            saver.start();
            for (long n = 0; ; n++) {
                log(out, "I rotate " + n);
                if (mode.equals("reseal")) {
                    v.rotateDataKey();
                    v.resealAll();
                } else {
                    v.rotateIndexKey();
                }
                log(out, "A rotate " + n);
            }
        }
    }

    private static void seal(Path store, MasterKey key, Path journalPath, long limit, String prefix)
            throws IOException {
        try (TokenVault v = TokenVault.builder().path(store).masterKey(key).sealLimit(limit).open();
             PrintStream out = journal(journalPath)) {
            System.out.println("READY");
            for (long n = 0; ; n++) {
                String user = "crash-" + prefix + "-" + n;
                log(out, "I save " + user);
                v.saveToken(OAuthToken.builder().userName(user).accessToken("at-" + prefix + "-" + n).build());
                log(out, "A save " + user);
            }
        }
    }
}
