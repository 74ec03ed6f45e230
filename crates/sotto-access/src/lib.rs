//! Access control: who may reach Sotto, and what they may do there.
//!
//! Owns: employee identities per tenant (users with roles, team and agent reference), their
//! credentials (Argon2id password hashes, RFC 6238 TOTP with enrolment by QR code and
//! single-use recovery codes), login with lockout and exponential backoff, console sessions
//! (256-bit secrets stored as SHA-256, idle and absolute expiry, a new secret at every login,
//! a CSRF token per session, sign-out everywhere), scoped API tokens (stored hashed, shown
//! once, revocable, optionally expiring), IP allowlists per tenant and per role, the client
//! address behind trusted proxies — and THE permission matrix ([`grant`]), the one place that
//! says which role may do what and how far it reaches ([`Scope`]). Every login, refusal and
//! change of a permission is written to the audit log.
//!
//! Must never: touch callers' personal data (it stores employees' accounts, nothing about data
//! subjects); decide anything outside [`Permission`] (the API asks `scope_for` and enforces
//! it; the vault enforces everything else); put a password, a TOTP code, a secret or a typed
//! username of a non-user into an error, a log line or an audit entry.
//!
//! # Storage
//! One SQLite file of its own (`<data>/access.db`, mode 0600, WAL, migrations in
//! `migrations/`). Honest limit: TOTP seeds must be readable to check codes and are stored as
//! they are; whoever can read `access.db` can generate codes (but still needs the password,
//! whose Argon2id hash is all that is stored).

mod bench;
mod config;
mod error;
mod matrix;
mod net;
mod password;
mod principal;
mod service;
pub mod totp;

pub use bench::{bench_login, LoginBenchReport};
pub use config::AccessConfig;
pub use error::AccessError;
pub use ipnet::IpNet;
pub use matrix::{grant, matrix_markdown, widest, Permission, Role, Scope};
pub use net::{client_ip, UNPARSEABLE_CLIENT};
pub use password::{Argon2Cost, MIN_PASSWORD_CHARS};
pub use principal::{
    ActingAs, ActorRef, OverrideRule, Overrides, Principal, SessionId, TokenId, UserId,
};
pub use secrecy::{ExposeSecret, SecretString};
pub use service::{
    csrf_token_for, AccessService, AllowlistEntry, IssuedSession, TokenInfo, TotpEnrolment,
    UserInfo, RECOVERY_CODES,
};
