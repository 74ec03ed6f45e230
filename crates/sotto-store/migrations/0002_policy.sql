-- Sotto metadata schema, version 2: policies and retention (issue 6). Mirrors
-- crates/sotto-store/src/policy_model.rs. Same conventions as 0001 (TEXT ids, INTEGER ms, enums as
-- CHECKed TEXT, STRICT tables). Nothing here is content: rules, schedules, journal entries,
-- webhook payloads (ids and counts) and aggregate statistics.

-- Processing-mode rules. Resolution order for an interaction (most specific first):
-- called number > queue > campaign > tenant (scope 'tenant', key ''); a tenant without a rule
-- falls back to tenants.mode with the default retention of that mode.
CREATE TABLE policy_rules (
    tenant          TEXT    NOT NULL REFERENCES tenants (id),
    scope           TEXT    NOT NULL CHECK (scope IN ('tenant', 'campaign', 'queue', 'number')),
    -- '' for the tenant scope; a campaign or queue name; the called number (the tenant's own
    -- line, never the caller's).
    key             TEXT    NOT NULL,
    mode            TEXT    NOT NULL CHECK (mode IN ('minimal', 'anonymise', 'record')),
    -- minimal: invoicing period; anonymise: days until anonymisation; record: days kept.
    retention_days  INTEGER NOT NULL CHECK (retention_days >= 0),
    basis           TEXT    CHECK (basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    -- JSON array of extra webhook field names the tenant allows (ids/counts only).
    webhook_fields  TEXT    NOT NULL DEFAULT '[]',
    updated_ms      INTEGER NOT NULL,
    PRIMARY KEY (tenant, scope, key)
) STRICT, WITHOUT ROWID;

-- The retention schedule of each interaction: its resolved mode and the next action due.
-- Deleted with the interaction (cascade), so it never outlives what it describes.
CREATE TABLE interaction_policy (
    interaction     TEXT    NOT NULL PRIMARY KEY REFERENCES interactions (id) ON DELETE CASCADE,
    tenant          TEXT    NOT NULL,
    campaign        TEXT,
    queue           TEXT,
    called_number   TEXT,
    mode            TEXT    NOT NULL CHECK (mode IN ('minimal', 'anonymise', 'record')),
    retention_days  INTEGER NOT NULL,
    next_action     TEXT    NOT NULL CHECK (next_action IN ('reduce', 'anonymise', 'delete', 'none')),
    due_ms          INTEGER,
    -- 1 once the interaction was counted into stats_daily / stats_redactions.
    stats_done      INTEGER NOT NULL DEFAULT 0 CHECK (stats_done IN (0, 1))
) STRICT, WITHOUT ROWID;
CREATE INDEX interaction_policy_due ON interaction_policy (tenant, due_ms)
    WHERE next_action <> 'none';
CREATE INDEX interaction_policy_stats ON interaction_policy (tenant, stats_done)
    WHERE stats_done = 0;

-- The retention journal: every planned action with its state, so a crashed run is completed
-- by the next one with no action done twice. Rows are ids only.
CREATE TABLE retention_journal (
    run          TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    tenant       TEXT    NOT NULL,
    action       TEXT    NOT NULL CHECK (action IN ('reduce', 'anonymise', 'delete', 'erase_subject')),
    interaction  TEXT,
    subject      TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('planned', 'done', 'audited')),
    planned_ms   INTEGER NOT NULL,
    -- JSON: blob keys to delete, counts.
    detail       TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (run, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX retention_journal_open ON retention_journal (state, run, seq) WHERE state <> 'audited';

-- Webhook outbox (transactional outbox: events are written here, a dispatcher delivers them).
CREATE TABLE webhook_outbox (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    -- The configured endpoint's name (its URL and secret live in the configuration).
    endpoint      TEXT    NOT NULL,
    event         TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_ms       INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    last_error    TEXT
) STRICT;
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_ms) WHERE state = 'pending';

-- Pseudonymised statistics: aggregates per day (UTC), queue and channel. No ids of subjects or
-- interactions, so nothing here leads back to a person.
CREATE TABLE stats_daily (
    tenant        TEXT    NOT NULL,
    day           INTEGER NOT NULL,
    queue         TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    interactions  INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    bot           INTEGER NOT NULL,
    handovers     INTEGER NOT NULL,
    PRIMARY KEY (tenant, day, queue, channel)
) STRICT, WITHOUT ROWID;

CREATE TABLE stats_redactions (
    tenant  TEXT    NOT NULL,
    day     INTEGER NOT NULL,
    queue   TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (tenant, day, queue, kind)
) STRICT, WITHOUT ROWID;
