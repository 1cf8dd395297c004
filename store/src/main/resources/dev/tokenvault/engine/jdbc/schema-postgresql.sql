-- tokenvault shared store, PostgreSQL 13+. Replace ${prefix} with the table prefix (default tokenvault).
-- No column holds plaintext: records are sealed (AES-256-GCM), index entries are 16-byte blind values (HMAC),
-- ids are the UTF-8 bytes of the record id, compared byte for byte.
CREATE TABLE IF NOT EXISTS ${prefix}_records (
    id BYTEA NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS ${prefix}_index (
    generation INT NOT NULL,
    field SMALLINT NOT NULL,
    blind BYTEA NOT NULL,
    record_id BYTEA NOT NULL,
    PRIMARY KEY (generation, field, blind)
);

CREATE TABLE IF NOT EXISTS ${prefix}_meta (
    name VARCHAR(100) NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (name)
);

-- record_id NULL: every record changed (deleteTokens). changed_at: milliseconds since the epoch, for pruning.
CREATE TABLE IF NOT EXISTS ${prefix}_changes (
    seq BIGINT NOT NULL,
    record_id BYTEA NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (seq)
);

-- Refresh leases (refreshSingleFlight): one row per record id a node is refreshing. holder: a random node id, a
-- thread id and a take number; expires_at: milliseconds since the epoch by the database's clock.
CREATE TABLE IF NOT EXISTS ${prefix}_leases (
    record_id BYTEA NOT NULL,
    holder VARCHAR(100) NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (record_id)
);
