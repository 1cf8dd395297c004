package dev.tokenvault.engine;

import java.util.Collection;

/**
 * What a {@link RecordEngine#isShared() shared} engine tells a cache in front of it: which records changed, this
 * node's commits and other nodes' alike, and whether it is current, that is, whether every change committed more
 * than its staleness bound ago has been told.
 */
public interface ChangeFeed {
    /** Told of committed changes. Called on the committing thread or the engine's poller; must not block. */
    interface Listener {
        /** The records with these ids changed (were written or removed). */
        void recordsChanged(Collection<String> ids);

        /** Anything may have changed: every record was removed, or the feed fell behind and cannot tell what. */
        void everythingChanged();
    }

    /** Sets the one listener; {@code null} removes it. */
    void listen(Listener listener);

    /**
     * Whether every change committed before the bound has been told to the listener; while it is {@code false} a
     * cache must serve from the store. Called on every cache hit: cheap.
     */
    boolean isCurrent();
}
