//! Origins: the scheme, host and port of the public URL, the upstream and the SDK URL.
//!
//! Routing, forwarding, cookie and `Location` rewriting and CORS all compare or print origins,
//! so each configured URL is parsed exactly once, at start-up, into the forms they need (a
//! `Host` value, the serialised origin, the effective port). Parsing rejects what the proxy
//! cannot honour (another scheme, user info, a query or a fragment) with a message that quotes
//! the URL.

use ureq::http::Uri;

/// `url` with the scheme it probably lacks: `https://` for Ory Network, else `http://` (a
/// development setup); `None` when it has one or cannot be a host.
fn with_scheme(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() || url.contains("://") || url.contains(char::is_whitespace) {
        return None;
    }
    let host = url.split(['/', ':']).next().unwrap_or("");
    let scheme = if host.ends_with(".oryapis.com") {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{}", url.trim_start_matches('/')))
}

/// The scheme, host and port of a URL, with the forms the proxy needs precomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Lowercased host; IPv6 addresses keep their brackets.
    pub host: String,
    /// The effective port (80/443 when the URL names none).
    pub port: u16,
    /// `host` or `host:port` (the port only when it is not the scheme's default): a `Host` value.
    pub authority: String,
    /// `scheme://authority`, the serialised origin (RFC 6454).
    pub origin: String,
}

impl Origin {
    /// Parses an absolute http(s) URL. The path (without a trailing `/`) is returned beside the
    /// origin; a query, a fragment or user info is an error. A URL without a scheme
    /// (`localhost:3000`) is refused with a "did you mean" that adds one.
    pub fn parse_with_path(what: &str, url: &str) -> Result<(Origin, String), String> {
        Origin::parse_absolute(what, url).map_err(|e| match with_scheme(url) {
            Some(fixed) if Origin::parse_absolute(what, &fixed).is_ok() => {
                format!("{e}; did you mean '{fixed}'?")
            }
            _ => e,
        })
    }

    fn parse_absolute(what: &str, url: &str) -> Result<(Origin, String), String> {
        if url.contains('#') {
            return Err(format!("{what} '{url}' must not contain a fragment"));
        }
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{what} '{url}' is not a valid URL: {e}"))?;
        let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http") => "http",
            Some("https") => "https",
            Some(other) => {
                return Err(format!(
                    "{what} '{url}' must use http or https, not '{other}'"
                ))
            }
            None => {
                return Err(format!(
                    "{what} '{url}' must be an absolute http:// or https:// URL"
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{what} '{url}' has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!("{what} '{url}' must not contain user info"));
        }
        if uri.query().is_some() {
            return Err(format!("{what} '{url}' must not contain a query"));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(format!("{what} '{url}' has no host"));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let authority = if port == default_port {
            host.clone()
        } else {
            format!("{host}:{port}")
        };
        let path = uri.path().trim_end_matches('/').to_owned();
        Ok((
            Origin {
                scheme,
                origin: format!("{scheme}://{authority}"),
                host,
                port,
                authority,
            },
            path,
        ))
    }

    /// Parses an absolute http(s) URL that must not have a path other than `/`.
    pub fn parse(what: &str, url: &str, path_error: &str) -> Result<Origin, String> {
        let (origin, path) = Origin::parse_with_path(what, url)?;
        if !path.is_empty() {
            return Err(format!("{path_error}: '{url}'"));
        }
        Ok(origin)
    }

    /// Whether this origin uses TLS.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// `http://localhost:<port>` (`https://` with `--tls-cert`), the public URL when none is
    /// given.
    pub fn default_public(port: u16, https: bool) -> Origin {
        let scheme = if https { "https" } else { "http" };
        let authority = if port == if https { 443 } else { 80 } {
            "localhost".to_owned()
        } else {
            format!("localhost:{port}")
        };
        Origin {
            scheme,
            host: "localhost".to_owned(),
            port,
            origin: format!("{scheme}://{authority}"),
            authority,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_scheme_gets_a_suggestion() {
        let e = Origin::parse("upstream URL", "localhost:3000", "no path").unwrap_err();
        assert!(
            e.ends_with("; did you mean 'http://localhost:3000'?"),
            "{e}"
        );
        let e = Origin::parse_with_path("SDK URL", "acme.projects.oryapis.com").unwrap_err();
        assert!(
            e.ends_with("; did you mean 'https://acme.projects.oryapis.com'?"),
            "{e}"
        );
        let e = Origin::parse("upstream URL", "ftp://x", "no path").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
        let e = Origin::parse("upstream URL", "not a url", "no path").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
    }
}
