-- Key store schema v1. Nothing personal lives here: ids, states, timestamps and wrapped keys.
-- Opened with PRAGMA secure_delete=ON, so deleted and overwritten cells are zeroed.

-- One row: proves which master key the store belongs to.
CREATE TABLE meta (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    format             INTEGER NOT NULL,
    key_check          BLOB    NOT NULL,   -- a fixed value sealed under the master wrapping key
    master_fingerprint TEXT    NOT NULL,   -- MasterKey::fingerprint(), safe to show
    created_ms         INTEGER NOT NULL,
    master_rotated_ms  INTEGER
);

CREATE TABLE tenants (
    tenant          TEXT    PRIMARY KEY,
    current_version INTEGER NOT NULL,      -- tenant key version that wraps new subject keys
    blind_key       BLOB    NOT NULL,      -- blind-index key wrapped by the master key; never rotated
    created_ms      INTEGER NOT NULL
);

CREATE TABLE tenant_keys (
    tenant       TEXT    NOT NULL REFERENCES tenants (tenant),
    version      INTEGER NOT NULL,
    wrapped      BLOB,                     -- wrapped by the master key; NULL once destroyed
    created_ms   INTEGER NOT NULL,
    destroyed_ms INTEGER,
    PRIMARY KEY (tenant, version)
);

CREATE TABLE subject_keys (
    tenant         TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('active', 'restricted')),
    tenant_version INTEGER NOT NULL,       -- tenant key version the key is wrapped under
    wrapped        BLOB    NOT NULL,
    created_ms     INTEGER NOT NULL,
    PRIMARY KEY (tenant, subject)
);

-- Erased subjects. A tombstone always wins over a subject_keys row (e.g. one restored from an
-- old backup), and a subject with a tombstone never gets a key again.
CREATE TABLE subject_tombstones (
    tenant    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    erased_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, subject)
);
