package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.RecordEngine;
import dev.tokenvault.engine.RecordEngineContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The engine contract against a MapDB file with its redo log. */
class MapDbFileEngineTest extends RecordEngineContract {
    @TempDir
    Path dir;

    @Override
    protected RecordEngine open() {
        return MapDbEngine.open(dir.resolve("store.db"), INDEXES);
    }

    @Override
    protected boolean persists() {
        return true;
    }
}
