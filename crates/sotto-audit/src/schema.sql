-- sotto-audit storage, format 2. One database file of its own (<data>/audit/audit.db).
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

-- Entries, a page at a time: one row per run of consecutive entries written together (a
-- group commit, at most 1024 entries). `bodies` holds each entry's canonical encoding
-- (entry.rs, ENCODING_V1: the one copy of the entry, exactly the bytes its leaf hash commits
-- to), each preceded by its length as 4 little-endian bytes; `leaf_hashes` holds the RFC 9162
-- leaf hashes, SHA-256(0x00 || body), 32 bytes each, in the same order. `sotto audit log`
-- shows entries decoded; the SQLite file is not meant to be read by hand.
CREATE TABLE IF NOT EXISTS audit_pages (
    first_seq    INTEGER PRIMARY KEY,
    count        INTEGER NOT NULL,
    bodies       BLOB NOT NULL,
    leaf_hashes  BLOB NOT NULL,
    -- The time range of the page's entries, for time-range queries.
    min_at_ms    INTEGER NOT NULL,
    max_at_ms    INTEGER NOT NULL
);

-- Query postings derived from the bodies (page.rs): a 16-byte digest of (kind, tenant, value)
-- for the subject of each entry (at the entry's seq) and for each tenant and actor on a page
-- (at the page's first seq). Query results are always decoded from the hashed bodies and
-- filtered again, so a posting can only point at an entry, never change what it says;
-- verification compares the table's COUNT and SUM(seq) with what the pages imply.
CREATE TABLE IF NOT EXISTS audit_lookup (
    key  BLOB NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;

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

CREATE TRIGGER IF NOT EXISTS audit_pages_no_update BEFORE UPDATE ON audit_pages
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_pages_no_delete BEFORE DELETE ON audit_pages
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_lookup_no_update BEFORE UPDATE ON audit_lookup
BEGIN SELECT RAISE(ABORT, 'audit lookups are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_lookup_no_delete BEFORE DELETE ON audit_lookup
BEGIN SELECT RAISE(ABORT, 'audit lookups are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
