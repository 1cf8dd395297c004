package dev.tokenvault.engine.mapdb;

import dev.tokenvault.engine.RecordEngine;
import dev.tokenvault.engine.RecordEngineContract;

/** The engine contract against MapDB in memory. */
class MapDbMemoryEngineTest extends RecordEngineContract {
    @Override
    protected RecordEngine open() {
        return MapDbEngine.inMemory(INDEXES);
    }

    @Override
    protected boolean persists() {
        return false;
    }
}
