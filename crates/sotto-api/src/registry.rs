//! The route registry: every endpoint is declared once — method and path template (from its
//! `#[utoipa::path]`, so the OpenAPI document and the router cannot disagree), the access rule,
//! the audit action, whether it hands out personal data, and the handler. The axum `Router` is
//! built *from* the registry, each route wrapped in the guard with its own rule, so an endpoint
//! cannot exist without a rule.
//!
//! Other crates add their endpoints with one call: `registry.add(my_module::routes())`.

use crate::guard::{guard, RouteGuard};
use crate::state::ApiState;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use sotto_access::Permission;
use sotto_audit::Action;
use std::collections::BTreeSet;
use std::sync::Arc;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::{RefOr, Schema};

/// Who may call an endpoint. There is no "no rule".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (login, health, the OpenAPI document).
    Public,
    /// Any authenticated principal, whatever its roles (whoami, logout).
    Authenticated,
    /// A principal whose roles (narrowed by overrides and token scopes) grant this permission;
    /// the handler then applies the scope (own / team / tenant) to the object.
    Permission(Permission),
}

impl Rule {
    /// As written in the OpenAPI document (`x-sotto-rule`).
    pub fn describe(&self) -> String {
        match self {
            Rule::Public => "public".into(),
            Rule::Authenticated => "authenticated".into(),
            Rule::Permission(p) => format!("permission:{}", p.as_str()),
        }
    }
}

type DocFn = fn() -> (Operation, Vec<(String, RefOr<Schema>)>);

/// One endpoint.
pub struct RouteDef {
    pub method: Method,
    /// Path template, `{name}` for parameters (axum and OpenAPI share the syntax).
    pub path: String,
    pub rule: Rule,
    /// The audit action of this endpoint: what a refusal is recorded as, and what an allowed
    /// access to personal data is recorded as by the vault.
    pub action: Action,
    /// Whether a successful call hands out personal data (and so must leave an audit entry).
    pub personal: bool,
    handler: MethodRouter<ApiState>,
    doc: DocFn,
}

impl std::fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDef")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("rule", &self.rule)
            .field("action", &self.action)
            .field("personal", &self.personal)
            .finish()
    }
}

fn doc_of<P: utoipa::Path + utoipa::__dev::SchemaReferences>(
) -> (Operation, Vec<(String, RefOr<Schema>)>) {
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    (P::operation(), schemas)
}

fn method_of(m: &HttpMethod) -> (Method, MethodFilter) {
    match m {
        HttpMethod::Get => (Method::GET, MethodFilter::GET),
        HttpMethod::Post => (Method::POST, MethodFilter::POST),
        HttpMethod::Put => (Method::PUT, MethodFilter::PUT),
        HttpMethod::Delete => (Method::DELETE, MethodFilter::DELETE),
        HttpMethod::Patch => (Method::PATCH, MethodFilter::PATCH),
        HttpMethod::Head => (Method::HEAD, MethodFilter::HEAD),
        HttpMethod::Options => (Method::OPTIONS, MethodFilter::OPTIONS),
        HttpMethod::Trace => (Method::TRACE, MethodFilter::TRACE),
    }
}

/// Declares an endpoint. `P` is the `__path_<handler>` type `#[utoipa::path]` generated for
/// `handler`: method and path come from it.
pub fn route<P, H, T>(rule: Rule, action: Action, personal: bool, handler: H) -> RouteDef
where
    P: utoipa::Path + utoipa::__dev::SchemaReferences,
    H: Handler<T, ApiState>,
    T: 'static,
{
    let methods = P::methods();
    let (method, filter) = methods
        .first()
        .map(method_of)
        .unwrap_or((Method::GET, MethodFilter::GET));
    RouteDef {
        method,
        path: P::path(),
        rule,
        action,
        personal,
        handler: axum::routing::on(filter, handler),
        doc: doc_of::<P>,
    }
}

impl RouteDef {
    /// Lifts the server-wide request-body limit for this route; its handler must then bound
    /// what it reads itself (uploads, with their own limit).
    pub fn without_body_limit(mut self) -> Self {
        self.handler = self
            .handler
            .layer(axum::extract::DefaultBodyLimit::disable());
        self
    }
}

/// Why the registry could not become a router.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("endpoint {0} {1} is declared twice")]
    Duplicate(Method, String),
    #[error("path `{0}` must start with `/`")]
    BadPath(String),
}

/// All endpoints of the server.
#[derive(Debug, Default)]
pub struct Registry {
    routes: Vec<RouteDef>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every endpoint sotto-api itself serves.
    pub fn core() -> Self {
        let mut r = Self::new();
        r.add(crate::routes::system::routes())
            .add(crate::routes::auth::routes())
            .add(crate::routes::interactions::routes())
            .add(crate::routes::live::routes())
            .add(crate::routes::uploads::routes())
            .add(crate::routes::subjects::routes())
            .add(crate::routes::audit::routes())
            .add(crate::routes::admin::routes())
            .add(crate::routes::policy::routes())
            .add(crate::routes::cases::routes());
        r
    }

    /// Adds one module's endpoints.
    pub fn add(&mut self, routes: Vec<RouteDef>) -> &mut Self {
        self.routes.extend(routes);
        self
    }

    pub fn routes(&self) -> &[RouteDef] {
        &self.routes
    }

    fn check(&self) -> Result<(), RegistryError> {
        let mut seen = BTreeSet::new();
        for r in &self.routes {
            if !r.path.starts_with('/') {
                return Err(RegistryError::BadPath(r.path.clone()));
            }
            if !seen.insert((r.method.to_string(), r.path.clone())) {
                return Err(RegistryError::Duplicate(r.method.clone(), r.path.clone()));
            }
        }
        Ok(())
    }

    /// The router: each endpoint behind the guard that enforces its rule. Consumes the
    /// handlers; the OpenAPI document is generated first and served from the state.
    pub fn into_router(self, state: ApiState) -> Result<Router, RegistryError> {
        self.check()?;
        state.set_openapi(self.openapi());
        let mut router: Router<ApiState> = Router::new();
        for r in self.routes {
            let g = RouteGuard {
                state: state.clone(),
                rule: r.rule,
                action: r.action,
                path: Arc::from(r.path.as_str()),
            };
            let mr = r
                .handler
                .layer(axum::middleware::from_fn_with_state(g, guard));
            router = router.route(&r.path, mr);
        }
        let limit = state.settings().body_limit_bytes;
        Ok(router
            .fallback(crate::guard::fallback)
            .layer(axum::extract::DefaultBodyLimit::max(limit))
            .layer(axum::middleware::from_fn(crate::guard::security_headers))
            .with_state(state))
    }

    /// The OpenAPI 3.1 document of every registered endpoint, each operation carrying its rule
    /// (`x-sotto-rule`) and whether it returns personal data (`x-sotto-personal-data`).
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        use utoipa::openapi::extensions::ExtensionsBuilder;
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
        use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
        use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder};

        let mut paths = PathsBuilder::new();
        let mut components = ComponentsBuilder::new()
            .security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    crate::guard::SESSION_COOKIE,
                    "Session cookie from /api/v1/auth/login; state-changing requests also need \
                     the session's CSRF token in X-CSRF-Token",
                ))),
            )
            .security_scheme(
                "token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "API token `sotto_<id>_<secret>`, limited to its scopes",
                        ))
                        .build(),
                ),
            );
        let mut schema_names = BTreeSet::new();
        for r in &self.routes {
            let (mut op, schemas) = (r.doc)();
            for (name, schema) in schemas {
                if schema_names.insert(name.clone()) {
                    components = components.schema(name, schema);
                }
            }
            let ext = ExtensionsBuilder::new()
                .add("x-sotto-rule", r.rule.describe())
                .add("x-sotto-personal-data", r.personal)
                .add("x-sotto-audit-action", r.action.as_str())
                .build();
            match &mut op.extensions {
                Some(e) => e.merge(ext),
                None => op.extensions = Some(ext),
            }
            if r.rule != Rule::Public {
                op.security = Some(vec![
                    SecurityRequirement::new("session", Vec::<String>::new()),
                    SecurityRequirement::new("token", Vec::<String>::new()),
                ]);
            }
            let m = match r.method.as_str() {
                "POST" => HttpMethod::Post,
                "PUT" => HttpMethod::Put,
                "DELETE" => HttpMethod::Delete,
                "PATCH" => HttpMethod::Patch,
                _ => HttpMethod::Get,
            };
            paths = paths.path(r.path.clone(), utoipa::openapi::path::PathItem::new(m, op));
        }
        let mut doc = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("Sotto API")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "GDPR-first call recording and personal-data vault. Every endpoint names \
                         its access rule in `x-sotto-rule`; access to personal data is audited.",
                    ))
                    .build(),
            )
            .components(Some(components.build()))
            .build();
        doc.paths = paths.build();
        doc
    }
}
