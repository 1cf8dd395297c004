package dev.tokenvault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenvault.engine.EngineException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * {@code verify()} reports a records map whose structure breaks part-way as a problem line that says how far the
 * listing got, instead of failing.
 */
class VerifyDamagedMapTest {
    @Test
    void aRecordsMapDamagedPartWaySaysHowManyRecordsWereListedBeforeIt() {
        AtomicBoolean damaged = new AtomicBoolean();
        try (TokenVault v = TokenVault.builder().inMemory().masterKey(MasterKey.generate())
                .engineWrapper(inner -> EngineProxy.of(inner, (method, args, proceed) -> {
                    if (!damaged.get() || !method.getName().equals("forEachRecord")) {
                        return proceed.with(args);
                    }
                    // the engine's word for a structure too damaged to read on: CORRUPT after three records
                    @SuppressWarnings("unchecked")
                    BiConsumer<String, byte[]> action = (BiConsumer<String, byte[]>) args[0];
                    int[] seen = new int[1];
                    return proceed.with(new Object[] {(BiConsumer<String, byte[]>) (id, sealed) -> {
                        if (seen[0]++ == 3) {
                            throw new EngineException(EngineException.Kind.CORRUPT, "injected: a damaged node");
                        }
                        action.accept(id, sealed);
                    }});
                })).open()) {
            for (int i = 0; i < 5; i++) {
                v.saveToken(StoreFixtures.full("v" + i));
            }
            damaged.set(true);
            VerifyReport report = v.verify();
            assertFalse(report.isClean());
            List<String> lines = report.problems().stream().filter(l -> l.startsWith("the records map is damaged"))
                    .toList();
            assertEquals(1, lines.size(), report.problems().toString());
            assertTrue(lines.get(0).contains("(3 records were listed before it)"), lines.get(0));
        }
    }
}
