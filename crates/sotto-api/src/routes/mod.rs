//! The endpoints, one module per area. Each module's `routes()` is its whole contribution to
//! the [`crate::Registry`].

pub mod admin;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod interactions;
pub mod live;
pub mod policy;
pub mod subjects;
pub mod system;
pub mod uploads;

use crate::error::ApiError;

/// Parses an id from a path segment; a malformed id is simply not found.
pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, ApiError> {
    raw.parse::<T>()
        .map_err(|_| ApiError::not_found(what, format!("{what}:malformed")))
}
