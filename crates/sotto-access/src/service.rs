//! [`AccessService`]: the store of users, sessions, tokens and allowlists, and every
//! authentication decision, each audited.

use crate::config::AccessConfig;
use crate::error::AccessError;
use crate::matrix::{join_list, parse_list, Permission, Role};
use crate::net::{allowed_by, client_ip, failure_key};
use crate::password::{
    check_password_policy, hash_password, needs_rehash, random_bytes, random_secret, sha256,
    verify_password,
};
use crate::principal::{
    ActingAs, ActorRef, OverrideRule, Overrides, Principal, SessionId, TokenId, UserId,
};
use crate::totp;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use sotto_audit::{Action, AuditLog, Entry, Outcome};
use sotto_core::{Clock, TenantId, UnixMillis};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Recovery codes issued per enrolment.
pub const RECOVERY_CODES: usize = 10;
const MAX_USERNAME: usize = 64;
const MAX_NAME: usize = 64;
const MAX_REF: usize = 64;

/// A signed-in console session. `secret` is the cookie value; it is shown here once and stored
/// only as its SHA-256.
#[derive(Debug)]
pub struct IssuedSession {
    pub secret: SecretString,
    /// The session's CSRF token (also derivable from the secret: [`csrf_token_for`]).
    pub csrf: String,
    pub principal: Principal,
    pub idle_expires_ms: UnixMillis,
    pub absolute_expires_ms: UnixMillis,
}

/// What a user needs to set up their authenticator, shown once. `qr_svg` encodes the URI and
/// is as secret as it is.
#[derive(Debug)]
pub struct TotpEnrolment {
    pub secret_base32: SecretString,
    pub otpauth_uri: SecretString,
    pub qr_svg: String,
    pub recovery_codes: Vec<SecretString>,
}

/// A user as administrators see it (no credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub id: UserId,
    pub tenant: TenantId,
    pub username: String,
    pub roles: Vec<Role>,
    pub team: Option<String>,
    pub agent_ref: Option<String>,
    /// Whether the first valid TOTP code finished enrolment.
    pub totp_confirmed: bool,
    pub overrides: Overrides,
    pub created_ms: UnixMillis,
}

/// An API token as administrators see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: TokenId,
    pub tenant: TenantId,
    pub name: String,
    pub scopes: Vec<Permission>,
    pub created_ms: UnixMillis,
    pub created_by: String,
    pub expires_ms: Option<UnixMillis>,
    pub revoked_ms: Option<UnixMillis>,
    pub last_used_ms: Option<UnixMillis>,
}

/// One allowlist entry: `role: None` applies to the whole tenant (users and tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowlistEntry {
    pub role: Option<Role>,
    pub cidr: IpNet,
    pub created_ms: UnixMillis,
}

/// The CSRF token of the session whose cookie value is `session_secret`:
/// HMAC-SHA-256(secret, "sotto/v1/csrf"), URL-safe Base64. The server can re-derive it from
/// the cookie (e.g. to render a page) without storing it.
pub fn csrf_token_for(session_secret: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(session_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(b"sotto/v1/csrf");
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Owns employee identities, credentials, sessions, tokens and allowlists. Cheap to clone.
#[derive(Clone)]
pub struct AccessService {
    inner: Arc<Inner>,
}

struct Inner {
    pool: SqlitePool,
    audit: Arc<AuditLog>,
    clock: Arc<dyn Clock>,
    cfg: AccessConfig,
    /// A hash of a random password, verified for unknown usernames so that timing does not
    /// tell which usernames exist.
    dummy_hash: String,
}

impl std::fmt::Debug for AccessService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessService")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// The stored user row.
struct UserRow {
    id: UserId,
    tenant: TenantId,
    username: String,
    password_hash: String,
    roles: Vec<Role>,
    team: Option<String>,
    agent_ref: Option<String>,
    totp_secret: Zeroizing<Vec<u8>>,
    totp_confirmed: bool,
    overrides: Overrides,
    created_ms: UnixMillis,
}

const USER_COLS: &str = "u.id, u.tenant, u.username, u.password_hash, u.roles, u.team, \
    u.agent_ref, u.totp_secret, u.totp_confirmed, u.override_listen, u.override_download, \
    u.created_ms";

fn store_err(what: &str) -> AccessError {
    AccessError::Store(format!("malformed {what} in the access store"))
}

fn parse_id<T: FromStr>(s: &str, what: &str) -> Result<T, AccessError> {
    s.parse().map_err(|_| store_err(what))
}

impl UserRow {
    fn from_row(r: &SqliteRow) -> Result<Self, AccessError> {
        let id: String = r.try_get(0)?;
        let tenant: String = r.try_get(1)?;
        let roles: String = r.try_get(4)?;
        let listen: Option<String> = r.try_get(9)?;
        let download: Option<String> = r.try_get(10)?;
        let secret: Vec<u8> = r.try_get(7)?;
        Ok(Self {
            id: parse_id(&id, "user id")?,
            tenant: TenantId::new(&tenant).map_err(|_| store_err("tenant"))?,
            username: r.try_get(2)?,
            password_hash: r.try_get(3)?,
            roles: parse_list(&roles).map_err(|_| store_err("roles"))?,
            team: r.try_get(5)?,
            agent_ref: r.try_get(6)?,
            totp_secret: Zeroizing::new(secret),
            totp_confirmed: r.try_get::<i64, _>(8)? != 0,
            overrides: Overrides {
                listen: OverrideRule::parse(listen.as_deref()),
                download: OverrideRule::parse(download.as_deref()),
            },
            created_ms: r.try_get(11)?,
        })
    }

    fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id,
            tenant: self.tenant.clone(),
            username: self.username.clone(),
            roles: self.roles.clone(),
            team: self.team.clone(),
            agent_ref: self.agent_ref.clone(),
            totp_confirmed: self.totp_confirmed,
            overrides: self.overrides,
            created_ms: self.created_ms,
        }
    }

    fn principal(&self, session: Option<SessionId>) -> Principal {
        Principal {
            tenant: self.tenant.clone(),
            actor: ActorRef::User {
                id: self.id,
                username: self.username.clone(),
            },
            roles: self.roles.clone(),
            team: self.team.clone(),
            agent_ref: self.agent_ref.clone(),
            token_scopes: None,
            overrides: self.overrides,
            session,
        }
    }
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), AccessError> {
    if s.trim().is_empty() || s.trim() != s {
        return Err(AccessError::Invalid(format!(
            "{field} must not be empty or start/end with spaces"
        )));
    }
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(AccessError::Invalid(format!(
            "{field} must be at most {max} printable characters"
        )));
    }
    Ok(())
}

/// The failure-counter key of a username (hashed: typed names of non-users are never stored).
fn user_key(tenant: &TenantId, username: &str) -> String {
    let h = sha256(&[
        b"sotto/v1/login-name",
        tenant.as_str().as_bytes(),
        username.to_lowercase().as_bytes(),
    ]);
    format!("u:{}:{}", tenant.as_str(), hex::encode(h))
}

/// The audit actor for an attempt on a username that does not exist: a short hash, so repeated
/// attempts on one name can be correlated without recording the name.
fn unknown_actor(tenant: &TenantId, username: &str) -> String {
    let h = sha256(&[
        b"sotto/v1/unknown-user",
        tenant.as_str().as_bytes(),
        username.to_lowercase().as_bytes(),
    ]);
    format!("unknown-user:{}", hex::encode(&h[..8]))
}

fn recovery_hash(user: UserId, code: &str) -> [u8; 32] {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    sha256(&[b"sotto/v1/recovery", user.0.as_bytes(), norm.as_bytes()])
}

fn token_hash(id: TokenId, secret: &str) -> [u8; 32] {
    sha256(&[b"sotto/v1/token", id.0.as_bytes(), secret.as_bytes()])
}

fn session_hash(secret: &str) -> [u8; 32] {
    sha256(&[b"sotto/v1/session", secret.as_bytes()])
}

fn csrf_hash(csrf: &str) -> [u8; 32] {
    sha256(&[b"sotto/v1/csrf", csrf.as_bytes()])
}

/// Splits `sotto_<32 hex id>_<secret>`.
fn parse_token(s: &str) -> Option<(TokenId, &str)> {
    let rest = s.trim().strip_prefix("sotto_")?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.len() < 32 {
        return None;
    }
    Some((TokenId(uuid::Uuid::try_parse(id).ok()?), secret))
}

/// Ten recovery codes of 80 bits each, as `XXXX-XXXX-XXXX-XXXX` (Base32).
fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = totp::base32_encode(&random_bytes::<10>());
            raw.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

fn create_private_file(path: &Path) -> Result<(), AccessError> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            AccessError::Store(format!("cannot create {}: {}", dir.display(), e.kind()))
        })?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(AccessError::Store(format!(
            "cannot create {}: {}",
            path.display(),
            e.kind()
        ))),
    }
}

/// Which second factor a login presents.
enum SecondFactor<'a> {
    Totp(&'a str),
    Recovery(&'a str),
}

impl AccessService {
    /// Opens (creating with mode 0600, WAL, `synchronous=FULL`) the access database at `path`,
    /// e.g. `<data>/access.db`, and applies migrations.
    pub async fn open(
        path: &Path,
        audit: Arc<AuditLog>,
        clock: Arc<dyn Clock>,
        cfg: AccessConfig,
    ) -> Result<Self, AccessError> {
        cfg.validate()?;
        create_private_file(path)?;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| {
                AccessError::Store(format!("cannot open access store {}: {e}", path.display()))
            })?;
        Self::init(pool, audit, clock, cfg).await
    }

    /// A store in memory (tests).
    pub async fn in_memory(
        audit: Arc<AuditLog>,
        clock: Arc<dyn Clock>,
        cfg: AccessConfig,
    ) -> Result<Self, AccessError> {
        cfg.validate()?;
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        Self::init(pool, audit, clock, cfg).await
    }

    async fn init(
        pool: SqlitePool,
        audit: Arc<AuditLog>,
        clock: Arc<dyn Clock>,
        cfg: AccessConfig,
    ) -> Result<Self, AccessError> {
        MIGRATOR.run(&pool).await?;
        let cost = cfg.argon2;
        let dummy_hash = blocking(move || {
            let pw = Zeroizing::new(random_bytes::<32>());
            hash_password(pw.as_slice(), cost)
        })
        .await??;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                audit,
                clock,
                cfg,
                dummy_hash,
            }),
        })
    }

    pub fn config(&self) -> &AccessConfig {
        &self.inner.cfg
    }

    /// Peers whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.inner.cfg.trusted_proxies
    }

    /// The client address of a request: the socket's peer, or the rightmost untrusted
    /// `X-Forwarded-For` hop when — and only when — the peer is a trusted proxy.
    pub fn client_ip(&self, peer: SocketAddr, forwarded_for: Option<&str>) -> IpAddr {
        client_ip(peer, forwarded_for, &self.inner.cfg.trusted_proxies)
    }

    fn now(&self) -> UnixMillis {
        self.inner.clock.now_ms()
    }

    /// Appends one audit entry; an error fails the operation (fail closed).
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        tenant: &TenantId,
        actor: String,
        action: Action,
        outcome: Outcome,
        object: Option<String>,
        from: Option<IpAddr>,
        purpose: Option<String>,
    ) -> Result<(), AccessError> {
        let mut e = Entry::new(tenant.clone(), self.now(), actor, action, outcome);
        e.object = object;
        e.from = from.map(|ip| ip.to_string());
        e.purpose = purpose;
        self.inner.audit.append(e).await?;
        Ok(())
    }

    /// Audits a refusal and returns `err`. If the entry cannot be written the request is still
    /// refused; the failure to audit is logged (without personal data).
    async fn deny(
        &self,
        tenant: &TenantId,
        actor: String,
        action: Action,
        object: Option<String>,
        from: Option<IpAddr>,
        err: AccessError,
    ) -> AccessError {
        let purpose = Some(err.code().to_owned());
        if let Err(e) = self
            .audit(
                tenant,
                actor,
                action,
                Outcome::Denied,
                object,
                from,
                purpose,
            )
            .await
        {
            tracing::error!(error = %e, code = err.code(), "cannot audit a refused access");
        }
        err
    }

    async fn change(
        &self,
        tenant: &TenantId,
        by: &(impl ActingAs + ?Sized),
        object: String,
        what: String,
    ) -> Result<(), AccessError> {
        self.audit(
            tenant,
            by.actor_label(),
            Action::PermissionChange,
            Outcome::Ok,
            Some(object),
            None,
            Some(what),
        )
        .await
    }

    // ----- users -------------------------------------------------------------------------

    /// Creates a user with a password (policy: at least 12 characters) and a fresh TOTP
    /// enrolment, which the first valid code (at [`AccessService::confirm_totp`] or at the
    /// first login) finishes. `by` is who creates it (audited).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_user(
        &self,
        tenant: &TenantId,
        username: &str,
        password: &SecretString,
        roles: &[Role],
        team: Option<&str>,
        agent_ref: Option<&str>,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(UserId, TotpEnrolment), AccessError> {
        check_text("username", username, MAX_USERNAME)?;
        if let Some(t) = team {
            check_text("team", t, MAX_REF)?;
        }
        if let Some(a) = agent_ref {
            check_text("agent reference", a, MAX_REF)?;
        }
        let roles = dedup(roles);
        if roles.is_empty() {
            return Err(AccessError::Invalid(
                "a user needs at least one role".into(),
            ));
        }
        check_password_policy(password.expose_secret())?;
        if self.user_by_name(tenant, username).await?.is_some() {
            return Err(AccessError::Conflict(
                "a user with this username exists in the tenant".into(),
            ));
        }
        let pw = Zeroizing::new(password.expose_secret().as_bytes().to_vec());
        let cost = self.inner.cfg.argon2;
        let phc = blocking(move || hash_password(&pw, cost)).await??;
        let id = UserId::new();
        let secret = Zeroizing::new(random_bytes::<{ totp::SECRET_BYTES }>().to_vec());
        let codes = new_recovery_codes();
        let now = self.now();
        let mut tx = self.inner.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO users (id, tenant, username, password_hash, roles, team, agent_ref, \
             totp_secret, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(tenant.as_str())
        .bind(username)
        .bind(&phc)
        .bind(join_list(&roles))
        .bind(team)
        .bind(agent_ref)
        .bind(secret.as_slice())
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r {
            if e.is_unique_violation() {
                return Err(AccessError::Conflict(
                    "a user with this username exists in the tenant".into(),
                ));
            }
        }
        r?;
        for c in &codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(id.to_string())
                .bind(recovery_hash(id, c).as_slice())
                .execute(&mut *tx)
                .await?;
        }
        self.change(
            tenant,
            by,
            format!("user:{id}"),
            format!("user.create roles={}", join_list(&roles)),
        )
        .await?;
        tx.commit().await?;
        Ok((id, self.enrolment(username, &secret, codes)))
    }

    fn enrolment(&self, username: &str, secret: &[u8], codes: Vec<String>) -> TotpEnrolment {
        let uri = totp::otpauth_uri(&self.inner.cfg.totp_issuer, username, secret);
        TotpEnrolment {
            secret_base32: SecretString::from(totp::base32_encode(secret)),
            qr_svg: totp::qr_svg(&uri),
            otpauth_uri: SecretString::from(uri),
            recovery_codes: codes.into_iter().map(SecretString::from).collect(),
        }
    }

    async fn user_row(&self, id: UserId) -> Result<UserRow, AccessError> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.inner.pool)
            .await?
            .ok_or_else(|| AccessError::NotFound(format!("user {id}")))?;
        UserRow::from_row(&row)
    }

    async fn user_row_by_name(
        &self,
        tenant: &TenantId,
        username: &str,
    ) -> Result<Option<UserRow>, AccessError> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.tenant = ? AND u.username = ?");
        let row = sqlx::query(&sql)
            .bind(tenant.as_str())
            .bind(username)
            .fetch_optional(&self.inner.pool)
            .await?;
        row.as_ref().map(UserRow::from_row).transpose()
    }

    /// One user by id.
    pub async fn get_user(&self, id: UserId) -> Result<UserInfo, AccessError> {
        Ok(self.user_row(id).await?.info())
    }

    /// One user by username, if there is one.
    pub async fn user_by_name(
        &self,
        tenant: &TenantId,
        username: &str,
    ) -> Result<Option<UserInfo>, AccessError> {
        Ok(self
            .user_row_by_name(tenant, username)
            .await?
            .map(|u| u.info()))
    }

    /// The users of a tenant, by username.
    pub async fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserInfo>, AccessError> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.tenant = ? ORDER BY u.username");
        let rows = sqlx::query(&sql)
            .bind(tenant.as_str())
            .fetch_all(&self.inner.pool)
            .await?;
        rows.iter()
            .map(|r| UserRow::from_row(r).map(|u| u.info()))
            .collect()
    }

    /// The team of the user whose agent reference is `agent_ref` (for `Scope::Team` checks).
    pub async fn team_of_agent(
        &self,
        tenant: &TenantId,
        agent_ref: &str,
    ) -> Result<Option<String>, AccessError> {
        let team: Option<Option<String>> = sqlx::query_scalar(
            "SELECT team FROM users WHERE tenant = ? AND agent_ref = ? AND team IS NOT NULL \
             ORDER BY created_ms LIMIT 1",
        )
        .bind(tenant.as_str())
        .bind(agent_ref)
        .fetch_optional(&self.inner.pool)
        .await?;
        Ok(team.flatten())
    }

    /// The agent references of a team (to filter listings for `Scope::Team`).
    pub async fn team_agents(
        &self,
        tenant: &TenantId,
        team: &str,
    ) -> Result<Vec<String>, AccessError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT agent_ref FROM users WHERE tenant = ? AND team = ? \
             AND agent_ref IS NOT NULL ORDER BY agent_ref",
        )
        .bind(tenant.as_str())
        .bind(team)
        .fetch_all(&self.inner.pool)
        .await?)
    }

    /// Replaces a user's roles (takes effect at the user's next request).
    pub async fn set_roles(
        &self,
        user: UserId,
        roles: &[Role],
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        let roles = dedup(roles);
        if roles.is_empty() {
            return Err(AccessError::Invalid(
                "a user needs at least one role".into(),
            ));
        }
        let u = self.user_row(user).await?;
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query("UPDATE users SET roles = ? WHERE id = ?")
            .bind(join_list(&roles))
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        self.change(
            &u.tenant,
            by,
            format!("user:{user}"),
            format!(
                "user.roles {} -> {}",
                join_list(&u.roles),
                join_list(&roles)
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a user's team and agent reference.
    pub async fn set_profile(
        &self,
        user: UserId,
        team: Option<&str>,
        agent_ref: Option<&str>,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        if let Some(t) = team {
            check_text("team", t, MAX_REF)?;
        }
        if let Some(a) = agent_ref {
            check_text("agent reference", a, MAX_REF)?;
        }
        let u = self.user_row(user).await?;
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query("UPDATE users SET team = ?, agent_ref = ? WHERE id = ?")
            .bind(team)
            .bind(agent_ref)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        self.change(
            &u.tenant,
            by,
            format!("user:{user}"),
            "user.profile team/agent_ref".into(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the per-user listen/download overrides.
    pub async fn set_overrides(
        &self,
        user: UserId,
        overrides: Overrides,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        let u = self.user_row(user).await?;
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query("UPDATE users SET override_listen = ?, override_download = ? WHERE id = ?")
            .bind(overrides.listen.map(OverrideRule::as_str))
            .bind(overrides.download.map(OverrideRule::as_str))
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        let show = |o: Option<OverrideRule>| o.map_or("none", OverrideRule::as_str);
        self.change(
            &u.tenant,
            by,
            format!("user:{user}"),
            format!(
                "user.overrides listen={} download={}",
                show(overrides.listen),
                show(overrides.download)
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a user's password and signs them out everywhere.
    pub async fn set_password(
        &self,
        user: UserId,
        password: &SecretString,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        check_password_policy(password.expose_secret())?;
        let u = self.user_row(user).await?;
        let pw = Zeroizing::new(password.expose_secret().as_bytes().to_vec());
        let cost = self.inner.cfg.argon2;
        let phc = blocking(move || hash_password(&pw, cost)).await??;
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(&phc)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        self.change(
            &u.tenant,
            by,
            format!("user:{user}"),
            "user.password reset; sessions ended".into(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user with their sessions and recovery codes.
    pub async fn delete_user(
        &self,
        user: UserId,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        let u = self.user_row(user).await?;
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        self.change(&u.tenant, by, format!("user:{user}"), "user.delete".into())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new TOTP secret and new recovery codes (the old ones stop working at once); the user
    /// is signed out everywhere and finishes the new enrolment with a first valid code.
    pub async fn reset_2fa(
        &self,
        user: UserId,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<TotpEnrolment, AccessError> {
        let u = self.user_row(user).await?;
        let secret = Zeroizing::new(random_bytes::<{ totp::SECRET_BYTES }>().to_vec());
        let codes = new_recovery_codes();
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = ?, totp_confirmed = 0, totp_last_step = -1 \
             WHERE id = ?",
        )
        .bind(secret.as_slice())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        for q in [
            "DELETE FROM recovery_codes WHERE user_id = ?",
            "DELETE FROM sessions WHERE user_id = ?",
        ] {
            sqlx::query(q)
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?;
        }
        for c in &codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(user.to_string())
                .bind(recovery_hash(user, c).as_slice())
                .execute(&mut *tx)
                .await?;
        }
        self.change(
            &u.tenant,
            by,
            format!("user:{user}"),
            "user.reset_2fa; sessions ended".into(),
        )
        .await?;
        tx.commit().await?;
        Ok(self.enrolment(&u.username, &secret, codes))
    }

    /// Finishes a TOTP enrolment with a first valid code (which can then not be used again).
    pub async fn confirm_totp(&self, user: UserId, code: &str) -> Result<(), AccessError> {
        let u = self.user_row(user).await?;
        let now = self.now();
        let actor = format!("user:{user}");
        let Some(step) = totp::matching_step(&u.totp_secret, code, now) else {
            return Err(self
                .deny(
                    &u.tenant,
                    actor,
                    Action::PermissionChange,
                    Some(format!("user:{user}")),
                    None,
                    AccessError::InvalidCredentials,
                )
                .await);
        };
        if !self.consume_step(user, step).await? {
            return Err(self
                .deny(
                    &u.tenant,
                    actor,
                    Action::PermissionChange,
                    Some(format!("user:{user}")),
                    None,
                    AccessError::TotpReplay,
                )
                .await);
        }
        self.audit(
            &u.tenant,
            actor,
            Action::PermissionChange,
            Outcome::Ok,
            Some(format!("user:{user}")),
            None,
            Some("user.totp_confirmed".into()),
        )
        .await
    }

    /// Records `step` as used, if it is later than every step used before; false otherwise
    /// (a replay, or an earlier code after a later one).
    async fn consume_step(&self, user: UserId, step: i64) -> Result<bool, AccessError> {
        let r = sqlx::query(
            "UPDATE users SET totp_last_step = ?, totp_confirmed = 1 \
             WHERE id = ? AND totp_last_step < ?",
        )
        .bind(step)
        .bind(user.to_string())
        .bind(step)
        .execute(&self.inner.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    // ----- login -------------------------------------------------------------------------

    /// Password + TOTP code. Every outcome is audited (`login.success` / `login.failure`).
    pub async fn login(
        &self,
        tenant: &TenantId,
        username: &str,
        password: &SecretString,
        totp_code: &str,
        client: IpAddr,
    ) -> Result<IssuedSession, AccessError> {
        self.login_with(
            tenant,
            username,
            password,
            SecondFactor::Totp(totp_code),
            client,
        )
        .await
    }

    /// Password + one of the recovery codes (each works once).
    pub async fn login_recovery(
        &self,
        tenant: &TenantId,
        username: &str,
        password: &SecretString,
        recovery_code: &SecretString,
        client: IpAddr,
    ) -> Result<IssuedSession, AccessError> {
        self.login_with(
            tenant,
            username,
            password,
            SecondFactor::Recovery(recovery_code.expose_secret()),
            client,
        )
        .await
    }

    async fn login_with(
        &self,
        tenant: &TenantId,
        username: &str,
        password: &SecretString,
        factor: SecondFactor<'_>,
        client: IpAddr,
    ) -> Result<IssuedSession, AccessError> {
        let now = self.now();
        let client = client.to_canonical();
        let user = self.user_row_by_name(tenant, username).await?;
        let actor = match &user {
            Some(u) => format!("user:{}", u.id),
            None => unknown_actor(tenant, username),
        };
        let ukey = user_key(tenant, username);
        let ikey = failure_key(client);
        let fail = |err: AccessError| {
            self.deny(
                tenant,
                actor.clone(),
                Action::LoginFailure,
                None,
                Some(client),
                err,
            )
        };

        // Locked: refuse without looking at the password.
        if let Some(retry_after_ms) = self.locked(&[&ukey, &ikey], now).await? {
            return Err(fail(AccessError::LockedOut { retry_after_ms }).await);
        }
        // The tenant's network restriction applies before anything about the user is known.
        if !self.ip_allowed(tenant, &[], client).await? {
            return Err(fail(AccessError::IpNotAllowed).await);
        }

        let phc = user.as_ref().map_or_else(
            || self.inner.dummy_hash.clone(),
            |u| u.password_hash.clone(),
        );
        let pw = Zeroizing::new(password.expose_secret().as_bytes().to_vec());
        let pw_ok = blocking(move || verify_password(&pw, &phc)).await?;
        let Some(user) = user.filter(|_| pw_ok) else {
            self.record_failure(&[&ukey, &ikey], now).await?;
            return Err(fail(AccessError::InvalidCredentials).await);
        };

        let second = match factor {
            SecondFactor::Totp(code) => match totp::matching_step(&user.totp_secret, code, now) {
                None => Err(AccessError::InvalidCredentials),
                Some(step) => {
                    if self.consume_step(user.id, step).await? {
                        Ok(())
                    } else {
                        Err(AccessError::TotpReplay)
                    }
                }
            },
            SecondFactor::Recovery(code) => {
                let r = sqlx::query(
                    "UPDATE recovery_codes SET used_ms = ? \
                     WHERE user_id = ? AND code_hash = ? AND used_ms IS NULL",
                )
                .bind(now)
                .bind(user.id.to_string())
                .bind(recovery_hash(user.id, code).as_slice())
                .execute(&self.inner.pool)
                .await?;
                if r.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(AccessError::InvalidCredentials)
                }
            }
        };
        if let Err(e) = second {
            self.record_failure(&[&ukey, &ikey], now).await?;
            return Err(fail(e).await);
        }

        // The roles' network restrictions.
        if !self.ip_allowed(tenant, &user.roles, client).await? {
            return Err(fail(AccessError::IpNotAllowed).await);
        }

        sqlx::query("DELETE FROM login_failures WHERE key = ?")
            .bind(&ukey)
            .execute(&self.inner.pool)
            .await?;
        if needs_rehash(&user.password_hash, self.inner.cfg.argon2) {
            let pw = Zeroizing::new(password.expose_secret().as_bytes().to_vec());
            let cost = self.inner.cfg.argon2;
            let phc = blocking(move || hash_password(&pw, cost)).await??;
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
                .bind(&phc)
                .bind(user.id.to_string())
                .execute(&self.inner.pool)
                .await?;
        }
        let how = match factor {
            SecondFactor::Totp(_) => "password+totp",
            SecondFactor::Recovery(_) => "password+recovery_code",
        };
        self.new_session(&user, client, how).await
    }

    /// A fresh session: a new random secret every time, so a secret known before the login
    /// (session fixation) never becomes authenticated.
    async fn new_session(
        &self,
        user: &UserRow,
        client: IpAddr,
        how: &str,
    ) -> Result<IssuedSession, AccessError> {
        let now = self.now();
        let secret = random_secret();
        let csrf = csrf_token_for(&secret);
        let id = SessionId::new();
        let absolute = now.saturating_add(self.inner.cfg.session_absolute_ms);
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, secret_hash, csrf_hash, user_id, tenant, created_ms, \
             last_seen_ms, absolute_expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(session_hash(&secret).as_slice())
        .bind(csrf_hash(&csrf).as_slice())
        .bind(user.id.to_string())
        .bind(user.tenant.as_str())
        .bind(now)
        .bind(now)
        .bind(absolute)
        .execute(&mut *tx)
        .await?;
        // Expired sessions of this user are cleaned up as a side effect.
        sqlx::query(
            "DELETE FROM sessions WHERE user_id = ? AND (absolute_expires_ms <= ? OR last_seen_ms + ? <= ?)",
        )
        .bind(user.id.to_string())
        .bind(now)
        .bind(self.inner.cfg.session_idle_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.audit(
            &user.tenant,
            format!("user:{}", user.id),
            Action::LoginSuccess,
            Outcome::Ok,
            Some(format!("session:{id}")),
            Some(client),
            Some(how.to_owned()),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedSession {
            secret: SecretString::from(secret),
            csrf,
            principal: user.principal(Some(id)),
            idle_expires_ms: now
                .saturating_add(self.inner.cfg.session_idle_ms)
                .min(absolute),
            absolute_expires_ms: absolute,
        })
    }

    /// The longest remaining lock over `keys`, if any.
    async fn locked(&self, keys: &[&str], now: UnixMillis) -> Result<Option<i64>, AccessError> {
        let mut until = 0i64;
        for k in keys {
            let v: Option<i64> =
                sqlx::query_scalar("SELECT locked_until_ms FROM login_failures WHERE key = ?")
                    .bind(*k)
                    .fetch_optional(&self.inner.pool)
                    .await?;
            until = until.max(v.unwrap_or(0));
        }
        Ok((until > now).then_some(until - now))
    }

    /// Counts a failure under each key; at `max_failures` and beyond, locks with exponential
    /// backoff.
    async fn record_failure(&self, keys: &[&str], now: UnixMillis) -> Result<(), AccessError> {
        let cfg = &self.inner.cfg;
        for k in keys {
            let row: Option<(i64, i64, i64)> = sqlx::query_as(
                "SELECT count, last_ms, locked_until_ms FROM login_failures WHERE key = ?",
            )
            .bind(*k)
            .fetch_optional(&self.inner.pool)
            .await?;
            let count = match row {
                Some((c, last, locked))
                    if now.saturating_sub(last) <= cfg.failure_window_ms || locked > now =>
                {
                    c.saturating_add(1)
                }
                _ => 1,
            };
            let count_u = u32::try_from(count).unwrap_or(u32::MAX);
            let locked_until = if count_u >= cfg.max_failures {
                now.saturating_add(cfg.lock_ms(count_u))
            } else {
                0
            };
            sqlx::query(
                "INSERT INTO login_failures (key, count, last_ms, locked_until_ms) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET count = excluded.count, \
                 last_ms = excluded.last_ms, locked_until_ms = excluded.locked_until_ms",
            )
            .bind(*k)
            .bind(count)
            .bind(now)
            .bind(locked_until)
            .execute(&self.inner.pool)
            .await?;
        }
        Ok(())
    }

    // ----- sessions ----------------------------------------------------------------------

    /// The principal of a session cookie. Checks idle and absolute expiry (on the injected
    /// clock) and the allowlists, and extends the idle timer.
    pub async fn authenticate_session(
        &self,
        session_secret: &str,
        client: IpAddr,
    ) -> Result<Principal, AccessError> {
        let now = self.now();
        let client = client.to_canonical();
        let sql = format!(
            "SELECT {USER_COLS}, s.id, s.last_seen_ms, s.absolute_expires_ms \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = ?"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(session_hash(session_secret).as_slice())
            .fetch_optional(&self.inner.pool)
            .await?
        else {
            return Err(AccessError::SessionUnknown);
        };
        let user = UserRow::from_row(&row)?;
        let sid: String = row.try_get(12)?;
        let sid: SessionId = parse_id(&sid, "session id")?;
        let last_seen: i64 = row.try_get(13)?;
        let absolute: i64 = row.try_get(14)?;
        let actor = format!("user:{}", user.id);
        let object = Some(format!("session:{sid}"));
        if now >= absolute || now >= last_seen.saturating_add(self.inner.cfg.session_idle_ms) {
            sqlx::query("DELETE FROM sessions WHERE id = ?")
                .bind(sid.to_string())
                .execute(&self.inner.pool)
                .await?;
            return Err(self
                .deny(
                    &user.tenant,
                    actor,
                    Action::LoginFailure,
                    object,
                    Some(client),
                    AccessError::SessionExpired,
                )
                .await);
        }
        if !self.ip_allowed(&user.tenant, &user.roles, client).await? {
            return Err(self
                .deny(
                    &user.tenant,
                    actor,
                    Action::LoginFailure,
                    object,
                    Some(client),
                    AccessError::IpNotAllowed,
                )
                .await);
        }
        sqlx::query("UPDATE sessions SET last_seen_ms = ? WHERE id = ? AND last_seen_ms < ?")
            .bind(now)
            .bind(sid.to_string())
            .bind(now)
            .execute(&self.inner.pool)
            .await?;
        Ok(user.principal(Some(sid)))
    }

    /// Checks a console request's CSRF token against the principal's session (constant time).
    /// Refusals are audited.
    pub async fn verify_csrf(
        &self,
        principal: &Principal,
        csrf_token: &str,
    ) -> Result<(), AccessError> {
        let stored: Option<Vec<u8>> = match principal.session {
            Some(sid) => {
                sqlx::query_scalar("SELECT csrf_hash FROM sessions WHERE id = ?")
                    .bind(sid.to_string())
                    .fetch_optional(&self.inner.pool)
                    .await?
            }
            None => None,
        };
        let ok = stored.is_some_and(|h| bool::from(h.ct_eq(csrf_hash(csrf_token).as_slice())));
        if ok {
            return Ok(());
        }
        Err(self
            .deny(
                &principal.tenant,
                principal.actor_label(),
                Action::Other,
                principal.session.map(|s| format!("session:{s}")),
                None,
                AccessError::CsrfMismatch,
            )
            .await)
    }

    /// Ends the principal's session.
    pub async fn logout(&self, p: &Principal) -> Result<(), AccessError> {
        let Some(sid) = p.session else {
            return Err(AccessError::Invalid(
                "API tokens have no session; revoke the token instead".into(),
            ));
        };
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(sid.to_string())
            .execute(&self.inner.pool)
            .await?;
        self.audit(
            &p.tenant,
            p.actor_label(),
            Action::Other,
            Outcome::Ok,
            Some(format!("session:{sid}")),
            None,
            Some("logout".into()),
        )
        .await
    }

    /// Ends every session of a user ("sign out everywhere"); returns how many.
    pub async fn logout_everywhere(&self, user: UserId) -> Result<u64, AccessError> {
        let u = self.user_row(user).await?;
        let mut tx = self.inner.pool.begin().await?;
        let n = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        self.audit(
            &u.tenant,
            format!("user:{user}"),
            Action::Other,
            Outcome::Ok,
            Some(format!("user:{user}")),
            None,
            Some(format!("logout_everywhere sessions={n}")),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    // ----- API tokens --------------------------------------------------------------------

    /// Creates an API token `sotto_<id>_<secret>` for the given permissions; the returned
    /// string is shown once (only a hash is stored). A token creating a token cannot grant
    /// more than its own scopes.
    pub async fn create_token(
        &self,
        tenant: &TenantId,
        name: &str,
        scopes: &[Permission],
        expires_ms: Option<UnixMillis>,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(TokenId, SecretString), AccessError> {
        check_text("token name", name, MAX_NAME)?;
        let scopes = dedup(scopes);
        if scopes.is_empty() {
            return Err(AccessError::Invalid(
                "a token needs at least one scope".into(),
            ));
        }
        if let Some(own) = by.acting_token_scopes() {
            if scopes.iter().any(|s| !own.contains(s)) {
                return Err(AccessError::Forbidden);
            }
        }
        let now = self.now();
        if expires_ms.is_some_and(|e| e <= now) {
            return Err(AccessError::Invalid("the expiry is in the past".into()));
        }
        let id = TokenId::new();
        let secret = Zeroizing::new(random_secret());
        let mut tx = self.inner.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO tokens (id, tenant, name, secret_hash, scopes, created_ms, created_by, \
             expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(tenant.as_str())
        .bind(name)
        .bind(token_hash(id, &secret).as_slice())
        .bind(join_list(&scopes))
        .bind(now)
        .bind(by.actor_label())
        .bind(expires_ms)
        .execute(&mut *tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r {
            if e.is_unique_violation() {
                return Err(AccessError::Conflict(
                    "a token with this name exists in the tenant".into(),
                ));
            }
        }
        r?;
        self.change(
            tenant,
            by,
            format!("token:{id}"),
            format!(
                "token.create scopes={} expires_ms={}",
                join_list(&scopes),
                expires_ms.map_or_else(|| "never".to_owned(), |e| e.to_string())
            ),
        )
        .await?;
        tx.commit().await?;
        let token = format!("sotto_{}_{}", id.0.simple(), secret.as_str());
        Ok((id, SecretString::from(token)))
    }

    /// Revokes a token at once.
    pub async fn revoke_token(
        &self,
        tenant: &TenantId,
        id: TokenId,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        let now = self.now();
        let mut tx = self.inner.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE tokens SET revoked_ms = ? WHERE id = ? AND tenant = ? AND revoked_ms IS NULL",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(tenant.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(AccessError::NotFound(format!("active token {id}")));
        }
        self.change(tenant, by, format!("token:{id}"), "token.revoke".into())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant's tokens (never their secrets).
    pub async fn list_tokens(&self, tenant: &TenantId) -> Result<Vec<TokenInfo>, AccessError> {
        let rows = sqlx::query(
            "SELECT id, tenant, name, scopes, created_ms, created_by, expires_ms, revoked_ms, \
             last_used_ms FROM tokens WHERE tenant = ? ORDER BY created_ms, name",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let tenant: String = r.try_get(1)?;
                let scopes: String = r.try_get(3)?;
                Ok(TokenInfo {
                    id: parse_id(&id, "token id")?,
                    tenant: TenantId::new(&tenant).map_err(|_| store_err("tenant"))?,
                    name: r.try_get(2)?,
                    scopes: parse_list(&scopes).map_err(|_| store_err("scopes"))?,
                    created_ms: r.try_get(4)?,
                    created_by: r.try_get(5)?,
                    expires_ms: r.try_get(6)?,
                    revoked_ms: r.try_get(7)?,
                    last_used_ms: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// The principal of an API token (`Authorization: Bearer sotto_…`). Checks the secret
    /// (constant time), revocation, expiry and the tenant's allowlist.
    pub async fn authenticate_token(
        &self,
        token_secret: &str,
        client: IpAddr,
    ) -> Result<Principal, AccessError> {
        let now = self.now();
        let client = client.to_canonical();
        let Some((id, secret)) = parse_token(token_secret) else {
            return Err(AccessError::TokenUnknown);
        };
        let row = sqlx::query(
            "SELECT tenant, name, secret_hash, scopes, expires_ms, revoked_ms, last_used_ms \
             FROM tokens WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.inner.pool)
        .await?;
        let Some(row) = row else {
            return Err(AccessError::TokenUnknown);
        };
        let tenant: String = row.try_get(0)?;
        let tenant = TenantId::new(&tenant).map_err(|_| store_err("tenant"))?;
        let name: String = row.try_get(1)?;
        let stored: Vec<u8> = row.try_get(2)?;
        let scopes: String = row.try_get(3)?;
        let expires: Option<i64> = row.try_get(4)?;
        let revoked: Option<i64> = row.try_get(5)?;
        let last_used: Option<i64> = row.try_get(6)?;
        let actor = format!("token:{id}");
        let deny = |err| {
            self.deny(
                &tenant,
                actor.clone(),
                Action::LoginFailure,
                Some(format!("token:{id}")),
                Some(client),
                err,
            )
        };
        if !bool::from(stored.ct_eq(token_hash(id, secret).as_slice())) {
            return Err(deny(AccessError::TokenUnknown).await);
        }
        if revoked.is_some() {
            return Err(deny(AccessError::TokenRevoked).await);
        }
        if expires.is_some_and(|e| now >= e) {
            return Err(deny(AccessError::TokenExpired).await);
        }
        if !self.ip_allowed(&tenant, &[], client).await? {
            return Err(deny(AccessError::IpNotAllowed).await);
        }
        // Recorded at most once a minute (a write per request would serialise the API).
        if last_used.is_none_or(|l| now.saturating_sub(l) >= 60_000) {
            sqlx::query("UPDATE tokens SET last_used_ms = ? WHERE id = ?")
                .bind(now)
                .bind(id.to_string())
                .execute(&self.inner.pool)
                .await?;
        }
        Ok(Principal {
            tenant,
            actor: ActorRef::Token { id, name },
            roles: Vec::new(),
            team: None,
            agent_ref: None,
            token_scopes: Some(parse_list(&scopes).map_err(|_| store_err("scopes"))?),
            overrides: Overrides::default(),
            session: None,
        })
    }

    // ----- allowlists --------------------------------------------------------------------

    /// Adds a network to the tenant's allowlist (`role: None`) or to one role's. Once a list
    /// has an entry, only its networks may authenticate (an empty list allows all).
    pub async fn allowlist_add(
        &self,
        tenant: &TenantId,
        role: Option<Role>,
        cidr: IpNet,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        let cidr = cidr.trunc();
        let mut tx = self.inner.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO allowlist (tenant, role, cidr, created_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(tenant.as_str())
        .bind(role.map_or("", Role::as_str))
        .bind(cidr.to_string())
        .bind(self.now())
        .execute(&mut *tx)
        .await;
        if let Err(sqlx::Error::Database(e)) = &r {
            if e.is_unique_violation() {
                return Err(AccessError::Conflict(format!(
                    "{cidr} is already on this allowlist"
                )));
            }
        }
        r?;
        self.change(
            tenant,
            by,
            format!("allowlist:{}", role.map_or("tenant", Role::as_str)),
            format!("allowlist.add {cidr}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a network from an allowlist.
    pub async fn allowlist_remove(
        &self,
        tenant: &TenantId,
        role: Option<Role>,
        cidr: IpNet,
        by: &(impl ActingAs + ?Sized),
    ) -> Result<(), AccessError> {
        let cidr = cidr.trunc();
        let mut tx = self.inner.pool.begin().await?;
        let n = sqlx::query("DELETE FROM allowlist WHERE tenant = ? AND role = ? AND cidr = ?")
            .bind(tenant.as_str())
            .bind(role.map_or("", Role::as_str))
            .bind(cidr.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(AccessError::NotFound(format!(
                "{cidr} is not on this allowlist"
            )));
        }
        self.change(
            tenant,
            by,
            format!("allowlist:{}", role.map_or("tenant", Role::as_str)),
            format!("allowlist.remove {cidr}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant's allowlist entries (tenant-wide first, then by role).
    pub async fn allowlist_list(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<AllowlistEntry>, AccessError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT role, cidr, created_ms FROM allowlist WHERE tenant = ? ORDER BY role, cidr",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.pool)
        .await?;
        rows.into_iter()
            .map(|(role, cidr, created_ms)| {
                Ok(AllowlistEntry {
                    role: if role.is_empty() {
                        None
                    } else {
                        Some(role.parse().map_err(|_| store_err("allowlist role"))?)
                    },
                    cidr: cidr.parse().map_err(|_| store_err("allowlist network"))?,
                    created_ms,
                })
            })
            .collect()
    }

    /// Whether `ip` passes the tenant's list and the list of every one of `roles` (each
    /// non-empty list must contain the address: restrictions add up, fail closed).
    pub async fn ip_allowed(
        &self,
        tenant: &TenantId,
        roles: &[Role],
        ip: IpAddr,
    ) -> Result<bool, AccessError> {
        let entries = self.allowlist_list(tenant).await?;
        let list_of = |r: Option<Role>| -> Vec<IpNet> {
            entries
                .iter()
                .filter(|e| e.role == r)
                .map(|e| e.cidr)
                .collect()
        };
        if !allowed_by(&list_of(None), ip) {
            return Ok(false);
        }
        Ok(roles.iter().all(|r| allowed_by(&list_of(Some(*r)), ip)))
    }
}

fn dedup<T: Copy + Ord>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Runs CPU-heavy work (Argon2id) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AccessError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| AccessError::Store("a password hashing task failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_strings_parse() {
        let id = TokenId::new();
        let s = format!("sotto_{}_{}", id.0.simple(), random_secret());
        let (got, secret) = parse_token(&s).unwrap();
        assert_eq!(got, id);
        assert_eq!(secret.len(), 43);
        assert!(parse_token("sotto_abc_def").is_none());
        assert!(parse_token("bearer").is_none());
    }

    #[test]
    fn recovery_codes_are_80_bits_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0].len(), 19);
        let u = UserId::new();
        assert_eq!(
            recovery_hash(u, &codes[0]),
            recovery_hash(u, &codes[0].to_lowercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(u, &codes[0]), recovery_hash(u, &codes[1]));
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        assert_eq!(csrf_token_for("a"), csrf_token_for("a"));
        assert_ne!(csrf_token_for("a"), csrf_token_for("b"));
    }

    proptest::proptest! {
        #[test]
        fn token_parsing_never_panics(s in "\\PC{0,100}") {
            let _ = parse_token(&s);
            let _ = parse_token(&format!("sotto_{s}"));
        }
    }
}
