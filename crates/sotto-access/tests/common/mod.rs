#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use sotto_access::{
    totp, AccessConfig, AccessService, ExposeSecret, Role, SecretString, TotpEnrolment, UserId,
};
use sotto_audit::{AuditLog, CheckpointSigner, Query, Record};
use sotto_core::{Clock, ManualClock, TenantId};
use std::net::IpAddr;
use std::sync::Arc;

pub const T0: i64 = 1_700_000_000_000;
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Env {
    pub svc: AccessService,
    pub clock: ManualClock,
    pub audit: Arc<AuditLog>,
    pub tenant: TenantId,
}

pub struct TestUser {
    pub id: UserId,
    pub name: String,
    pub secret: Vec<u8>,
    pub enrolment: TotpEnrolment,
}

pub async fn env() -> Env {
    env_with(AccessConfig::default()).await
}

pub async fn env_with(cfg: AccessConfig) -> Env {
    let clock = ManualClock::new(T0);
    let audit = Arc::new(
        AuditLog::in_memory(CheckpointSigner::generate("test").unwrap())
            .await
            .unwrap(),
    );
    let svc = AccessService::in_memory(audit.clone(), Arc::new(clock.clone()), cfg)
        .await
        .unwrap();
    Env {
        svc,
        clock,
        audit,
        tenant: TenantId::new("acme").unwrap(),
    }
}

pub fn pw(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

impl Env {
    pub async fn user(&self, name: &str, roles: &[Role]) -> TestUser {
        self.user_in(&self.tenant.clone(), name, roles, Some("north"), Some(name))
            .await
    }

    pub async fn user_in(
        &self,
        tenant: &TenantId,
        name: &str,
        roles: &[Role],
        team: Option<&str>,
        agent_ref: Option<&str>,
    ) -> TestUser {
        let (id, enrolment) = self
            .svc
            .create_user(tenant, name, &pw(PASSWORD), roles, team, agent_ref, "test")
            .await
            .unwrap();
        let secret = totp::base32_decode(enrolment.secret_base32.expose_secret()).unwrap();
        TestUser {
            id,
            name: name.to_owned(),
            secret,
            enrolment,
        }
    }

    /// The current code; moves the clock one step on first so every call gets a fresh step.
    pub fn fresh_code(&self, u: &TestUser) -> String {
        self.clock.advance_ms(totp::STEP_SECONDS * 1000);
        totp::code_at(&u.secret, self.clock.now_ms())
    }

    pub async fn records(&self) -> Vec<Record> {
        self.records_of(&self.tenant.clone()).await
    }

    pub async fn records_of(&self, t: &TenantId) -> Vec<Record> {
        self.audit.query(t, &Query::default()).await.unwrap()
    }

    /// Every audit entry of every tenant as JSON text.
    pub async fn audit_text(&self) -> String {
        let size = self.audit.size().await.unwrap();
        let mut s = String::new();
        for seq in 0..size {
            let r = self.audit.get(seq).await.unwrap().unwrap();
            s.push_str(&serde_json::to_string(&r.entry).unwrap());
            s.push('\n');
        }
        s
    }
}
