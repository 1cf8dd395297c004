package dev.tokenvault;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Opens a damaged store and looks up every expected token by every path of the contract, then classifies what
 * happened. A result passes when it is the expected token, nothing (a miss) or a {@link TokenStoreException} with a
 * code a damaged file may give; anything else (another token's data, another exception, an {@link Error}, a hang)
 * is an escape, reported with the damage that caused it.
 */
final class DamageProbe {
    /** Codes {@code open()} may refuse a damaged file with. */
    static final Set<ErrorCode> REFUSALS = EnumSet.of(ErrorCode.CORRUPT, ErrorCode.WRONG_KEY,
            ErrorCode.UNSUPPORTED_FORMAT);
    /** Codes a lookup in a damaged store may fail with. */
    static final Set<ErrorCode> LOOKUP_ERRORS = EnumSet.of(ErrorCode.CORRUPT, ErrorCode.INTEGRITY,
            ErrorCode.NOT_FOUND);
    /** A hang guard, not a timing assertion: an undamaged trial takes well under a second. */
    private static final long TRIAL_TIMEOUT_SECONDS = 60;

    private final MasterKey key;
    private final List<OAuthToken> expected;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "damage-probe");
        t.setDaemon(true); // a trial that hangs must not keep the test JVM alive
        return t;
    });
    /** Outcome name to count, in a stable order for printing. */
    private final Map<String, Integer> counts = new TreeMap<>();
    private final List<String> escapes = new ArrayList<>();

    DamageProbe(MasterKey key, List<OAuthToken> expected) {
        this.key = key;
        this.expected = List.copyOf(expected);
    }

    /** Outcome of one trial. */
    enum Outcome {
        INTACT("opened, all data intact"),
        DAMAGE_SEEN("opened, damage reported (error or miss)"),
        REFUSED("refused to open"),
        ESCAPED("escaped");

        final String label;

        Outcome(String label) {
            this.label = label;
        }
    }

    /** Thrown inside a trial when a result is neither the expected data, a miss, nor an accepted error. */
    static final class Escape extends RuntimeException {
        Escape(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Runs one trial on {@code store} (already damaged) and counts its outcome; {@code damage} describes what was done
     * to the file, e.g. {@code "bit 3 of byte 1061103"}, so an escape can be reproduced.
     */
    Outcome trial(Path store, String damage) {
        Future<String[]> f = worker.submit(() -> check(store));
        String[] result;
        try {
            result = f.get(TRIAL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            return escaped(damage, "no answer within " + TRIAL_TIMEOUT_SECONDS + " s (a loop in damaged structure?)",
                    null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            return escaped(damage, cause instanceof Escape ? cause.getMessage() : "threw " + cause,
                    cause instanceof Escape ? cause.getCause() : cause);
        }
        Outcome o = Outcome.valueOf(result[0]);
        count(result[1]);
        return o;
    }

    private Outcome escaped(String damage, String what, Throwable cause) {
        String line = damage + ": " + what;
        if (cause != null) {
            line += " at " + java.util.Arrays.stream(cause.getStackTrace()).limit(6).map(String::valueOf)
                    .collect(java.util.stream.Collectors.joining(" < "));
        }
        escapes.add(line);
        count(Outcome.ESCAPED.label);
        return Outcome.ESCAPED;
    }

    private void count(String label) {
        counts.merge(label, 1, Integer::sum);
    }

    /** Outcome counts so far, e.g. {@code {opened, all data intact=412, refused to open: CORRUPT=60, ...}}. */
    Map<String, Integer> counts() {
        return new TreeMap<>(counts);
    }

    /** One line per escape: the damage, what escaped, and where. */
    List<String> escapes() {
        return List.copyOf(escapes);
    }

    int trials() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** {@code [outcome name, count label]}; throws {@link Escape} on the first result that is not accepted. */
    private String[] check(Path store) {
        TokenVault vault;
        try {
            vault = TokenVault.builder().path(store).masterKey(key).cacheMaximumSize(0).open();
        } catch (TokenStoreException e) {
            if (!REFUSALS.contains(e.code())) {
                throw new Escape("open() refused with " + e.code() + ": " + e.getMessage(), e);
            }
            namesTheFile("open()", e, store);
            return new String[] {Outcome.REFUSED.name(), Outcome.REFUSED.label + ": " + e.code()};
        } catch (RuntimeException | Error e) {
            throw new Escape("open() threw " + e, e);
        }
        boolean damageSeen;
        try {
            damageSeen = lookUpEverything(vault, store);
        } finally {
            try {
                vault.close();
            } catch (TokenStoreException e) {
                // a damaged file may fail its closing commit; the code says so
            } catch (RuntimeException | Error e) {
                throw new Escape("close() threw " + e, e);
            }
        }
        Outcome o = damageSeen ? Outcome.DAMAGE_SEEN : Outcome.INTACT;
        return new String[] {o.name(), o.label};
    }

    /** Every token by every path; returns whether any lookup missed or failed. */
    private boolean lookUpEverything(TokenVault vault, Path store) {
        boolean damage = false;
        for (OAuthToken t : expected) {
            damage |= lookup(store, "findTokenById", t, () -> vault.findTokenById(t.getId()));
            damage |= lookup(store, "findToken(userName)", t,
                    () -> vault.findToken(OAuthToken.builder().userName(t.getUserName()).build()));
            damage |= lookup(store, "findToken(accessToken)", t,
                    () -> vault.findToken(OAuthToken.builder().accessToken(t.getAccessToken()).build()));
            damage |= lookup(store, "findToken(refreshToken, clientId)", t,
                    () -> vault.findToken(OAuthToken.builder().refreshToken(t.getRefreshToken())
                            .clientId(t.getClientId()).clientSecret(t.getClientSecret()).build()));
            damage |= lookup(store, "findToken(grantToken, clientId)", t,
                    () -> vault.findToken(OAuthToken.builder().grantToken(t.getGrantToken())
                            .clientId(t.getClientId()).clientSecret(t.getClientSecret()).build()));
        }
        try {
            List<OAuthToken> all = vault.getTokens();
            Set<String> seen = new HashSet<>();
            for (OAuthToken got : all) {
                OAuthToken want = expected.stream().filter(t -> t.getId().equals(got.getId())).findFirst()
                        .orElseThrow(() -> new Escape("getTokens() returned a record no one saved", null));
                if (!want.equals(got)) {
                    throw new Escape("getTokens() returned different data for record " + got.getId(), null);
                }
                if (!seen.add(got.getId())) {
                    throw new Escape("getTokens() returned record " + got.getId() + " twice", null);
                }
            }
            damage |= all.size() != expected.size();
        } catch (TokenStoreException e) {
            acceptLookupError(store, "getTokens()", e);
            damage = true;
        } catch (Escape e) {
            throw e;
        } catch (RuntimeException | Error e) {
            throw new Escape("getTokens() threw " + e, e);
        }
        return damage;
    }

    /** Returns whether the call missed or failed; throws {@link Escape} when its result is not accepted. */
    private static boolean lookup(Path store, String path, OAuthToken want, Supplier<OAuthToken> call) {
        try {
            OAuthToken got = call.get();
            if (got == null) {
                return true;
            }
            if (!got.equals(want)) {
                throw new Escape(path + " for record " + want.getId() + " returned different data (record "
                        + got.getId() + ")", null);
            }
            return false;
        } catch (TokenStoreException e) {
            acceptLookupError(store, path, e);
            return true;
        } catch (Escape e) {
            throw e;
        } catch (RuntimeException | Error e) {
            throw new Escape(path + " for record " + want.getId() + " threw " + e, e);
        }
    }

    private static void acceptLookupError(Path store, String path, TokenStoreException e) {
        if (!LOOKUP_ERRORS.contains(e.code())) {
            throw new Escape(path + " failed with " + e.code() + ": " + e.getMessage(), e);
        }
        namesTheFile(path, e, store);
    }

    /** A damaged file is reported by name, so an operator knows which store to restore. */
    private static void namesTheFile(String path, TokenStoreException e, Path store) {
        if (e.code() == ErrorCode.CORRUPT && !String.valueOf(e.getMessage()).contains(store.getFileName().toString())) {
            throw new Escape(path + " reported CORRUPT without naming the file: " + e.getMessage(), e);
        }
    }

    /** Copies {@code pristine} to {@code target} with one bit flipped, and removes companion files of a last trial. */
    static void writeFlipped(byte[] pristine, Path target, long offset, int bit) throws IOException {
        byte[] b = pristine.clone();
        b[(int) offset] ^= (byte) (1 << bit);
        write(b, target);
    }

    static void write(byte[] bytes, Path target) throws IOException {
        Files.deleteIfExists(target.resolveSibling(target.getFileName() + ".redo"));
        Files.write(target, bytes);
    }

    /** Stops the worker thread (a hung trial's thread is a daemon and is left behind). */
    void shutdown() {
        worker.shutdownNow();
    }
}
