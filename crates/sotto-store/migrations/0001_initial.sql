-- Sotto metadata schema, version 1. Mirrors crates/sotto-store/src/model.rs.
--
-- Conventions:
-- * ids are TEXT: tenant slugs, and UUIDs in lower-case hyphenated form (their text order is
--   their byte order, so `ORDER BY id` matches `Ord` on the Rust ids and PostgreSQL's uuid order);
-- * timestamps are INTEGER milliseconds since the Unix epoch (UTC);
-- * enums are TEXT holding the `as_str()` wire name, guarded by CHECK constraints. Adding a
--   variant in sotto-core needs a migration here; `enum_variants_all_round_trip` in the test
--   suite fails until it is written;
-- * sealed content (ciphertext made by sotto-keys) is BLOB.
-- Tables are STRICT, so a value of the wrong type is refused instead of silently converted.
-- interactions, segments and recordings are WITHOUT ROWID: the primary key is the table, so a
-- row lives in one b-tree instead of a rowid table plus a key index. An erasure touches pages
-- scattered over the file (a subject's rows are interleaved with everybody else's), and every
-- page it touches is rewritten (secure_delete) and goes through the WAL, so fewer trees means a
-- proportionally cheaper erasure. Segments and recordings are clustered by interaction.

CREATE TABLE tenants (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    mode        TEXT    NOT NULL CHECK (mode IN ('minimal', 'anonymise', 'record')),
    created_ms  INTEGER NOT NULL
) STRICT;

-- Subjects are never deleted: an erased subject stays as a tombstone (state 'erased').
CREATE TABLE subjects (
    tenant      TEXT    NOT NULL REFERENCES tenants (id),
    id          TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('active', 'restricted', 'erased')),
    created_ms  INTEGER NOT NULL,
    erased_ms   INTEGER,
    PRIMARY KEY (tenant, id)
) STRICT;

-- Blind indexes: HMAC digests of normalised identifiers.
CREATE TABLE subject_index (
    tenant      TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('phone', 'email', 'customer_id', 'national_id')),
    digest      BLOB    NOT NULL,
    subject     TEXT    NOT NULL,
    PRIMARY KEY (tenant, kind, digest),
    FOREIGN KEY (tenant, subject) REFERENCES subjects (tenant, id)
) STRICT;
CREATE INDEX subject_index_by_subject ON subject_index (tenant, subject);

CREATE TABLE interactions (
    id                TEXT    NOT NULL PRIMARY KEY,
    tenant            TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    channel           TEXT    NOT NULL CHECK (channel IN ('call', 'voicemail', 'chat', 'email', 'sms')),
    direction         TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    started_ms        INTEGER NOT NULL,
    ended_ms          INTEGER NOT NULL,
    -- No foreign key: the CRM may name a case before it is put.
    case_id           TEXT,
    created_ms        INTEGER NOT NULL,
    wrapped_key       BLOB    NOT NULL,
    sealed_meta       BLOB    NOT NULL,
    redaction_counts  TEXT    NOT NULL,
    FOREIGN KEY (tenant, subject) REFERENCES subjects (tenant, id)
) STRICT, WITHOUT ROWID;
-- Each index ends in (started_ms, id), the listing order, so filtered lists need no sort.
CREATE INDEX interactions_by_subject ON interactions (tenant, subject, started_ms, id);
CREATE INDEX interactions_by_case ON interactions (tenant, case_id, started_ms, id)
    WHERE case_id IS NOT NULL;
CREATE INDEX interactions_by_start ON interactions (tenant, started_ms, id);

-- Segment ids are UUIDs made by the vault; nothing looks a segment up by id alone, so the id
-- has no index of its own.
CREATE TABLE segments (
    interaction   TEXT    NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    id            TEXT    NOT NULL,
    speaker       TEXT    NOT NULL CHECK (speaker IN ('caller', 'agent', 'bot')),
    kind          TEXT    NOT NULL CHECK (kind IN ('general', 'personal', 'static', 'dynamic')),
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL,
    sealed_text   BLOB    NOT NULL,
    sealed_words  BLOB,
    PRIMARY KEY (interaction, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE recordings (
    interaction   TEXT    NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    blob_key      TEXT    NOT NULL,
    codec         TEXT    NOT NULL,
    sample_rate   INTEGER NOT NULL CHECK (sample_rate >= 0),
    channels      INTEGER NOT NULL CHECK (channels >= 0),
    duration_ms   INTEGER NOT NULL,
    size_bytes    INTEGER NOT NULL,
    wrapped_key   BLOB    NOT NULL,
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (interaction, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE consents (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('recording', 'transcript', 'analytics', 'ai_training')),
    basis        TEXT    NOT NULL CHECK (basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    state        TEXT    NOT NULL CHECK (state IN ('given', 'withdrawn')),
    source       TEXT    NOT NULL,
    at_ms        INTEGER NOT NULL,
    -- No foreign key: erasure decides which consents go with which interactions.
    interaction  TEXT,
    FOREIGN KEY (tenant, subject) REFERENCES subjects (tenant, id)
) STRICT;
CREATE INDEX consents_by_subject ON consents (tenant, subject, at_ms, id);

CREATE TABLE cases (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant      TEXT    NOT NULL REFERENCES tenants (id),
    reference   TEXT    NOT NULL,
    opened_ms   INTEGER NOT NULL,
    closed_ms   INTEGER
) STRICT;

CREATE TABLE legal_holds (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant       TEXT    NOT NULL REFERENCES tenants (id),
    scope        TEXT    NOT NULL CHECK (scope IN ('case', 'subject', 'interaction')),
    target       TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    until_ms     INTEGER,
    released_ms  INTEGER
) STRICT;
CREATE INDEX legal_holds_by_tenant ON legal_holds (tenant, created_ms, id);

-- Receipts outlive everything they describe: no foreign key to subjects.
CREATE TABLE erasure_receipts (
    id        TEXT    NOT NULL PRIMARY KEY,
    tenant    TEXT    NOT NULL REFERENCES tenants (id),
    subject   TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    details   TEXT    NOT NULL
) STRICT;
CREATE INDEX erasure_receipts_by_tenant ON erasure_receipts (tenant, at_ms, id);
