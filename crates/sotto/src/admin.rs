//! Administration of access control from the command line: users, API tokens and IP
//! allowlists (`sotto user …`, `sotto token …`, `sotto allowlist …`), and `sotto bench login`.
//! Every change is made by `sotto-access` and audited there with the actor `cli`.

use crate::app::App;
use crate::config::Config;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use sotto_access::{
    AccessConfig, AccessService, ExposeSecret, IpNet, OverrideRule, Overrides, Permission, Role,
    SecretString, TokenId, TotpEnrolment, UserId,
};
use sotto_core::clock::format_rfc3339;
use sotto_core::{Clock, SystemClock, TenantId};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The actor the command line acts as in the audit log.
const CLI: &str = "cli";

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; prints the TOTP enrolment (otpauth URI, secret, recovery codes) once.
    /// The password comes from SOTTO_NEW_PASSWORD or a prompt.
    Add {
        tenant: String,
        username: String,
        /// Role(s): admin, dpo, supervisor, agent, billing, analyst, auditor
        #[arg(long = "role", required = true, value_name = "ROLE")]
        roles: Vec<String>,
        #[arg(long)]
        team: Option<String>,
        /// The agent id interactions carry for this user's calls
        #[arg(long)]
        agent_ref: Option<String>,
        /// Also write the enrolment QR code (SVG, mode 0600) to this file
        #[arg(long, value_name = "FILE")]
        qr_svg: Option<PathBuf>,
    },
    /// List a tenant's users (no credentials)
    List {
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace a user's TOTP secret and recovery codes and sign them out everywhere
    #[command(name = "reset-2fa")]
    Reset2fa {
        tenant: String,
        username: String,
        #[arg(long, value_name = "FILE")]
        qr_svg: Option<PathBuf>,
    },
    /// Replace a user's roles
    Roles {
        tenant: String,
        username: String,
        #[arg(long = "role", required = true, value_name = "ROLE")]
        roles: Vec<String>,
    },
    /// Per-user exceptions for listening to / downloading recordings (allow, deny or none)
    Override {
        tenant: String,
        username: String,
        #[arg(long, default_value = "none")]
        listen: String,
        #[arg(long, default_value = "none")]
        download: String,
    },
    /// Set a new password (from SOTTO_NEW_PASSWORD or a prompt) and sign the user out everywhere
    Password { tenant: String, username: String },
    /// End every session of a user
    #[command(name = "logout-everywhere")]
    LogoutEverywhere { tenant: String, username: String },
    /// Delete a user
    Delete { tenant: String, username: String },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token scoped to permissions; prints it once
    Create {
        tenant: String,
        name: String,
        /// Permission(s) the token may use, e.g. interaction_list, transcript_read
        #[arg(long = "scope", required = true, value_name = "PERMISSION")]
        scopes: Vec<String>,
        /// Expire after this many days (default: never)
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// Revoke a token at once
    Revoke { tenant: String, id: String },
    /// List a tenant's tokens (never their secrets)
    List {
        tenant: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum AllowlistCommand {
    /// Allow a network (CIDR, IPv4 or IPv6) for the tenant, or with --role for one role
    Add(AllowlistArgs),
    /// Remove a network
    Remove(AllowlistArgs),
    /// List the tenant's allowlists (an empty list allows every address)
    List { tenant: String },
}

#[derive(Args)]
pub struct AllowlistArgs {
    pub tenant: String,
    pub cidr: String,
    #[arg(long)]
    pub role: Option<String>,
}

async fn open(cfg: Config, tenant: &str) -> Result<(App, AccessService, TenantId)> {
    let app = App::open_for_write(cfg).await?;
    let t =
        TenantId::new(tenant).with_context(|| format!("`{tenant}` is not a valid tenant id"))?;
    if app.vault.store().get_tenant(&t).await?.is_none() {
        bail!("tenant {t} does not exist; create it with `sotto tenant add {t}`");
    }
    let path = app.cfg.data_dir.join("access.db");
    let access = AccessService::open(
        &path,
        app.vault.audit().clone(),
        Arc::new(SystemClock),
        AccessConfig::default(),
    )
    .await
    .with_context(|| format!("cannot open access store {}", path.display()))?;
    Ok((app, access, t))
}

fn roles_of(v: &[String]) -> Result<Vec<Role>> {
    v.iter()
        .flat_map(|s| s.split(','))
        .map(|r| r.trim().parse::<Role>().map_err(anyhow::Error::from))
        .collect()
}

fn override_of(s: &str) -> Result<Option<OverrideRule>> {
    match s {
        "allow" => Ok(Some(OverrideRule::Allow)),
        "deny" => Ok(Some(OverrideRule::Deny)),
        "none" => Ok(None),
        _ => bail!("override must be allow, deny or none"),
    }
}

async fn user_id(access: &AccessService, t: &TenantId, username: &str) -> Result<UserId> {
    match access.user_by_name(t, username).await? {
        Some(u) => Ok(u.id),
        // The typed name is the operator's own input; it is not logged or audited.
        None => bail!("no such user in tenant {t}"),
    }
}

/// The new password: SOTTO_NEW_PASSWORD, or typed twice at a prompt.
fn new_password() -> Result<SecretString> {
    if let Ok(p) = std::env::var("SOTTO_NEW_PASSWORD") {
        return Ok(SecretString::from(p));
    }
    let a = rpassword::prompt_password("New password: ")
        .context("cannot read the password (set SOTTO_NEW_PASSWORD when not on a terminal)")?;
    let b = rpassword::prompt_password("Repeat it: ").context("cannot read the password")?;
    if a != b {
        bail!("the passwords differ");
    }
    Ok(SecretString::from(a))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn print_enrolment(e: &TotpEnrolment, qr: Option<&Path>) -> Result<()> {
    println!("Two-factor enrolment (shown once; the first valid code finishes it):");
    println!("  otpauth URI: {}", e.otpauth_uri.expose_secret());
    println!("  secret:      {}", e.secret_base32.expose_secret());
    if let Some(p) = qr {
        write_private(p, &e.qr_svg)?;
        println!(
            "  QR code:     {} (SVG, mode 0600; delete it after scanning)",
            p.display()
        );
    }
    println!("Recovery codes (each works once; keep them offline):");
    for c in &e.recovery_codes {
        println!("  {}", c.expose_secret());
    }
    Ok(())
}

pub async fn user(cfg: Config, c: UserCommand) -> Result<ExitCode> {
    match c {
        UserCommand::Add {
            tenant,
            username,
            roles,
            team,
            agent_ref,
            qr_svg,
        } => {
            let roles = roles_of(&roles)?;
            let (_app, access, t) = open(cfg, &tenant).await?;
            let password = new_password()?;
            let (id, enrolment) = access
                .create_user(
                    &t,
                    &username,
                    &password,
                    &roles,
                    team.as_deref(),
                    agent_ref.as_deref(),
                    CLI,
                )
                .await?;
            println!("user: {id} (tenant {t})");
            print_enrolment(&enrolment, qr_svg.as_deref())?;
        }
        UserCommand::List { tenant, json } => {
            let (_app, access, t) = open(cfg, &tenant).await?;
            let users = access.list_users(&t).await?;
            if json {
                for u in &users {
                    println!("{}", serde_json::to_string(u)?);
                }
            } else {
                println!(
                    "{:<36}  {:<20}  {:<24}  {:<10}  {:<10}  2FA",
                    "id", "username", "roles", "team", "agent"
                );
                for u in &users {
                    let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                    println!(
                        "{:<36}  {:<20}  {:<24}  {:<10}  {:<10}  {}",
                        u.id,
                        u.username,
                        roles.join(","),
                        u.team.as_deref().unwrap_or("-"),
                        u.agent_ref.as_deref().unwrap_or("-"),
                        if u.totp_confirmed { "yes" } else { "pending" }
                    );
                }
            }
        }
        UserCommand::Reset2fa {
            tenant,
            username,
            qr_svg,
        } => {
            let (_app, access, t) = open(cfg, &tenant).await?;
            let id = user_id(&access, &t, &username).await?;
            let enrolment = access.reset_2fa(id, CLI).await?;
            println!("user {id}: two-factor reset; all sessions ended");
            print_enrolment(&enrolment, qr_svg.as_deref())?;
        }
        UserCommand::Roles {
            tenant,
            username,
            roles,
        } => {
            let roles = roles_of(&roles)?;
            let (_app, access, t) = open(cfg, &tenant).await?;
            let id = user_id(&access, &t, &username).await?;
            access.set_roles(id, &roles, CLI).await?;
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            println!("user {id}: roles {}", names.join(","));
        }
        UserCommand::Override {
            tenant,
            username,
            listen,
            download,
        } => {
            let o = Overrides {
                listen: override_of(&listen)?,
                download: override_of(&download)?,
            };
            let (_app, access, t) = open(cfg, &tenant).await?;
            let id = user_id(&access, &t, &username).await?;
            access.set_overrides(id, o, CLI).await?;
            println!("user {id}: listen {listen}, download {download}");
        }
        UserCommand::Password { tenant, username } => {
            let (_app, access, t) = open(cfg, &tenant).await?;
            let id = user_id(&access, &t, &username).await?;
            let password = new_password()?;
            access.set_password(id, &password, CLI).await?;
            println!("user {id}: password replaced; all sessions ended");
        }
        UserCommand::LogoutEverywhere { tenant, username } => {
            let (_app, access, t) = open(cfg, &tenant).await?;
            let id = user_id(&access, &t, &username).await?;
            let n = access.logout_everywhere(id).await?;
            println!("user {id}: {n} session(s) ended");
        }
        UserCommand::Delete { tenant, username } => {
            let (_app, access, t) = open(cfg, &tenant).await?;
            let id = user_id(&access, &t, &username).await?;
            access.delete_user(id, CLI).await?;
            println!("user {id}: deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(cfg: Config, c: TokenCommand) -> Result<ExitCode> {
    match c {
        TokenCommand::Create {
            tenant,
            name,
            scopes,
            expires_days,
        } => {
            let scopes: Vec<Permission> = scopes
                .iter()
                .flat_map(|s| s.split(','))
                .map(|p| p.trim().parse::<Permission>().map_err(anyhow::Error::from))
                .collect::<Result<_>>()?;
            let (_app, access, t) = open(cfg, &tenant).await?;
            let expires = expires_days.map(|d| SystemClock.now_ms() + i64::from(d) * 86_400_000);
            let (id, secret) = access
                .create_token(&t, &name, &scopes, expires, CLI)
                .await?;
            println!("token: {id} (tenant {t})");
            if let Some(e) = expires {
                println!("expires: {}", format_rfc3339(e));
            }
            println!("Shown once; store it in the integration's secret store:");
            println!("{}", secret.expose_secret());
        }
        TokenCommand::Revoke { tenant, id } => {
            let id: TokenId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("`{id}` is not a token id"))?;
            let (_app, access, t) = open(cfg, &tenant).await?;
            access.revoke_token(&t, id, CLI).await?;
            println!("token {id}: revoked");
        }
        TokenCommand::List { tenant, json } => {
            let (_app, access, t) = open(cfg, &tenant).await?;
            for tok in access.list_tokens(&t).await? {
                if json {
                    println!("{}", serde_json::to_string(&tok)?);
                    continue;
                }
                let state = match (tok.revoked_ms, tok.expires_ms) {
                    (Some(r), _) => format!("revoked {}", format_rfc3339(r)),
                    (None, Some(e)) => format!("expires {}", format_rfc3339(e)),
                    (None, None) => "active".to_owned(),
                };
                let scopes: Vec<&str> = tok.scopes.iter().map(|p| p.as_str()).collect();
                println!(
                    "{}  {:<20}  {:<40}  {}",
                    tok.id,
                    tok.name,
                    scopes.join(","),
                    state
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn allowlist(cfg: Config, c: AllowlistCommand) -> Result<ExitCode> {
    let parse = |a: &AllowlistArgs| -> Result<(IpNet, Option<Role>)> {
        let net = match a.cidr.parse::<IpNet>() {
            Ok(n) => n,
            // A bare address means just that host.
            Err(_) => IpNet::from(
                a.cidr
                    .parse::<IpAddr>()
                    .map_err(|_| anyhow::anyhow!("`{}` is not a CIDR network", a.cidr))?,
            ),
        };
        let role = a.role.as_deref().map(str::parse::<Role>).transpose()?;
        Ok((net, role))
    };
    match c {
        AllowlistCommand::Add(a) => {
            let (net, role) = parse(&a)?;
            let (_app, access, t) = open(cfg, &a.tenant).await?;
            access.allowlist_add(&t, role, net, CLI).await?;
            println!(
                "allowed {} for {}",
                net.trunc(),
                role.map_or_else(|| format!("tenant {t}"), |r| format!("role {r} in {t}"))
            );
        }
        AllowlistCommand::Remove(a) => {
            let (net, role) = parse(&a)?;
            let (_app, access, t) = open(cfg, &a.tenant).await?;
            access.allowlist_remove(&t, role, net, CLI).await?;
            println!("removed {}", net.trunc());
        }
        AllowlistCommand::List { tenant } => {
            let (_app, access, t) = open(cfg, &tenant).await?;
            let list = access.allowlist_list(&t).await?;
            if list.is_empty() {
                println!("no allowlist: every address may authenticate");
            }
            for e in list {
                println!(
                    "{:<12}  {}",
                    e.role.map_or("(tenant)", |r| r.as_str()),
                    e.cidr
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sotto bench login`: Argon2id + TOTP logins through the real service (in memory), p50/p99.
pub async fn bench_login(logins: u32) -> Result<ExitCode> {
    println!("{}", sotto_access::bench_login(logins).await?);
    Ok(ExitCode::SUCCESS)
}
