-- sotto-audit storage, format 1. One database file of its own (<data>/audit/audit.db).
-- Entries are never updated or deleted: the triggers refuse it, and verification detects an
-- operator who drops them first.

CREATE TABLE IF NOT EXISTS audit_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    format  INTEGER NOT NULL,
    origin  TEXT NOT NULL,
    -- How many entries were appended through the log: a tripwire for rows removed or added
    -- behind its back.
    size    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_entries (
    seq        INTEGER PRIMARY KEY,
    tenant     TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    BLOB,
    object     TEXT,
    from_addr  TEXT,
    purpose    TEXT,
    outcome    TEXT NOT NULL,
    -- RFC 9162 leaf hash of the canonical encoding (see entry.rs, ENCODING_V1).
    leaf_hash  BLOB NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_entries_subject
    ON audit_entries (tenant, subject) WHERE subject IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_entries_actor ON audit_entries (tenant, actor);
CREATE INDEX IF NOT EXISTS audit_entries_time ON audit_entries (tenant, at_ms);

-- Hashes of the perfect subtrees of 256 leaves and more (level >= 8), so proofs and the
-- frontier need O(log n) lookups instead of rehashing the log.
CREATE TABLE IF NOT EXISTS audit_nodes (
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    size   INTEGER NOT NULL,
    at_ms  INTEGER NOT NULL,
    note   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_checkpoints_size ON audit_checkpoints (size);

CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
