//! The HTTPS REST API of Sotto.
//!
//! Owns: the HTTP surface — TLS (rustls; a generated self-signed certificate for the embedded
//! default), the route registry in which every endpoint is declared once with its access rule,
//! the guard that enforces those rules (authentication by session cookie or API token, CSRF,
//! rate limits, permission and scope) and records every refusal in the audit log, the mapping
//! of errors to HTTP answers, and the OpenAPI document generated from the same declarations.
//!
//! Must never: decide a permission itself (the matrix is `sotto_access::grant`), open personal
//! data except through the vault's audited `_ctx` operations (which record actor, client
//! address and purpose before anything is handed out), answer another tenant's id with
//! anything but 404, or put personal data or secrets into logs and error messages.
//!
//! ```text
//! request ─► security headers ─► body limit ─► route (from the registry)
//!            ─► guard(rule): client ip ─► rate limit ─► token | session ─► CSRF ─► permission
//!            ─► handler: scope (own/team/tenant) ─► vault *_ctx (audited) ─► response
//!            ◄─ guard: refusal marker on the response? ─► audit entry (denied)
//! ```

pub mod error;
pub mod guard;
pub mod ratelimit;
pub mod registry;
pub mod routes;
pub mod server;
pub mod state;
pub mod tls;

pub use error::{ApiError, ApiResult, Refusal};
pub use guard::{Caller, CSRF_HEADER, PURPOSE_HEADER, SESSION_COOKIE};
pub use registry::{route, Registry, RegistryError, RouteDef, Rule};
pub use server::serve;
pub use state::{ApiSettings, ApiState};
pub use tls::{TlsError, TlsSetup};

/// The router of every endpoint sotto-api serves.
pub fn router(state: ApiState) -> Result<axum::Router, RegistryError> {
    Registry::core().into_router(state)
}
