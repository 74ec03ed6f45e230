//! Administration: users (create, roles, listen/download overrides, 2FA reset), IP allowlists,
//! API tokens and tenant key rotation. Every change is recorded by sotto-access (permission
//! changes) or here (key operations). A user id of another tenant is answered 404.

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::guard::{require_tenant_scope, Caller};
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sotto_access::{
    AllowlistEntry, ExposeSecret, IpNet, OverrideRule, Overrides, Permission, Principal, Role,
    SecretString, TokenId, TokenInfo, TotpEnrolment, UserId, UserInfo,
};
use sotto_audit::{Action, Outcome};

fn roles_of(raw: &[String]) -> ApiResult<Vec<Role>> {
    raw.iter()
        .map(|r| r.parse::<Role>().map_err(ApiError::from))
        .collect()
}

async fn user_in_tenant(st: &ApiState, p: &Principal, raw: &str) -> ApiResult<UserId> {
    let id: UserId = parse_id("user", raw)?;
    match st.access().get_user(id).await {
        Ok(u) if u.tenant == p.tenant => Ok(id),
        Ok(_) | Err(sotto_access::AccessError::NotFound(_)) => {
            Err(ApiError::not_found("user", format!("user:{id}")))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Users {
    /// id, tenant, username, roles, team, agent_ref, totp_confirmed, overrides, created_ms.
    #[schema(value_type = Vec<Object>)]
    pub users: Vec<UserInfo>,
}

/// Users of the caller's tenant (no credentials).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, description = "Users", body = Users)))]
pub async fn list_users(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Users>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::UserManage)?;
    Ok(Json(Users {
        users: st.access().list_users(&p.tenant).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    /// At least the minimum length; hashed with Argon2id.
    pub password: String,
    /// `admin`, `dpo`, `supervisor`, `agent`, `billing`, `analyst`, `auditor`.
    pub roles: Vec<String>,
    pub team: Option<String>,
    /// What interactions' `agent` field says for this person's calls.
    pub agent_ref: Option<String>,
}

/// Shown once: the TOTP secret, its otpauth URI and QR code, and the recovery codes.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
    pub recovery_codes: Vec<String>,
}

impl Enrolment {
    fn of(e: &TotpEnrolment) -> Self {
        Self {
            secret_base32: e.secret_base32.expose_secret().to_owned(),
            otpauth_uri: e.otpauth_uri.expose_secret().to_owned(),
            qr_svg: e.qr_svg.clone(),
            recovery_codes: e
                .recovery_codes
                .iter()
                .map(|c| c.expose_secret().to_owned())
                .collect(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    pub id: String,
    pub enrolment: Enrolment,
}

/// Creates a user in the caller's tenant. The answer holds the enrolment, shown this once.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    responses((status = 201, description = "Created", body = CreatedUser)))]
pub async fn create_user(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::UserManage)?;
    let roles = roles_of(&req.roles)?;
    let password = SecretString::from(req.password);
    let (id, enrol) = st
        .access()
        .create_user(
            &p.tenant,
            &req.username,
            &password,
            &roles,
            req.team.as_deref(),
            req.agent_ref.as_deref(),
            p,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            id: id.to_string(),
            enrolment: Enrolment::of(&enrol),
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    pub roles: Vec<String>,
}

/// Replaces a user's roles.
#[utoipa::path(put, path = "/api/v1/users/{id}/roles", tag = "admin", request_body = RolesRequest,
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Changed")))]
pub async fn set_roles(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<RolesRequest>,
) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::UserManage)?;
    let user = user_in_tenant(&st, p, &id).await?;
    let roles = roles_of(&req.roles)?;
    st.access().set_roles(user, &roles, p).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverridesRequest {
    /// `allow`, `deny` or null (follow the roles).
    pub listen: Option<String>,
    pub download: Option<String>,
}

fn override_rule(s: Option<&str>) -> ApiResult<Option<OverrideRule>> {
    match s {
        None => Ok(None),
        Some("allow") => Ok(Some(OverrideRule::Allow)),
        Some("deny") => Ok(Some(OverrideRule::Deny)),
        Some(_) => Err(ApiError::bad_request("an override is allow, deny or null")),
    }
}

/// Sets a user's listen/download overrides ("may listen but not download").
#[utoipa::path(put, path = "/api/v1/users/{id}/overrides", tag = "admin",
    request_body = OverridesRequest,
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Changed")))]
pub async fn set_overrides(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<OverridesRequest>,
) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::UserManage)?;
    let user = user_in_tenant(&st, p, &id).await?;
    let o = Overrides {
        listen: override_rule(req.listen.as_deref())?,
        download: override_rule(req.download.as_deref())?,
    };
    st.access().set_overrides(user, o, p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a user's authenticator: a new TOTP secret and new recovery codes, shown once.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-2fa", tag = "admin",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The new enrolment", body = Enrolment)))]
pub async fn reset_2fa(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Enrolment>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::UserManage)?;
    let user = user_in_tenant(&st, p, &id).await?;
    let e = st.access().reset_2fa(user, p).await?;
    Ok(Json(Enrolment::of(&e)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Allowlist {
    /// `role` (null: whole tenant), `cidr`, `created_ms`.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<AllowlistEntry>,
}

#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AllowlistItem {
    /// IPv4 or IPv6 network, e.g. `192.0.2.0/24`, `2001:db8::/32`.
    pub cidr: String,
    /// Limit the entry to one role; absent for the whole tenant.
    pub role: Option<String>,
}

impl AllowlistItem {
    fn parse(&self) -> ApiResult<(Option<Role>, IpNet)> {
        let cidr = self
            .cidr
            .parse::<IpNet>()
            .or_else(|_| self.cidr.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| ApiError::bad_request("cidr is not an IPv4/IPv6 network"))?;
        let role = self.role.as_deref().map(str::parse::<Role>).transpose()?;
        Ok((role, cidr))
    }
}

/// The tenant's IP allowlist (empty: every address may sign in).
#[utoipa::path(get, path = "/api/v1/allowlist", tag = "admin",
    responses((status = 200, description = "Entries", body = Allowlist)))]
pub async fn allowlist_list(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Allowlist>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AllowlistManage)?;
    Ok(Json(Allowlist {
        entries: st.access().allowlist_list(&p.tenant).await?,
    }))
}

/// Adds a network to the tenant's (or one role's) allowlist.
#[utoipa::path(post, path = "/api/v1/allowlist", tag = "admin", request_body = AllowlistItem,
    responses((status = 204, description = "Added")))]
pub async fn allowlist_add(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<AllowlistItem>,
) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AllowlistManage)?;
    let (role, cidr) = req.parse()?;
    st.access().allowlist_add(&p.tenant, role, cidr, p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a network from the allowlist.
#[utoipa::path(delete, path = "/api/v1/allowlist", tag = "admin", params(AllowlistItem),
    responses((status = 204, description = "Removed")))]
pub async fn allowlist_remove(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Query(req): Query<AllowlistItem>,
) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::AllowlistManage)?;
    let (role, cidr) = req.parse()?;
    st.access()
        .allowlist_remove(&p.tenant, role, cidr, p)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Tokens {
    /// Never the secrets.
    #[schema(value_type = Vec<Object>)]
    pub tokens: Vec<TokenInfo>,
}

/// The tenant's API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin",
    responses((status = 200, description = "Tokens", body = Tokens)))]
pub async fn list_tokens(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Tokens>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::TokenManage)?;
    Ok(Json(Tokens {
        tokens: st.access().list_tokens(&p.tenant).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// Permissions (snake_case wire names) the token may use — never more.
    pub scopes: Vec<String>,
    pub expires_days: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: String,
    /// `sotto_<id>_<secret>`: shown once, stored only as a hash.
    pub token: String,
}

/// Creates an API token for integrations.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = NewToken,
    responses((status = 201, description = "Created; the secret is shown once", body = CreatedToken)))]
pub async fn create_token(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::TokenManage)?;
    let scopes = req
        .scopes
        .iter()
        .map(|s| s.parse::<Permission>().map_err(ApiError::from))
        .collect::<ApiResult<Vec<_>>>()?;
    let expires = req
        .expires_days
        .map(|d| st.now_ms() + i64::from(d) * 86_400_000);
    let (id, secret) = st
        .access()
        .create_token(&p.tenant, &req.name, &scopes, expires, p)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: id.to_string(),
            token: secret.expose_secret().to_owned(),
        }),
    ))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::TokenManage)?;
    let id: TokenId = parse_id("token", &id)?;
    match st.access().revoke_token(&p.tenant, id, p).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(sotto_access::AccessError::NotFound(_)) => {
            Err(ApiError::not_found("token", format!("token:{id}")))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// Subject keys re-wrapped under the new tenant key (no data is re-encrypted).
    pub rewrapped: u64,
}

/// Rotates the caller's tenant key (finishes crypto-shredding against forensic recovery).
#[utoipa::path(post, path = "/api/v1/keys/rotate", tag = "admin",
    responses((status = 200, description = "Rotated", body = Rotated)))]
pub async fn rotate_key(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Rotated>> {
    let p = caller.principal()?;
    require_tenant_scope(p, Permission::KeyManage)?;
    let vault = st.vault();
    vault.tenant(&p.tenant).await?;
    let result = vault.keys().rotate_tenant_key(&p.tenant).await;
    let outcome = if result.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Error
    };
    vault
        .record_ctx(
            &p.tenant,
            &caller.ctx,
            Action::KeyOperation,
            None,
            Some(format!("tenant-key:{}", p.tenant)),
            outcome,
        )
        .await?;
    let r = result.map_err(|e| ApiError::internal(&e))?;
    Ok(Json(Rotated {
        rewrapped: r.rewrapped,
    }))
}

pub fn routes() -> Vec<RouteDef> {
    use Permission as P;
    let perm = Rule::Permission;
    let change = Action::PermissionChange;
    vec![
        route::<__path_list_users, _, _>(perm(P::UserManage), Action::Other, false, list_users),
        route::<__path_create_user, _, _>(perm(P::UserManage), change, false, create_user),
        route::<__path_set_roles, _, _>(perm(P::UserManage), change, false, set_roles),
        route::<__path_set_overrides, _, _>(perm(P::UserManage), change, false, set_overrides),
        route::<__path_reset_2fa, _, _>(perm(P::UserManage), change, false, reset_2fa),
        route::<__path_allowlist_list, _, _>(
            perm(P::AllowlistManage),
            Action::Other,
            false,
            allowlist_list,
        ),
        route::<__path_allowlist_add, _, _>(perm(P::AllowlistManage), change, false, allowlist_add),
        route::<__path_allowlist_remove, _, _>(
            perm(P::AllowlistManage),
            change,
            false,
            allowlist_remove,
        ),
        route::<__path_list_tokens, _, _>(perm(P::TokenManage), Action::Other, false, list_tokens),
        route::<__path_create_token, _, _>(perm(P::TokenManage), change, false, create_token),
        route::<__path_revoke_token, _, _>(perm(P::TokenManage), change, false, revoke_token),
        route::<__path_rotate_key, _, _>(
            perm(P::KeyManage),
            Action::KeyOperation,
            false,
            rotate_key,
        ),
    ]
}
