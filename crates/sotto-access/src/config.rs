//! Settings of the access service.

use crate::password::Argon2Cost;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Lockout, session lifetimes, trusted proxies, TOTP issuer and password hashing cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessConfig {
    /// Failed logins (per user and, separately, per client address) before a lock.
    pub max_failures: u32,
    /// The first lock's length; every further failure while over the limit doubles it.
    pub lockout_base_ms: i64,
    /// The longest lock.
    pub lockout_max_ms: i64,
    /// Failures older than this (and not locked) are forgotten.
    pub failure_window_ms: i64,
    /// A session unused for this long is over.
    pub session_idle_ms: i64,
    /// A session is over this long after sign-in, used or not.
    pub session_absolute_ms: i64,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies you run). Empty: none.
    pub trusted_proxies: Vec<IpNet>,
    /// The issuer shown in authenticator apps.
    pub totp_issuer: String,
    /// Argon2id cost for new password hashes (never below OWASP's minimum).
    pub argon2: Argon2Cost,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lockout_base_ms: 60_000,
            lockout_max_ms: 60 * 60_000,
            failure_window_ms: 60 * 60_000,
            session_idle_ms: 30 * 60_000,
            session_absolute_ms: 12 * 60 * 60_000,
            trusted_proxies: Vec::new(),
            totp_issuer: "Sotto".into(),
            argon2: Argon2Cost::default(),
        }
    }
}

impl AccessConfig {
    pub(crate) fn validate(&self) -> Result<(), crate::AccessError> {
        self.argon2.validate()?;
        let bad = |what: &str| {
            Err(crate::AccessError::Invalid(format!(
                "access config: {what}"
            )))
        };
        if self.max_failures == 0 {
            return bad("max_failures must be at least 1");
        }
        if self.lockout_base_ms <= 0 || self.lockout_max_ms < self.lockout_base_ms {
            return bad("lockout_base_ms must be positive and at most lockout_max_ms");
        }
        if self.session_idle_ms <= 0 || self.session_absolute_ms <= 0 {
            return bad("session lifetimes must be positive");
        }
        if self.totp_issuer.is_empty() || self.totp_issuer.chars().any(char::is_control) {
            return bad("totp_issuer must be printable text");
        }
        Ok(())
    }

    /// The lock length after `count` failures (`count >= max_failures`).
    pub(crate) fn lock_ms(&self, count: u32) -> i64 {
        let over = count.saturating_sub(self.max_failures).min(40);
        self.lockout_base_ms
            .saturating_mul(1i64 << over)
            .min(self.lockout_max_ms)
    }
}
