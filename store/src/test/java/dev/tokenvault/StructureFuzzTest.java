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
 * kill and of a compacted file. Long form: {@code mvn -B -ntp -pl store test -Dtest=StructureFuzzTest
 * -Dtokenvault.fuzzFlips=5000 -Dtokenvault.fuzzOverwrites=1000} (the redo-log and compacted-file runs scale with
 * {@code fuzzFlips}); {@code -Dtokenvault.fuzzSeed=S} replays the damage a run printed, on a new store.
 */
class StructureFuzzTest {
    private static final int FLIPS = Integer.getInteger("tokenvault.fuzzFlips", 500);
    private static final int OVERWRITES = Integer.getInteger("tokenvault.fuzzOverwrites", 100);
    /** The redo-log and compacted-file runs: fewer trials, since their files hold less structure to hit. */
    private static final int SIDE_FLIPS = Math.max(1, FLIPS * 3 / 10);
    private static final int TOKENS = Integer.getInteger("tokenvault.fuzzTokens", 200);

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
        byte[] bytes = Files.readAllBytes(pristine);
        Path trial = dir.resolve("trial.db");
        for (int i = 0; i < FLIPS; i++) {
            long offset = random.nextInt(bytes.length);
            int bit = random.nextInt(8);
            DamageProbe.writeFlipped(bytes, trial, offset, bit);
            probe.trial(trial, "bit " + bit + " of byte " + offset);
        }
        for (int i = 0; i < OVERWRITES; i++) {
            int offset = random.nextInt(bytes.length);
            byte value = (byte) (bytes[offset] + 1 + random.nextInt(255)); // any value but the old one
            byte[] b = bytes.clone();
            b[offset] = value;
            DamageProbe.write(b, trial);
            probe.trial(trial, "byte " + offset + " set to " + (value & 0xff));
        }
        report("closed store of " + TOKENS + " tokens, " + bytes.length + " bytes: " + FLIPS + " flips, "
                + OVERWRITES + " overwrites");
    }

    private void report(String what) {
        System.out.println("StructureFuzzTest (" + what + ", seed " + seed + "): " + probe.counts());
        probe.escapes().forEach(e -> System.out.println("  escape: " + e));
        assertEquals(List.of(), probe.escapes(), "escapes (replay the damage with -Dtokenvault.fuzzSeed=" + seed
                + "; the store differs, so the same offsets hit different structure)");
        assertTrue(probe.trials() > 0);
    }
}
