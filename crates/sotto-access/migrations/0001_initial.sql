-- sotto-access: employee identities, credentials, sessions, tokens, allowlists.
-- Secrets are stored only as hashes: passwords as Argon2id PHC strings, session secrets, CSRF
-- tokens, API token secrets and recovery codes as SHA-256. The TOTP seed must be readable to
-- check codes; the file is created with mode 0600.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    username        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    roles           TEXT NOT NULL,            -- comma-separated wire names
    team            TEXT,
    agent_ref       TEXT,
    totp_secret     BLOB NOT NULL,
    totp_confirmed  INTEGER NOT NULL DEFAULT 0,
    totp_last_step  INTEGER NOT NULL DEFAULT -1,
    override_listen   TEXT CHECK (override_listen IN ('allow', 'deny')),
    override_download TEXT CHECK (override_download IN ('allow', 'deny')),
    created_ms      INTEGER NOT NULL,
    UNIQUE (tenant, username)
);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    used_ms    INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    secret_hash         BLOB NOT NULL UNIQUE,
    csrf_hash           BLOB NOT NULL,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant              TEXT NOT NULL,
    created_ms          INTEGER NOT NULL,
    last_seen_ms        INTEGER NOT NULL,
    absolute_expires_ms INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    name          TEXT NOT NULL,
    secret_hash   BLOB NOT NULL,
    scopes        TEXT NOT NULL,              -- comma-separated permission wire names
    created_ms    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    expires_ms    INTEGER,
    revoked_ms    INTEGER,
    last_used_ms  INTEGER,
    UNIQUE (tenant, name)
);

CREATE TABLE allowlist (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',     -- '' = every role of the tenant (and tokens)
    cidr        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    UNIQUE (tenant, role, cidr)
);

-- Failed logins per user (key 'u:<tenant>:<sha256 of the username>', unknown names alike)
-- and per client address ('ip:<addr>' or 'ip:<v6 /64>').
CREATE TABLE login_failures (
    key              TEXT PRIMARY KEY,
    count            INTEGER NOT NULL,
    last_ms          INTEGER NOT NULL,
    locked_until_ms  INTEGER NOT NULL DEFAULT 0
);
