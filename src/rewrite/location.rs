//! `Location` rewriting: redirects from Ory and from the application made to point at the
//! public URL.
//!
//! A redirect that names the SDK URL or the upstream's own origin would take the browser away
//! from the one origin the proxy exists to provide. What is rewritten: paths and URLs on Ory's
//! origin (to `<public-url>/.ory…`), URLs on the upstream's origin (to the public origin), and
//! Ory's welcome page (to `--default-redirect-url`). Anything else, other origins included, is
//! left untouched. [`Locations`] holds the origins to compare with, parsed once at start-up.

use crate::policy::origin::Origin;

/// Ory's "welcome" page (after the `/.ory` prefix), replaced by `--default-redirect-url`.
const WELCOME_PATH: &str = "/ui/welcome";

/// The origins and targets the `Location` rules compare with, precomputed from the configuration.
#[derive(Debug, Clone)]
pub struct Locations {
    /// `scheme://host[:port]` of the public URL.
    public_origin: String,
    /// Where Ory's paths start on the public URL: `/.ory`, or empty in tunnel mode.
    ory_prefix: &'static str,
    /// Ory's welcome page as the browser sees it, on the public URL (`/.ory/ui/welcome`).
    public_welcome_path: String,
    public: Endpoint,
    sdk: Endpoint,
    /// The SDK URL's path prefix (empty for Ory Network), without a trailing slash.
    sdk_path: String,
    upstream: Endpoint,
    default_redirect_url: String,
}

/// The comparable parts of an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    scheme: String,
    host: String,
    port: u16,
}

impl Endpoint {
    fn of(o: &Origin) -> Endpoint {
        Endpoint {
            scheme: o.scheme.to_owned(),
            host: o.host.clone(),
            port: o.port,
        }
    }
}

impl Locations {
    pub fn new(places: &super::Places<'_>) -> Locations {
        Locations {
            public_origin: places.public.origin.clone(),
            ory_prefix: places.ory_prefix,
            public_welcome_path: format!("{}{WELCOME_PATH}", places.ory_prefix),
            public: Endpoint::of(places.public),
            sdk: Endpoint::of(places.sdk),
            sdk_path: places.sdk_path.to_owned(),
            upstream: Endpoint::of(places.upstream),
            default_redirect_url: places.default_redirect_url.to_owned(),
        }
    }

    /// Rewrites a `Location` from Ory; `None` leaves it untouched.
    ///
    /// A path, or an absolute URL on the SDK URL's origin (its path prefix removed), becomes
    /// `<public-url>/.ory<path>?<query>#<fragment>` (no `/.ory` in tunnel mode); Ory's welcome
    /// page becomes
    /// `--default-redirect-url`, also when Ory already named it on the public origin (Ory
    /// Network does, thanks to `Ory-Base-URL-Rewrite`).
    pub fn ory(&self, location: &str) -> Option<String> {
        let rest = if location.starts_with('/') && !location.starts_with("//") {
            location
        } else {
            let url = split_absolute(location, &self.sdk.scheme)?;
            if self.is_welcome_on_public(&url) {
                return Some(self.default_redirect_url.clone());
            }
            if !url.is(&self.sdk) {
                return None;
            }
            url.rest
        };
        let rest = self.strip_sdk_path(rest);
        if path_of(rest) == WELCOME_PATH {
            return Some(self.default_redirect_url.clone());
        }
        Some(format!("{}{}{rest}", self.public_origin, self.ory_prefix))
    }

    /// Rewrites a `Location` from the upstream; `None` leaves it untouched.
    ///
    /// Only an absolute URL on the upstream's origin changes (to the public origin, same path,
    /// query and fragment): paths are already relative to the public URL, and other origins are
    /// the application's business. A redirect to Ory's welcome page becomes
    /// `--default-redirect-url` here too.
    pub fn upstream(&self, location: &str) -> Option<String> {
        if location.starts_with('/') && !location.starts_with("//") {
            return (path_of(location) == self.public_welcome_path)
                .then(|| self.default_redirect_url.clone());
        }
        let url = split_absolute(location, &self.upstream.scheme)?;
        if self.is_welcome_on_public(&url) {
            return Some(self.default_redirect_url.clone());
        }
        if !url.is(&self.upstream) || self.upstream == self.public {
            return None;
        }
        if path_of(url.rest) == self.public_welcome_path {
            return Some(self.default_redirect_url.clone());
        }
        Some(format!("{}{}", self.public_origin, url.rest))
    }

    fn is_welcome_on_public(&self, url: &AbsoluteUrl<'_>) -> bool {
        url.is(&self.public) && path_of(url.rest) == self.public_welcome_path
    }

    fn strip_sdk_path<'a>(&self, rest: &'a str) -> &'a str {
        if self.sdk_path.is_empty() {
            return rest;
        }
        match rest.strip_prefix(self.sdk_path.as_str()) {
            Some(r) if r.is_empty() || r.starts_with(['/', '?', '#']) => r,
            _ => rest,
        }
    }
}

/// The path of `path?query#fragment`.
fn path_of(rest: &str) -> &str {
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// An absolute URL split into what origin comparison needs.
#[derive(Debug)]
struct AbsoluteUrl<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
    /// Path, query and fragment, as written (may be empty).
    rest: &'a str,
}

impl AbsoluteUrl<'_> {
    fn is(&self, e: &Endpoint) -> bool {
        let default_port = match self.scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            _ => return false,
        };
        self.scheme.eq_ignore_ascii_case(&e.scheme)
            && self.host.eq_ignore_ascii_case(&e.host)
            && self.port.unwrap_or(default_port) == e.port
    }
}

/// Splits `scheme://host[:port]rest` (or a network-path reference `//host…`, which takes
/// `implied_scheme`). `None` for anything else, including URLs with user info: those are left
/// alone.
fn split_absolute<'a>(url: &'a str, implied_scheme: &'a str) -> Option<AbsoluteUrl<'a>> {
    let (scheme, after) = match url.strip_prefix("//") {
        Some(after) => (implied_scheme, after),
        None => {
            let (scheme, after) = url.split_once("://")?;
            if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
                return None;
            }
            (scheme, after)
        }
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (h, p) = authority.split_at(close + 1);
        (h, p)
    } else {
        match authority.rsplit_once(':') {
            Some((h, _)) => (h, &authority[h.len()..]),
            None => (authority, ""),
        }
    };
    let port = match port.strip_prefix(':') {
        None if port.is_empty() => None,
        None => return None,
        Some("") => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some(AbsoluteUrl {
        scheme,
        host,
        port,
        rest,
    })
}
