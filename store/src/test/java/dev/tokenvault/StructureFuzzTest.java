package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damages a store file anywhere (MapDB's own structure as much as the sealed records) and checks that every lookup
 * by every path gets the saved data, a miss, or a {@link TokenStoreException}: never another token's data, another
 * exception, or an {@link Error}. Prints the outcome counts.
 *
 * <p>CI runs 500 single-bit flips of a closed store, 100 byte overwrites, and 150 flips each of a redo log left by a
 * kill and of a compacted file. Three damages in four land in a 4 KiB page that holds data: a store of 200 tokens is
 * a 2 MiB file of which about 230 KiB is written, and a flip in a page nothing points into changes nothing MapDB
 * reads; the rest land anywhere in the file. Long form: {@code mvn -B -ntp -pl store test -Dtest=StructureFuzzTest
 * -Dtokenvault.fuzzFlips=5000 -Dtokenvault.fuzzOverwrites=1000} (the redo-log and compacted-file runs scale with
 * {@code fuzzFlips}); {@code -Dtokenvault.fuzzSeed=S} replays the damage a run printed, on a new store.
 */
class StructureFuzzTest {
    private static final int FLIPS = Integer.getInteger("tokenvault.fuzzFlips", 500);
    private static final int OVERWRITES = Integer.getInteger("tokenvault.fuzzOverwrites", 100);
    /** The redo-log and compacted-file runs: fewer trials, since their files hold less structure to hit. */
    private static final int SIDE_FLIPS = Math.max(1, FLIPS * 3 / 10);
    private static final int TOKENS = Integer.getInteger("tokenvault.fuzzTokens", 200);
    /** Saves made after the checkpoint in the redo-log run; each logs MapDB's 32 KiB header besides its record. */
    private static final int LOGGED_COMMITS = 10;

    @TempDir
    Path dir;

    private final MasterKey key = MasterKey.generate();
    private final long seed = Long.getLong("tokenvault.fuzzSeed", System.nanoTime());
    private final Random random = new Random(seed);
    private DamageProbe probe;

    @AfterEach
    void stopProbe() {
        if (probe != null) {
            probe.shutdown();
        }
    }

    /** Creates a store of {@code n} tokens at {@code path}, closed cleanly; returns the saved tokens. */
    private List<OAuthToken> populate(Path path, int n, String tag) {
        List<OAuthToken> saved = new ArrayList<>();
        try (TokenVault vault = TokenVault.builder().path(path).masterKey(key).open()) {
            for (int i = 0; i < n; i++) {
                saved.add(StoreFixtures.saved(vault, StoreFixtures.full(tag + i)));
            }
        }
        return saved;
    }

    @Test
    void flipsAndOverwritesAnywhereInAClosedStoreNeverEscape() throws IOException {
        Path pristine = dir.resolve("pristine.db");
        probe = new DamageProbe(key, populate(pristine, TOKENS, "t"));
        fuzzFile(Files.readAllBytes(pristine), FLIPS, OVERWRITES, "closed store of " + TOKENS + " tokens");
    }

    /** The same over a file that {@link TokenVault#compact()} wrote. */
    @Test
    void flipsInACompactedStoreNeverEscape() throws IOException {
        Path pristine = dir.resolve("compacted.db");
        List<OAuthToken> saved = populate(pristine, TOKENS / 2, "c");
        try (TokenVault vault = TokenVault.builder().path(pristine).masterKey(key).open()) {
            for (int i = 0; i < saved.size(); i += 2) { // refreshes leave freed space for the compaction to drop
                OAuthToken t = saved.get(i);
                t.setAccessToken(t.getAccessToken() + "-refreshed");
                vault.saveToken(t.copy());
            }
            vault.compact();
        }
        probe = new DamageProbe(key, saved);
        fuzzFile(Files.readAllBytes(pristine), SIDE_FLIPS, 0, "compacted store of " + saved.size() + " tokens");
    }

    /**
     * The redo log as a kill leaves it: the main file as of the last checkpoint and a log holding every commit since,
     * copied while the store is open (what a SIGKILL leaves on disk is exactly what the files hold at that moment).
     * Replay stops at the first damaged log record, so later tokens may be absent: a miss, never other data.
     */
    @Test
    void flipsInTheRedoLogAfterAKillNeverEscape() throws IOException {
        Path pristine = dir.resolve("killed.db");
        List<OAuthToken> saved = populate(pristine, TOKENS / 2, "k");
        byte[] main = Files.readAllBytes(pristine);
        byte[] log;
        try (TokenVault vault = TokenVault.builder().path(pristine).masterKey(key).open()) {
            for (int i = 0; i < LOGGED_COMMITS; i++) {
                saved.add(StoreFixtures.saved(vault, StoreFixtures.full("logged" + i)));
            }
            log = Files.readAllBytes(pristine.resolveSibling("killed.db.redo"));
        }
        int used = log.length;
        while (used > 0 && log[used - 1] == 0) {
            used--; // the log is preallocated with zeros; damage past its records changes nothing
        }
        assertTrue(used > 0, "the log holds the commits made after the checkpoint");
        probe = new DamageProbe(key, saved);
        Path trial = dir.resolve("trial.db");
        for (int i = 0; i < SIDE_FLIPS; i++) {
            int offset = random.nextInt(used);
            int bit = random.nextInt(8);
            byte[] damaged = log.clone();
            damaged[offset] ^= (byte) (1 << bit);
            DamageProbe.write(main, trial);
            Files.write(trial.resolveSibling("trial.db.redo"), damaged);
            probe.trial(trial, "bit " + bit + " of byte " + offset + " of the redo log");
        }
        report("redo log of " + LOGGED_COMMITS + " commits, " + used + " bytes, after a kill: " + SIDE_FLIPS + " flips");
    }

    /** {@code flips} single-bit flips and {@code overwrites} random byte values, one per trial. */
    private void fuzzFile(byte[] bytes, int flips, int overwrites, String what) throws IOException {
        List<Integer> written = writtenPages(bytes);
        Path trial = dir.resolve("trial.db");
        for (int i = 0; i < flips + overwrites; i++) {
            int offset = random.nextInt(4) == 0 ? random.nextInt(bytes.length)
                    : written.get(random.nextInt(written.size())) + random.nextInt(PAGE);
            byte[] b = bytes.clone();
            String damage;
            if (i < flips) {
                int bit = random.nextInt(8);
                b[offset] ^= (byte) (1 << bit);
                damage = "bit " + bit + " of byte " + offset;
            } else {
                b[offset] = (byte) (bytes[offset] + 1 + random.nextInt(255)); // any value but the old one
                damage = "byte " + offset + " set to " + (b[offset] & 0xff);
            }
            DamageProbe.write(b, trial);
            probe.trial(trial, damage);
        }
        report(what + ", " + bytes.length + " bytes: " + flips + " flips, " + overwrites + " overwrites");
    }

    private static final int PAGE = 4096;

    /** Offsets of the 4 KiB pages that hold a byte other than zero. */
    private static List<Integer> writtenPages(byte[] bytes) {
        List<Integer> pages = new ArrayList<>();
        for (int p = 0; p + PAGE <= bytes.length; p += PAGE) {
            for (int i = p; i < p + PAGE; i++) {
                if (bytes[i] != 0) {
                    pages.add(p);
                    break;
                }
            }
        }
        return pages;
    }

    private void report(String what) {
        System.out.println("StructureFuzzTest (" + what + ", seed " + seed + "): " + probe.counts());
        probe.escapes().forEach(e -> System.out.println("  escape: " + e));
        assertEquals(List.of(), probe.escapes(), "escapes (replay the damage with -Dtokenvault.fuzzSeed=" + seed
                + "; the store differs, so the same offsets hit different structure)");
        assertTrue(probe.trials() > 0);
    }
}
