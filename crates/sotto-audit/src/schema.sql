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
    -- The canonical encoding (entry.rs, ENCODING_V1): the one copy of the entry, exactly the
    -- bytes its leaf hash commits to.
    body       TEXT NOT NULL,
    -- RFC 9162 leaf hash: SHA-256(0x00 || body).
    leaf_hash  BLOB NOT NULL,
    -- Generated from body, for queries and for people reading the file with sqlite3. They
    -- cannot be written, so they cannot disagree with what was hashed.
    tenant     TEXT GENERATED ALWAYS AS (json_extract(body, '$.tenant')) VIRTUAL,
    at_ms      INTEGER GENERATED ALWAYS AS (json_extract(body, '$.at_ms')) VIRTUAL,
    actor      TEXT GENERATED ALWAYS AS (json_extract(body, '$.actor')) VIRTUAL,
    action     TEXT GENERATED ALWAYS AS (json_extract(body, '$.action')) VIRTUAL,
    subject    TEXT GENERATED ALWAYS AS (json_extract(body, '$.subject')) VIRTUAL,
    object     TEXT GENERATED ALWAYS AS (json_extract(body, '$.object')) VIRTUAL,
    from_addr  TEXT GENERATED ALWAYS AS (json_extract(body, '$.from')) VIRTUAL,
    purpose    TEXT GENERATED ALWAYS AS (json_extract(body, '$.purpose')) VIRTUAL,
    outcome    TEXT GENERATED ALWAYS AS (json_extract(body, '$.outcome')) VIRTUAL
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
