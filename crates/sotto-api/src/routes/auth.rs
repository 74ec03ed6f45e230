//! Sign in (password + TOTP, or password + recovery code), sign out, sign out everywhere,
//! who am I, and confirming TOTP enrolment. Sessions live in a `__Host-` cookie (Secure,
//! HttpOnly, SameSite=Strict); a new secret is issued at every login, so a cookie planted
//! before login never becomes authenticated.

use crate::error::{ApiError, ApiResult};
use crate::guard::{Caller, SESSION_COOKIE};
use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sotto_access::{ActorRef, IssuedSession, Permission, Principal};
use sotto_audit::Action;
use sotto_core::TenantId;
use std::collections::BTreeMap;

/// Password + TOTP login.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Defaults to the server's default tenant.
    pub tenant: Option<String>,
    pub username: String,
    pub password: String,
    /// The current 6-digit code of the authenticator app.
    pub totp: String,
}

/// Password + one of the recovery codes (each works once).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryLoginRequest {
    pub tenant: Option<String>,
    pub username: String,
    pub password: String,
    pub recovery_code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send this in `X-CSRF-Token` with every state-changing request made with the cookie.
    pub csrf_token: String,
    pub idle_expires_ms: i64,
    pub absolute_expires_ms: i64,
    pub whoami: WhoAmI,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub tenant: String,
    /// `user:<id>` or `token:<id>`: what the audit log records.
    pub actor: String,
    /// `user` or `token`.
    pub kind: String,
    pub name: String,
    pub roles: Vec<String>,
    pub team: Option<String>,
    pub agent_ref: Option<String>,
    /// Every permission this principal holds, with its reach (`own`, `team`, `tenant`).
    pub permissions: BTreeMap<String, String>,
}

impl WhoAmI {
    pub fn of(p: &Principal) -> Self {
        let (kind, name) = match &p.actor {
            ActorRef::User { username, .. } => ("user", username.clone()),
            ActorRef::Token { name, .. } => ("token", name.clone()),
        };
        Self {
            tenant: p.tenant.to_string(),
            actor: p.actor_label(),
            kind: kind.into(),
            name,
            roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            team: p.team.clone(),
            agent_ref: p.agent_ref.clone(),
            permissions: Permission::ALL
                .iter()
                .filter_map(|perm| {
                    p.scope_for(*perm)
                        .map(|s| (perm.as_str().to_owned(), s.as_str().to_owned()))
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmRequest {
    pub code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    pub sessions_ended: u64,
}

fn tenant_of(st: &ApiState, raw: Option<&str>) -> ApiResult<TenantId> {
    match raw {
        None => Ok(st.settings().default_tenant.clone()),
        Some(t) => TenantId::new(t).map_err(|_| ApiError::bad_request("`tenant` is not valid")),
    }
}

fn session_cookie(secret: &str, max_age_s: i64) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={secret}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
        max_age_s.max(0)
    ))
    .map_err(|_| ApiError::internal(&"session secret is not a valid cookie value"))
}

fn issued(st: &ApiState, s: IssuedSession) -> ApiResult<Response> {
    let max_age = (s.absolute_expires_ms - st.now_ms()) / 1000;
    let cookie = session_cookie(s.secret.expose_secret(), max_age)?;
    let body = LoginResponse {
        csrf_token: s.csrf.clone(),
        idle_expires_ms: s.idle_expires_ms,
        absolute_expires_ms: s.absolute_expires_ms,
        whoami: WhoAmI::of(&s.principal),
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

/// Sign in with password and TOTP. Sets the session cookie; returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "invalid_credentials or totp_replay", body = crate::error::ErrorBody),
        (status = 429, description = "locked_out (Retry-After)", body = crate::error::ErrorBody)))]
pub async fn login(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let tenant = tenant_of(&st, req.tenant.as_deref())?;
    let password = SecretString::from(req.password);
    let s = st
        .access()
        .login(&tenant, &req.username, &password, &req.totp, caller.ip)
        .await?;
    issued(&st, s)
}

/// Sign in with password and a recovery code (single use), when the authenticator is lost.
#[utoipa::path(post, path = "/api/v1/auth/login/recovery", tag = "auth",
    request_body = RecoveryLoginRequest,
    responses((status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "invalid_credentials", body = crate::error::ErrorBody)))]
pub async fn login_recovery(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<RecoveryLoginRequest>,
) -> ApiResult<Response> {
    let tenant = tenant_of(&st, req.tenant.as_deref())?;
    let password = SecretString::from(req.password);
    let code = SecretString::from(req.recovery_code);
    let s = st
        .access()
        .login_recovery(&tenant, &req.username, &password, &code, caller.ip)
        .await?;
    issued(&st, s)
}

fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-sotto_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// Ends this session (or does nothing for a token).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    st.access().logout(caller.principal()?).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cleared_cookie());
    Ok(resp)
}

/// Ends every session of the signed-in user ("sign out everywhere").
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "auth",
    responses((status = 200, description = "Sessions ended", body = SessionsEnded)))]
pub async fn logout_everywhere(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let ActorRef::User { id, .. } = &caller.principal()?.actor else {
        return Err(ApiError::bad_request("an API token has no sessions"));
    };
    let n = st.access().logout_everywhere(*id).await?;
    let mut resp = Json(SessionsEnded { sessions_ended: n }).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cleared_cookie());
    Ok(resp)
}

/// Who is signed in, and what they may do.
#[utoipa::path(get, path = "/api/v1/auth/whoami", tag = "auth",
    responses((status = 200, description = "The caller", body = WhoAmI)))]
pub async fn whoami(Extension(caller): Extension<Caller>) -> ApiResult<Json<WhoAmI>> {
    Ok(Json(WhoAmI::of(caller.principal()?)))
}

/// Finishes (re-)enrolment of the signed-in user's authenticator with a first valid code.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth",
    request_body = TotpConfirmRequest,
    responses((status = 204, description = "TOTP confirmed")))]
pub async fn totp_confirm(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(req): Json<TotpConfirmRequest>,
) -> ApiResult<StatusCode> {
    let ActorRef::User { id, .. } = &caller.principal()?.actor else {
        return Err(ApiError::bad_request("an API token has no authenticator"));
    };
    st.access().confirm_totp(*id, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        route::<__path_login, _, _>(Rule::Public, Action::LoginSuccess, false, login),
        route::<__path_login_recovery, _, _>(
            Rule::Public,
            Action::LoginSuccess,
            false,
            login_recovery,
        ),
        route::<__path_logout, _, _>(Rule::Authenticated, Action::Other, false, logout),
        route::<__path_logout_everywhere, _, _>(
            Rule::Authenticated,
            Action::Other,
            false,
            logout_everywhere,
        ),
        route::<__path_whoami, _, _>(Rule::Authenticated, Action::Other, false, whoami),
        route::<__path_totp_confirm, _, _>(
            Rule::Authenticated,
            Action::PermissionChange,
            false,
            totp_confirm,
        ),
    ]
}
