//! Where a request goes, decided from its raw request-target alone.
//!
//! The target is never decoded or normalised: `/.ory` is matched on the raw bytes, and what is
//! forwarded is exactly what the client sent minus the prefix, so an encoded path survives
//! byte for byte (SPEC §2).

/// The destination of one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET`/`HEAD /.ory/jwks.json` or `/.ory/proxy/jwks.json`: served from memory.
    Jwks,
    /// `/.ory/proxy/health/alive`: liveness, answered while the process serves.
    Alive,
    /// `/.ory/proxy/health/ready`: readiness, whether Ory and the upstream answer.
    Ready,
    /// `/.ory/proxy/metrics`: Prometheus metrics (404 unless `--metrics`).
    Metrics,
    /// Another path under `/.ory/proxy/`: the proxy's own namespace, never forwarded.
    ProxyOwn,
    /// To Ory; the path and query with `/.ory` removed (always starts with `/`).
    Ory(String),
    /// To the upstream; the path and query unchanged.
    Upstream(&'a str),
}

pub use crate::http::target::{absolute_authority, origin_form};

/// Classifies an origin-form target in the configured mode.
pub fn classify_in<'a>(config: &crate::config::Config, target: &'a str, method: &str) -> Route<'a> {
    match config.mode {
        crate::config::Mode::Proxy => classify(target, method, config.jwt),
        crate::config::Mode::Tunnel => classify_tunnel(target, method),
    }
}

/// Classifies an origin-form target. `jwt` is false under `--no-jwt`.
pub fn classify<'a>(target: &'a str, method: &str, jwt: bool) -> Route<'a> {
    let path_end = target.find('?').unwrap_or(target.len());
    let path = &target[..path_end];
    let rest = match path.strip_prefix("/.ory") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return Route::Upstream(target),
    };
    if let Some(own) = proxy_own(rest, method, jwt) {
        return own;
    }
    if jwt && rest == "/jwks.json" && is_read(method) {
        return Route::Jwks;
    }
    let mut ory = String::with_capacity(target.len());
    ory.push('/');
    ory.push_str(rest.strip_prefix('/').unwrap_or(rest));
    ory.push_str(&target[path_end..]);
    Route::Ory(ory)
}

/// The proxy's own routes, for a path after `/.ory`; `None` outside `/.ory/proxy`.
fn proxy_own(rest: &str, method: &str, jwt: bool) -> Option<Route<'static>> {
    if rest != "/proxy" && !rest.starts_with("/proxy/") {
        return None;
    }
    // Methods are checked by the handlers (405), except for the JWKS, whose other methods
    // fall through to 404 like any path the proxy does not serve.
    Some(match &rest[6..] {
        "/jwks.json" if jwt && is_read(method) => Route::Jwks,
        "/health/alive" => Route::Alive,
        "/health/ready" => Route::Ready,
        "/metrics" => Route::Metrics,
        _ => Route::ProxyOwn,
    })
}

/// Classifies an origin-form target in tunnel mode: everything goes to Ory with the target
/// unchanged, except the proxy's own `/.ory/proxy/…` (no JWKS: there are no tokens).
pub fn classify_tunnel<'a>(target: &'a str, method: &str) -> Route<'a> {
    let path = &target[..target.find('?').unwrap_or(target.len())];
    let own = path
        .strip_prefix("/.ory")
        .and_then(|rest| proxy_own(rest, method, false));
    own.unwrap_or_else(|| Route::Ory(target.to_owned()))
}

fn is_read(method: &str) -> bool {
    method == "GET" || method == "HEAD"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ory_prefix_is_stripped_with_query_intact() {
        assert_eq!(
            classify("/.ory/self-service/login/browser?x=1&y=%2F", "GET", true),
            Route::Ory("/self-service/login/browser?x=1&y=%2F".into())
        );
        assert_eq!(classify("/.ory", "GET", true), Route::Ory("/".into()));
        assert_eq!(
            classify("/.ory?a=b", "GET", true),
            Route::Ory("/?a=b".into())
        );
        assert_eq!(classify("/.ory/", "GET", true), Route::Ory("/".into()));
        assert_eq!(
            classify("/.ory/a%2Fb/../c", "POST", true),
            Route::Ory("/a%2Fb/../c".into())
        );
    }

    #[test]
    fn lookalikes_go_upstream() {
        for t in ["/.oryx", "/.oryx/a", "/x/.ory/a", "/", "/?/.ory", "/.Ory/a"] {
            assert_eq!(classify(t, "GET", true), Route::Upstream(t), "{t}");
        }
    }

    #[test]
    fn jwks_and_proxy_namespace() {
        assert_eq!(classify("/.ory/jwks.json", "GET", true), Route::Jwks);
        assert_eq!(classify("/.ory/jwks.json?x", "HEAD", true), Route::Jwks);
        assert_eq!(classify("/.ory/proxy/jwks.json", "GET", true), Route::Jwks);
        assert_eq!(
            classify("/.ory/jwks.json", "GET", false),
            Route::Ory("/jwks.json".into())
        );
        assert_eq!(
            classify("/.ory/jwks.json", "POST", true),
            Route::Ory("/jwks.json".into())
        );
        assert_eq!(
            classify("/.ory/proxy/jwks.json", "GET", false),
            Route::ProxyOwn
        );
        assert_eq!(
            classify("/.ory/proxy/jwks.json", "POST", true),
            Route::ProxyOwn
        );
        assert_eq!(classify("/.ory/proxy/other", "GET", true), Route::ProxyOwn);
        assert_eq!(
            classify("/.ory/proxy/health/alive", "GET", false),
            Route::Alive
        );
        assert_eq!(
            classify("/.ory/proxy/health/ready?x=1", "HEAD", true),
            Route::Ready
        );
        assert_eq!(classify("/.ory/proxy/metrics", "GET", true), Route::Metrics);
        assert_eq!(
            classify("/.ory/proxy/health/alive/x", "GET", true),
            Route::ProxyOwn
        );
        assert_eq!(classify("/.ory/proxy/health", "GET", true), Route::ProxyOwn);
        assert_eq!(classify("/.ory/proxy", "GET", true), Route::ProxyOwn);
        assert_eq!(
            classify("/.ory/proxyx", "GET", true),
            Route::Ory("/proxyx".into())
        );
    }

    #[test]
    fn tunnel_routes() {
        for t in [
            "/self-service/login/browser?x=1",
            "/.ory/jwks.json",
            "/.ory/x",
            "/",
            "/a%2F",
        ] {
            assert_eq!(classify_tunnel(t, "GET"), Route::Ory(t.into()), "{t}");
        }
        assert_eq!(
            classify_tunnel("/.ory/proxy/health/alive", "GET"),
            Route::Alive
        );
        assert_eq!(
            classify_tunnel("/.ory/proxy/metrics?x", "GET"),
            Route::Metrics
        );
        assert_eq!(
            classify_tunnel("/.ory/proxy/jwks.json", "GET"),
            Route::ProxyOwn
        );
        assert_eq!(
            classify_tunnel("/.ory/proxyx", "GET"),
            Route::Ory("/.ory/proxyx".into())
        );
    }
}
