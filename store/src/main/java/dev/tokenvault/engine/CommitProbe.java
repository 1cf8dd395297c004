package dev.tokenvault.engine;

/**
 * Test seam: the named steps of the commit path, at each of which a test can make the commit fail (for example by
 * throwing an {@code Error}) to check that a failed commit leaves the store as it was. Production engines use
 * {@link #NONE}; the package is not exported, so the seam is no part of the API.
 */
@FunctionalInterface
public interface CommitProbe {
    /** Does nothing. */
    CommitProbe NONE = step -> { };

    /** Called when the commit path reaches {@code step}. */
    void reached(String step);
}
