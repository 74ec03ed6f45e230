//! Who is asking: a signed-in user or an API token, with the roles, overrides and token scopes
//! that decide — through [`crate::grant`] only — what they may do.

use crate::matrix::{widest, Permission, Role, Scope};
use serde::{Deserialize, Serialize};
use sotto_core::TenantId;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    };
}

uuid_id!(
    /// An employee account (unique within the installation; usernames are unique per tenant).
    UserId, "User");
uuid_id!(
    /// An API token. Appears (without dashes) inside the token string itself.
    TokenId, "Token");
uuid_id!(
    /// A console session (not its secret: the secret is never stored, only its SHA-256).
    SessionId, "Session");

/// Who acts: what the audit log's `actor` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActorRef {
    User { id: UserId, username: String },
    Token { id: TokenId, name: String },
}

/// A per-user exception for one of the two recording permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideRule {
    /// Grants the permission, at the reach the user's roles give recordings (the widest scope
    /// of `recording_listen` / `recording_download`); a user whose roles reach no recordings
    /// at all (billing, analyst, admin) gains nothing — overrides never open content to a
    /// role that has none.
    Allow,
    /// Takes the permission away whatever the roles say.
    Deny,
}

impl OverrideRule {
    pub const fn as_str(self) -> &'static str {
        match self {
            OverrideRule::Allow => "allow",
            OverrideRule::Deny => "deny",
        }
    }
    pub(crate) fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            Some("allow") => Some(OverrideRule::Allow),
            Some("deny") => Some(OverrideRule::Deny),
            _ => None,
        }
    }
}

/// Per-user allow/deny for listening to and downloading recordings ("some agents may listen
/// but not download").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Overrides {
    pub listen: Option<OverrideRule>,
    pub download: Option<OverrideRule>,
}

impl Overrides {
    fn rule(&self, perm: Permission) -> Option<OverrideRule> {
        match perm {
            Permission::RecordingListen => self.listen,
            Permission::RecordingDownload => self.download,
            _ => None,
        }
    }
}

/// An authenticated caller of the API or console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub tenant: TenantId,
    pub actor: ActorRef,
    pub roles: Vec<Role>,
    pub team: Option<String>,
    /// Matches interactions' `agent` field: what `Scope::Own` compares with.
    pub agent_ref: Option<String>,
    /// `Some` for API tokens: the permissions the token was issued for.
    pub token_scopes: Option<Vec<Permission>>,
    pub overrides: Overrides,
    pub session: Option<SessionId>,
}

impl Principal {
    /// How far this principal may do `perm` in its own tenant, or `None`.
    ///
    /// Users: the widest scope over their roles ([`crate::grant`]), then the per-user overrides
    /// (recordings only). Tokens act for the tenant as a whole: every permission in their
    /// scopes reaches the tenant, nothing else is allowed — a token can never exceed its scopes.
    pub fn scope_for(&self, perm: Permission) -> Option<Scope> {
        let mut scope = match &self.actor {
            ActorRef::User { .. } => widest(&self.roles, perm),
            ActorRef::Token { .. } => Some(Scope::Tenant),
        };
        if let ActorRef::User { .. } = self.actor {
            match self.overrides.rule(perm) {
                Some(OverrideRule::Deny) => scope = None,
                Some(OverrideRule::Allow) => {
                    let reach = widest(&self.roles, Permission::RecordingListen)
                        .max(widest(&self.roles, Permission::RecordingDownload));
                    scope = scope.max(reach);
                }
                None => {}
            }
        }
        match &self.token_scopes {
            Some(allowed) if !allowed.contains(&perm) => None,
            _ => scope,
        }
    }

    /// [`Principal::scope_for`], but `None` for any tenant other than the principal's own.
    pub fn scope_in(&self, tenant: &TenantId, perm: Permission) -> Option<Scope> {
        if *tenant == self.tenant {
            self.scope_for(perm)
        } else {
            None
        }
    }

    /// Whether `perm` reaches an object in `tenant` handled by `owner_agent`, whose team is
    /// `owner_team` (resolve it with [`crate::AccessService::team_of_agent`]). `Own` needs the
    /// principal's `agent_ref` to equal `owner_agent`; `Team` needs the same team (or own);
    /// `Tenant` reaches everything in the tenant. Unknown owners are reached only by `Tenant`.
    pub fn reaches(
        &self,
        tenant: &TenantId,
        perm: Permission,
        owner_agent: Option<&str>,
        owner_team: Option<&str>,
    ) -> bool {
        let own = matches!((&self.agent_ref, owner_agent), (Some(a), Some(b)) if a == b);
        match self.scope_in(tenant, perm) {
            None => false,
            Some(Scope::Tenant) => true,
            Some(Scope::Team) => {
                own || matches!((&self.team, owner_team), (Some(a), Some(b)) if a == b)
            }
            Some(Scope::Own) => own,
        }
    }

    /// What goes into the audit log's `actor`: `user:<id>` or `token:<id>`.
    pub fn actor_label(&self) -> String {
        match &self.actor {
            ActorRef::User { id, .. } => format!("user:{id}"),
            ActorRef::Token { id, .. } => format!("token:{id}"),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match &self.actor {
            ActorRef::User { id, .. } => Some(*id),
            ActorRef::Token { .. } => None,
        }
    }
}

/// Who makes an administrative change: a signed-in [`Principal`], or an operator label such as
/// `"cli"`. Only the label reaches the audit log.
pub trait ActingAs {
    fn actor_label(&self) -> String;
    /// The scopes of a token acting, which any token it creates must stay within.
    fn acting_token_scopes(&self) -> Option<&[Permission]> {
        None
    }
}

impl ActingAs for Principal {
    fn actor_label(&self) -> String {
        Principal::actor_label(self)
    }
    fn acting_token_scopes(&self) -> Option<&[Permission]> {
        self.token_scopes.as_deref()
    }
}

impl ActingAs for str {
    fn actor_label(&self) -> String {
        self.to_owned()
    }
}

impl ActingAs for String {
    fn actor_label(&self) -> String {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[Role]) -> Principal {
        Principal {
            tenant: TenantId::default_tenant(),
            actor: ActorRef::User {
                id: UserId::new(),
                username: "u".into(),
            },
            roles: roles.to_vec(),
            team: Some("north".into()),
            agent_ref: Some("agent-7".into()),
            token_scopes: None,
            overrides: Overrides::default(),
            session: None,
        }
    }

    #[test]
    fn overrides_narrow_and_widen_recordings_only() {
        let mut sup = user(&[Role::Supervisor]);
        assert_eq!(
            sup.scope_for(Permission::RecordingDownload),
            Some(Scope::Team)
        );
        sup.overrides.download = Some(OverrideRule::Deny);
        assert_eq!(sup.scope_for(Permission::RecordingDownload), None);
        assert_eq!(
            sup.scope_for(Permission::RecordingListen),
            Some(Scope::Team)
        );

        let mut agent = user(&[Role::Agent]);
        assert_eq!(agent.scope_for(Permission::RecordingDownload), None);
        agent.overrides.download = Some(OverrideRule::Allow);
        assert_eq!(
            agent.scope_for(Permission::RecordingDownload),
            Some(Scope::Own)
        );
        agent.overrides.listen = Some(OverrideRule::Deny);
        assert_eq!(agent.scope_for(Permission::RecordingListen), None);

        // No override opens recordings to billing or admin.
        let mut billing = user(&[Role::Billing, Role::Admin]);
        billing.overrides = Overrides {
            listen: Some(OverrideRule::Allow),
            download: Some(OverrideRule::Allow),
        };
        assert_eq!(billing.scope_for(Permission::RecordingListen), None);
        assert_eq!(billing.scope_for(Permission::RecordingDownload), None);
    }

    #[test]
    fn reach_by_scope_and_tenant() {
        let t = TenantId::default_tenant();
        let other = TenantId::new("other").unwrap();
        let agent = user(&[Role::Agent]);
        let p = Permission::TranscriptRead;
        assert!(agent.reaches(&t, p, Some("agent-7"), Some("north")));
        assert!(!agent.reaches(&t, p, Some("agent-8"), Some("north")));
        assert!(!agent.reaches(&other, p, Some("agent-7"), Some("north")));
        let sup = user(&[Role::Supervisor]);
        assert!(sup.reaches(&t, p, Some("agent-8"), Some("north")));
        assert!(!sup.reaches(&t, p, Some("agent-9"), Some("south")));
        assert!(!sup.reaches(&t, p, None, None));
        let dpo = user(&[Role::Dpo]);
        assert!(dpo.reaches(&t, p, None, None));
        assert!(!dpo.reaches(&other, p, None, None));
    }

    #[test]
    fn tokens_never_exceed_their_scopes() {
        let mut tok = user(&[]);
        tok.actor = ActorRef::Token {
            id: TokenId::new(),
            name: "crm".into(),
        };
        tok.token_scopes = Some(vec![Permission::InteractionList]);
        assert_eq!(
            tok.scope_for(Permission::InteractionList),
            Some(Scope::Tenant)
        );
        assert_eq!(tok.scope_for(Permission::TranscriptRead), None);
        assert!(tok.actor_label().starts_with("token:"));
    }
}
