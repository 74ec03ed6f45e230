//! The guard: the one middleware every registered route runs behind, with that route's rule.
//!
//! In order: client address (the socket's, or X-Forwarded-For only from a trusted proxy — decided
//! by sotto-access), rate limit, authentication (bearer token or session cookie), CSRF (double
//! submit: a cookie-authenticated request that changes state must echo the session's CSRF token
//! in `X-CSRF-Token`; bearer requests need none), the rule (permission granted by the matrix,
//! narrowed by overrides and token scopes), then the handler. Every refusal — here, or one the
//! handler returns (scope, cross-tenant 404) — is recorded in the audit log as `denied`, here
//! and nowhere else; the refusals sotto-access decides itself (login, allowlist, CSRF) it
//! records itself, and the guard adds no second entry.

use crate::error::{ApiError, Refusal};
use crate::registry::Rule;
use crate::state::ApiState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sotto_access::{AccessError, Principal, Scope};
use sotto_audit::{Action, Outcome};
use sotto_core::TenantId;
use sotto_vault::{AccessContext, InteractionFacts};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The session cookie. `__Host-` binds it to this host, path `/`, `Secure`.
pub const SESSION_COOKIE: &str = "__Host-sotto_session";
/// The header a cookie-authenticated, state-changing request must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Optional purpose or ticket number, recorded with every audited access.
pub const PURPOSE_HEADER: &str = "x-sotto-purpose";
/// The actor recorded for refusals of callers that could not be identified.
pub const ANONYMOUS: &str = "anonymous";

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    None,
    Session,
    Token,
}

/// What a handler knows about its caller (a request extension).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub via: Via,
    pub ip: IpAddr,
    /// Actor label, client address and purpose, for the vault's audit entries.
    pub ctx: AccessContext,
}

impl Caller {
    /// The principal of an authenticated route (the guard guarantees one).
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal
            .as_ref()
            .ok_or_else(ApiError::unauthenticated)
    }
}

/// Per-route guard configuration.
#[derive(Clone)]
pub struct RouteGuard {
    pub state: ApiState,
    pub rule: Rule,
    pub action: Action,
    pub path: Arc<str>,
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn purpose(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(PURPOSE_HEADER) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::bad_request("X-Sotto-Purpose must be visible ASCII"))?
        .trim();
    if s.len() > 256 || s.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "X-Sotto-Purpose must be at most 256 characters without control characters",
        ));
    }
    Ok(Some(s.to_owned()).filter(|s| !s.is_empty()))
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware. See the module documentation for the order of checks.
pub async fn guard(State(g): State<RouteGuard>, mut req: Request, next: Next) -> Response {
    let st = &g.state;
    let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
    else {
        // Fail closed: without the socket's address neither the allowlist nor the rate limit
        // can be applied.
        return ApiError::internal(&"request without a peer address").into_response();
    };
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = st.access().client_ip(peer, xff);
    if let Err(wait) = st.limiter().check(ip, st.now_ms()) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this address; slow down",
        );
        e.retry_after_s = Some(wait);
        return e.into_response();
    }
    let purpose = match purpose(req.headers()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };

    if g.rule == Rule::Public {
        let ctx = AccessContext::actor(ANONYMOUS)
            .with_from(ip.to_string())
            .with_purpose(purpose);
        req.extensions_mut().insert(Caller {
            principal: None,
            via: Via::None,
            ip,
            ctx,
        });
        return next.run(req).await;
    }

    // Authentication. A bearer token wins over a cookie; a cookie presented before login is
    // only ever looked up, never adopted (session fixation).
    let auth = if let Some(tok) = bearer(req.headers()) {
        st.access()
            .authenticate_token(tok, ip)
            .await
            .map(|p| (p, Via::Token))
    } else if let Some(secret) = cookie_value(req.headers(), SESSION_COOKIE) {
        st.access()
            .authenticate_session(secret, ip)
            .await
            .map(|p| (p, Via::Session))
    } else {
        return ApiError::unauthenticated().into_response();
    };
    let (principal, via) = match auth {
        Ok(x) => x,
        Err(e) => {
            // Unknown, expired or revoked credentials: recorded under the server's default
            // tenant (the caller's own is unknown), without the secret. Allowlist refusals are
            // recorded by sotto-access with the right tenant.
            if !matches!(e, AccessError::IpNotAllowed) {
                let code = e.code();
                let tenant = st.settings().default_tenant.clone();
                let ctx = AccessContext::actor(ANONYMOUS)
                    .with_from(ip.to_string())
                    .with_purpose(purpose);
                if let Err(a) = record_denial(st, &tenant, &ctx, &g, None, Some(code)).await {
                    return a.into_response();
                }
            }
            return ApiError::from(e).into_response();
        }
    };
    let ctx = AccessContext::actor(principal.actor_label())
        .with_from(ip.to_string())
        .with_purpose(purpose);
    let tenant = principal.tenant.clone();

    // CSRF: cookies are sent by browsers on their own; a state-changing request must prove it
    // came from the console, which alone can read the session's CSRF token.
    if via == Via::Session && !is_safe(req.method()) {
        let token = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // sotto-access compares in constant time and records the refusal itself (also for a
        // missing token), so the guard adds no second entry.
        if let Err(e) = st.access().verify_csrf(&principal, token).await {
            return ApiError::from(e).into_response();
        }
    }

    if let Rule::Permission(perm) = g.rule {
        if principal.scope_for(perm).is_none() {
            let err = ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this endpoint needs the `{perm}` permission"),
            );
            if let Err(a) = record_denial(st, &tenant, &ctx, &g, None, Some("forbidden")).await {
                return a.into_response();
            }
            return err.into_response();
        }
    }

    req.extensions_mut().insert(Caller {
        principal: Some(principal),
        via,
        ip,
        ctx: ctx.clone(),
    });
    let resp = next.run(req).await;
    if let Some(r) = resp.extensions().get::<Refusal>().cloned() {
        if let Err(a) = record_denial(st, &tenant, &ctx, &g, Some(r), None).await {
            return a.into_response();
        }
    }
    resp
}

/// Records a refusal. The object is the refused object's id when known, else the route
/// (`GET /api/v1/...#code`): never a value from the request.
async fn record_denial(
    st: &ApiState,
    tenant: &TenantId,
    ctx: &AccessContext,
    g: &RouteGuard,
    refusal: Option<Refusal>,
    code: Option<&str>,
) -> Result<(), ApiError> {
    let (subject, object) = match refusal {
        Some(r) => (r.subject, r.object),
        None => (None, None),
    };
    let object = object.unwrap_or_else(|| match code {
        Some(c) => format!("route:{}#{c}", g.path),
        None => format!("route:{}", g.path),
    });
    let e = ctx.entry(
        tenant,
        st.now_ms(),
        g.action,
        subject,
        Some(object),
        Outcome::Denied,
    );
    st.vault().audit().append(e).await?;
    Ok(())
}

/// Whether `principal` may do `perm` on this interaction: own calls, the team's calls, or the
/// tenant's. A refusal names the interaction (the guard audits it).
pub async fn check_interaction(
    st: &ApiState,
    principal: &Principal,
    perm: sotto_access::Permission,
    facts: &InteractionFacts,
) -> Result<(), ApiError> {
    let allowed = match principal.scope_for(perm) {
        None => false,
        Some(Scope::Tenant) => true,
        Some(Scope::Own) => own(principal, facts),
        Some(Scope::Team) => {
            own(principal, facts) || in_team(st, principal, facts.agent.as_deref()).await?
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(
            ApiError::forbidden(format!("`{perm}` does not reach this interaction (scope)"))
                .with_object(
                    Some(facts.summary.subject),
                    Some(facts.summary.id.to_string()),
                ),
        )
    }
}

fn own(p: &Principal, facts: &InteractionFacts) -> bool {
    matches!((&p.agent_ref, &facts.agent), (Some(a), Some(b)) if a == b)
}

async fn in_team(st: &ApiState, p: &Principal, agent: Option<&str>) -> Result<bool, ApiError> {
    let (Some(team), Some(agent)) = (p.team.as_deref(), agent) else {
        return Ok(false);
    };
    Ok(st.team_agents(&p.tenant, team).await?.contains(agent))
}

/// A scope that must cover the whole tenant (subject export/erasure, audit, administration).
pub fn require_tenant_scope(
    principal: &Principal,
    perm: sotto_access::Permission,
) -> Result<(), ApiError> {
    match principal.scope_for(perm) {
        Some(Scope::Tenant) => Ok(()),
        _ => Err(ApiError::forbidden(format!(
            "`{perm}` must reach the whole tenant for this endpoint"
        ))),
    }
}

/// Every answer, matched route or not: error answers that did not come from [`ApiError`]
/// (axum's own rejections: malformed JSON, a body over the limit, a wrong method) get the same
/// JSON shape — with a generic message, since a parser's message may quote the request — and
/// every answer gets the security headers.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let (code, message) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed here"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "send JSON with Content-Type: application/json",
            ),
            StatusCode::NOT_FOUND => ("not_found", "not found"),
            s if s.is_server_error() => ("internal", "internal error; see the server log"),
            _ => (
                "invalid",
                "the request is malformed or has wrong or missing fields",
            ),
        };
        let mut fresh = ApiError::new(status, code, message).into_response();
        for (k, v) in resp.headers() {
            if k == header::ALLOW || k == header::RETRY_AFTER {
                fresh.headers_mut().insert(k.clone(), v.clone());
            }
        }
        resp = fresh;
    }
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(
        h,
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    resp
}

/// Unknown paths: the same JSON error shape.
pub async fn fallback() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "no such endpoint",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_bearer_are_parsed_strictly() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-sotto_session=abc ; b=2"),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&h, "sotto_session"), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer  t1"),
        );
        assert_eq!(bearer(&h), Some("t1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic x"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn purpose_is_checked() {
        let mut h = HeaderMap::new();
        assert_eq!(purpose(&h).unwrap(), None);
        h.insert(PURPOSE_HEADER, HeaderValue::from_static("ticket 42"));
        assert_eq!(purpose(&h).unwrap().as_deref(), Some("ticket 42"));
        h.insert(
            PURPOSE_HEADER,
            HeaderValue::from_str(&"x".repeat(300)).unwrap(),
        );
        assert!(purpose(&h).is_err());
    }
}
