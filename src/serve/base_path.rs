//! The surface behind a reverse proxy at a sub-path (`settings.base_path`,
//! or the proxy's `X-Forwarded-Prefix`).
//!
//! Proxies do one of two things, and both work without telling wsprobe
//! which: pass the path on (`/wsprobe/monitors/x`, so the prefix is taken
//! off here before routing) or strip it (`/monitors/x`, served as it is).
//! Links on the page start with [`LinkBase`]: the proxy's
//! `X-Forwarded-Prefix` when it sends a plain one, else `base_path`. The
//! root routes keep answering either way, so `/healthz` works for a local
//! health check that bypasses the proxy.

use super::Surface;
use crate::config::http::parse_base_path;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::http::uri::PathAndQuery;
use axum::middleware::Next;
use axum::response::Response;

/// What every link on the page starts with, e.g. `/wsprobe`; empty at the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkBase(pub String);

/// The header a reverse proxy names the stripped prefix with.
pub const FORWARDED_PREFIX: &str = "x-forwarded-prefix";

/// Take `settings.base_path` off the request's path and record the
/// [`LinkBase`] for the handlers.
pub async fn route(State(s): State<Surface>, mut req: Request, next: Next) -> Response {
    let base = s.shared.config().settings.base_path.clone();
    if let Some(inner) = strip(req.uri(), &base) {
        *req.uri_mut() = inner;
    }
    let link = forwarded_prefix(&req).unwrap_or(base);
    req.extensions_mut().insert(LinkBase(link));
    next.run(req).await
}

/// The URI without `base` when its path is `base` or under it.
fn strip(uri: &Uri, base: &str) -> Option<Uri> {
    if base.is_empty() {
        return None;
    }
    let rest = uri.path().strip_prefix(base)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        // `/wsprobe2` is not under `/wsprobe`.
        return None;
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// The proxy's prefix when it is one value that is a plain path; anything
/// else is ignored (and the configured base used), since it goes into links.
fn forwarded_prefix(req: &Request) -> Option<String> {
    let mut values = req.headers().get_all(FORWARDED_PREFIX).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    match parse_base_path(value) {
        Ok(prefix) => Some(prefix),
        Err(why) => {
            tracing::debug!(%why, "X-Forwarded-Prefix ignored");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(uri: &str, base: &str) -> Option<String> {
        strip(&uri.parse().unwrap(), base).map(|u| u.to_string())
    }

    #[test]
    fn the_base_path_comes_off_only_as_whole_segments() {
        assert_eq!(stripped("/wsprobe", "/wsprobe").as_deref(), Some("/"));
        assert_eq!(stripped("/wsprobe/", "/wsprobe").as_deref(), Some("/"));
        assert_eq!(
            stripped("/wsprobe/monitors/a?page=2", "/wsprobe").as_deref(),
            Some("/monitors/a?page=2")
        );
        assert_eq!(stripped("/wsprobe2/x", "/wsprobe"), None);
        assert_eq!(stripped("/monitors/a", "/wsprobe"), None);
        assert_eq!(stripped("/monitors/a", ""), None);
    }
}
