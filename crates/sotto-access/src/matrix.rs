//! Roles, permissions, scopes and THE permission matrix ([`grant`]).
//!
//! Every decision "may role R do P, and how far does it reach" is answered here and nowhere
//! else. ARCHITECTURE.md ("Access control") shows the same table; a test renders
//! [`matrix_markdown`] and compares it with the document, so the two cannot drift apart.

use crate::error::AccessError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable wire name (database, API, CLI). Never change one.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = AccessError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(AccessError::Invalid(format!(
                        concat!("unknown ", stringify!($name), " (known: {})"),
                        $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }
    };
}

wire_enum!(
    /// An employee's role within one tenant. A user may hold several.
    Role {
        /// Users, roles, allowlists, keys, tokens — no content unless also `dpo`.
        Admin => "admin",
        /// Data protection officer: export, erasure, policies, consents, legal holds, audit log.
        Dpo => "dpo",
        /// Team recordings (listen and download), recording control, team transcripts.
        Supervisor => "supervisor",
        /// Own calls: redacted transcripts, listening (streamed, never downloaded), live view.
        Agent => "agent",
        /// Interaction metadata and the caller number, for invoicing. Never content.
        Billing => "billing",
        /// Pseudonymised statistics only.
        Analyst => "analyst",
        /// The audit log and its verification.
        Auditor => "auditor",
    }
);

wire_enum!(
    /// One thing a request may do. Endpoints name exactly one.
    Permission {
        /// Metadata of interactions (ids, times, channel, duration, redaction counts).
        InteractionList => "interaction_list",
        /// The caller's phone number (billing).
        CallerNumberRead => "caller_number_read",
        /// The redacted transcript.
        TranscriptRead => "transcript_read",
        /// Streamed playback of a recording.
        RecordingListen => "recording_listen",
        /// Downloading a recording file.
        RecordingDownload => "recording_download",
        /// Start, stop, pause or resume a live recording; consent given mid-call.
        RecordingControl => "recording_control",
        /// Subscribe to an ongoing call's redacted transcript.
        LiveTranscript => "live_transcript",
        /// Subject access export (GDPR Art. 15).
        SubjectExport => "subject_export",
        /// Erasure ("forget me", GDPR Art. 17).
        SubjectErase => "subject_erase",
        ConsentManage => "consent_manage",
        PolicyManage => "policy_manage",
        LegalHoldManage => "legal_hold_manage",
        /// A deal's full timeline (MiFID II).
        CaseExport => "case_export",
        /// Open cases, link interactions to them, ingest chats, e-mails and SMS into them.
        CaseManage => "case_manage",
        /// Start a retention run now (the scheduler runs it anyway; counts only, no content).
        RetentionRun => "retention_run",
        AuditRead => "audit_read",
        AuditVerify => "audit_verify",
        /// Pseudonymised statistics only.
        StatisticsRead => "statistics_read",
        UserManage => "user_manage",
        AllowlistManage => "allowlist_manage",
        KeyManage => "key_manage",
        TokenManage => "token_manage",
    }
);

wire_enum!(
    /// How far a grant reaches. Ordered: `Own < Team < Tenant`.
    Scope {
        /// Interactions whose `agent` is the principal's own agent reference.
        Own => "own",
        /// Interactions of the agents in the principal's team.
        Team => "team",
        /// Everything in the principal's tenant (never another tenant).
        Tenant => "tenant",
    }
);

/// THE permission matrix: how far `role` may do `perm`, or `None` for never.
///
/// This is the only table. Per-user overrides ([`crate::Overrides`]) and token scopes act on
/// its result in [`crate::Principal::scope_for`]; nothing else grants anything.
pub const fn grant(role: Role, perm: Permission) -> Option<Scope> {
    use Permission as P;
    use Role as R;
    use Scope::{Own, Team, Tenant};
    match (role, perm) {
        // admin: identities and keys, no content, no metadata of calls.
        // A retention run applies the DPO's policy and answers counts only.
        (
            R::Admin,
            P::UserManage | P::AllowlistManage | P::KeyManage | P::TokenManage | P::RetentionRun,
        ) => Some(Tenant),
        (R::Admin, _) => None,

        // dpo: the data subject's rights, policies and the audit log; may read content to
        // answer requests, but downloads recordings only through an (audited) export.
        (
            R::Dpo,
            P::InteractionList
            | P::CallerNumberRead
            | P::TranscriptRead
            | P::RecordingListen
            | P::SubjectExport
            | P::SubjectErase
            | P::ConsentManage
            | P::PolicyManage
            | P::LegalHoldManage
            | P::CaseExport
            | P::CaseManage
            | P::RetentionRun
            | P::AuditRead
            | P::AuditVerify
            | P::StatisticsRead,
        ) => Some(Tenant),
        (R::Dpo, _) => None,

        // supervisor: the team's calls.
        (
            R::Supervisor,
            P::InteractionList
            | P::TranscriptRead
            | P::RecordingListen
            | P::RecordingDownload
            | P::RecordingControl
            | P::LiveTranscript
            | P::StatisticsRead,
        ) => Some(Team),
        (R::Supervisor, _) => None,

        // agent: own calls; listening is streamed, never a download.
        (
            R::Agent,
            P::InteractionList
            | P::TranscriptRead
            | P::RecordingListen
            | P::RecordingControl
            | P::LiveTranscript,
        ) => Some(Own),
        (R::Agent, _) => None,

        // billing: metadata and the caller number, never recordings or transcripts.
        (R::Billing, P::InteractionList | P::CallerNumberRead) => Some(Tenant),
        (R::Billing, _) => None,

        // analyst: pseudonymised statistics only.
        (R::Analyst, P::StatisticsRead) => Some(Tenant),
        (R::Analyst, _) => None,

        // auditor: the audit log and its verification.
        (R::Auditor, P::AuditRead | P::AuditVerify) => Some(Tenant),
        (R::Auditor, _) => None,
    }
}

/// The widest scope any of `roles` grants for `perm`.
pub fn widest(roles: &[Role], perm: Permission) -> Option<Scope> {
    roles.iter().filter_map(|r| grant(*r, perm)).max()
}

/// The matrix as the Markdown table ARCHITECTURE.md shows (rows: permissions, columns: roles,
/// cells: `own`, `team`, `tenant` or `—`).
pub fn matrix_markdown() -> String {
    let mut s = String::from("| permission |");
    for r in Role::ALL {
        s.push(' ');
        s.push_str(r.as_str());
        s.push_str(" |");
    }
    s.push_str("\n|---|");
    for _ in Role::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for p in Permission::ALL {
        s.push_str("| `");
        s.push_str(p.as_str());
        s.push_str("` |");
        for r in Role::ALL {
            s.push(' ');
            s.push_str(grant(*r, *p).map_or("—", Scope::as_str));
            s.push_str(" |");
        }
        s.push('\n');
    }
    s
}

/// Parses a comma-separated list of wire names (database columns, CLI).
pub(crate) fn parse_list<T: FromStr<Err = AccessError>>(s: &str) -> Result<Vec<T>, AccessError> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::parse)
        .collect()
}

pub(crate) fn join_list<T: fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), *r);
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{r}\""));
        }
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), *p);
        }
        assert!("root".parse::<Role>().is_err());
        assert_eq!(
            parse_list::<Role>("admin, dpo").unwrap(),
            vec![Role::Admin, Role::Dpo]
        );
    }

    #[test]
    fn the_issue_s_rules_hold() {
        use Permission as P;
        // Billing: metadata and caller number only.
        for p in Permission::ALL {
            let billing = grant(Role::Billing, *p).is_some();
            assert_eq!(
                billing,
                matches!(p, P::InteractionList | P::CallerNumberRead),
                "{p}"
            );
        }
        // Admin: no content.
        for p in [
            P::TranscriptRead,
            P::RecordingListen,
            P::RecordingDownload,
            P::LiveTranscript,
            P::CallerNumberRead,
            P::SubjectExport,
        ] {
            assert_eq!(grant(Role::Admin, p), None, "{p}");
        }
        // Agent listens to own calls but never downloads.
        assert_eq!(grant(Role::Agent, P::RecordingListen), Some(Scope::Own));
        assert_eq!(grant(Role::Agent, P::RecordingDownload), None);
        assert_eq!(
            grant(Role::Supervisor, P::RecordingDownload),
            Some(Scope::Team)
        );
        // Analyst: statistics only; auditor: audit log only.
        for p in Permission::ALL {
            assert_eq!(grant(Role::Analyst, *p).is_some(), *p == P::StatisticsRead);
            assert_eq!(
                grant(Role::Auditor, *p).is_some(),
                matches!(p, P::AuditRead | P::AuditVerify)
            );
        }
        assert_eq!(
            widest(&[Role::Agent, Role::Supervisor], P::TranscriptRead),
            Some(Scope::Team)
        );
        assert!(Scope::Own < Scope::Team && Scope::Team < Scope::Tenant);
    }
}
