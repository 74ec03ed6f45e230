//! Login latency through the real service (in memory): Argon2id + TOTP + lockout bookkeeping
//! + session + audit entry. Used by `sotto bench login` and `examples/login_latency.rs`.

use crate::{totp, AccessConfig, AccessError, AccessService, ExposeSecret, Role, SecretString};
use sotto_audit::{AuditLog, CheckpointSigner};
use sotto_core::{Clock, ManualClock, TenantId};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Latencies in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginBenchReport {
    pub logins: u32,
    pub argon2: crate::Argon2Cost,
    pub success_p50_ms: f64,
    pub success_p99_ms: f64,
    /// Unknown usernames verify a dummy hash: this should match the successful logins.
    pub unknown_p50_ms: f64,
    pub unknown_p99_ms: f64,
}

impl fmt::Display for LoginBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "login (Argon2id m={} KiB t={} p={} + TOTP + session + audit entry), {} logins:",
            self.argon2.m_kib, self.argon2.t, self.argon2.p, self.logins
        )?;
        writeln!(
            f,
            "  success:      p50 {:.1} ms  p99 {:.1} ms",
            self.success_p50_ms, self.success_p99_ms
        )?;
        write!(
            f,
            "  unknown user: p50 {:.1} ms  p99 {:.1} ms",
            self.unknown_p50_ms, self.unknown_p99_ms
        )
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Runs `logins` successful logins (each with a fresh TOTP step) and as many attempts on
/// unknown usernames, and reports p50/p99 of each.
pub async fn bench_login(logins: u32) -> Result<LoginBenchReport, AccessError> {
    let logins = logins.max(1);
    let clock = ManualClock::new(1_700_000_000_000);
    let audit = Arc::new(AuditLog::in_memory(CheckpointSigner::generate("bench")?).await?);
    let cfg = AccessConfig::default();
    let argon2 = cfg.argon2;
    let access = AccessService::in_memory(audit, Arc::new(clock.clone()), cfg).await?;
    let t = TenantId::default_tenant();
    let password = SecretString::from("bench password, long enough".to_owned());
    let (_, e) = access
        .create_user(&t, "bench", &password, &[Role::Agent], None, None, "bench")
        .await?;
    let secret = totp::base32_decode(e.secret_base32.expose_secret())
        .ok_or_else(|| AccessError::Invalid("enrolment secret is not Base32".into()))?;
    let client = IpAddr::from([192, 0, 2, 1]);
    let mut ok = Vec::with_capacity(logins as usize);
    let mut unknown = Vec::with_capacity(logins as usize);
    for i in 0..logins {
        clock.advance_ms(totp::STEP_SECONDS * 1000);
        let code = totp::code_at(&secret, clock.now_ms());
        let start = Instant::now();
        access.login(&t, "bench", &password, &code, client).await?;
        ok.push(start.elapsed().as_secs_f64() * 1000.0);
        // From varying addresses, so the lockout does not cut the run short.
        let from = IpAddr::from([198, 51, (i / 256 % 256) as u8, (i % 256) as u8]);
        let start = Instant::now();
        let r = access
            .login(&t, &format!("nobody{i}"), &password, &code, from)
            .await;
        unknown.push(start.elapsed().as_secs_f64() * 1000.0);
        if !matches!(r, Err(AccessError::InvalidCredentials)) {
            return Err(AccessError::Invalid(
                "an unknown user was not refused as invalid credentials".into(),
            ));
        }
    }
    Ok(LoginBenchReport {
        logins,
        argon2,
        success_p50_ms: percentile(&mut ok, 0.5),
        success_p99_ms: percentile(&mut ok, 0.99),
        unknown_p50_ms: percentile(&mut unknown, 0.5),
        unknown_p99_ms: percentile(&mut unknown, 0.99),
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_short_run_reports_sane_numbers() {
        let r = super::bench_login(2).await.unwrap();
        assert!(r.success_p50_ms > 0.0 && r.unknown_p50_ms > 0.0);
        assert!(r.to_string().contains("p99"));
    }
}
