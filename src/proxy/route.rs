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

/// The origin-form target (`/path?query`) of a raw request-target; absolute-form targets
/// (`http://host/path`, RFC 9112 §3.2.2) are reduced to their path. `None` for anything else.
pub fn origin_form(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let rest = after_scheme(target)?;
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => Some(&rest[i..]),
        // `http://host?x` has an empty path: RFC 9112 says send `/?x`; rare enough to refuse.
        Some(_) => None,
        None => Some("/"),
    }
}

/// What follows `http://` or `https://` (either in any case) at the start of a target.
fn after_scheme(target: &str) -> Option<&str> {
    let lower = target
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if lower.starts_with("http://") {
        Some(&target[7..])
    } else if lower.starts_with("https://") {
        Some(&target[8..])
    } else {
        None
    }
}

/// The authority (`host[:port]`) of an absolute-form target, `None` for any other form. With an
/// absolute-form target the request's host is this one, not the `Host` field (RFC 9112 §3.2.2).
pub fn absolute_authority(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return None;
    }
    let rest = after_scheme(target)?;
    Some(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
}

/// Classifies an origin-form target. `jwt` is false under `--no-jwt`.
pub fn classify<'a>(target: &'a str, method: &str, jwt: bool) -> Route<'a> {
    let path_end = target.find('?').unwrap_or(target.len());
    let path = &target[..path_end];
    let rest = match path.strip_prefix("/.ory") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return Route::Upstream(target),
    };
    if rest == "/proxy" || rest.starts_with("/proxy/") {
        // Methods are checked by the handlers (405), except for the JWKS, whose other methods
        // fall through to 404 like any path the proxy does not serve.
        return match &rest[6..] {
            "/jwks.json" if jwt && is_read(method) => Route::Jwks,
            "/health/alive" => Route::Alive,
            "/health/ready" => Route::Ready,
            "/metrics" => Route::Metrics,
            _ => Route::ProxyOwn,
        };
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
    fn absolute_form_targets() {
        assert_eq!(origin_form("/a?b"), Some("/a?b"));
        assert_eq!(origin_form("http://h:1/a?b"), Some("/a?b"));
        assert_eq!(absolute_authority("http://h:1/a?b"), Some("h:1"));
        assert_eq!(absolute_authority("HTTPS://h"), Some("h"));
        assert_eq!(absolute_authority("/a"), None);
        assert_eq!(origin_form("HTTPS://h"), Some("/"));
        assert_eq!(origin_form("*"), None);
        assert_eq!(origin_form("h/a"), None);
        assert_eq!(origin_form(""), None);
    }
}
