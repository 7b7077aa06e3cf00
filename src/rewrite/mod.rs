//! Making Ory's and the application's answers belong to the public URL (SPEC §4).
//!
//! A browser only talks to the proxy, so everything that names another origin has to be
//! rewritten on the way back: cookies (`Domain`, `Secure`, `SameSite`), redirects (`Location`)
//! and, for Ory, URLs inside small textual bodies (flow JSON, HTML pages). All of it is pure
//! string work on one header value or one body, decided by a [`Rewriter`] built once at start-up,
//! so each rule is unit-tested here without sockets.
//!
//! The rules are deliberately conservative: what the proxy does not recognise is passed through
//! byte for byte, never dropped and never an error. A cookie attribute it does not know is kept;
//! a `Location` on a foreign origin is untouched; a body that is compressed, binary or larger
//! than `MAX_REWRITE_BODY` streams through unchanged.
//!
//! [`Rewriter`] is the one entry point, built once at start-up; the rules themselves live in
//! `cookie`, `location` and `body`.

pub(crate) mod body;
mod cookie;
mod location;

use crate::policy::origin::Origin;
use crate::rewrite::body as body_rewrite;
use crate::rewrite::cookie::rewrite_set_cookie;
use crate::rewrite::location::Locations;

/// The configured places the rules compare with and write, as plain values.
#[derive(Debug, Clone, Copy)]
pub struct Places<'a> {
    /// The public URL (the tunnel URL in tunnel mode).
    pub public: &'a Origin,
    /// Ory's origin, and the path prefix of the SDK URL (empty for Ory Network).
    pub sdk: &'a Origin,
    pub sdk_path: &'a str,
    /// The application.
    pub upstream: &'a Origin,
    /// Where Ory's paths start on the public URL: `/.ory`, or empty in tunnel mode.
    pub ory_prefix: &'static str,
    /// `--default-redirect-url`.
    pub default_redirect_url: &'a str,
    /// `--cookie-domain`, port already stripped.
    pub cookie_domain: Option<&'a str>,
}

/// Everything the rewriting rules need, precomputed from the configuration.
#[derive(Debug, Clone)]
pub struct Rewriter {
    /// `--cookie-domain`, port already stripped.
    cookie_domain: Option<String>,
    /// Whether the public URL is https (cookies get `Secure` exactly then).
    secure: bool,
    locations: Locations,
    /// What is searched in Ory bodies: the SDK URL (origin and path prefix).
    body_needle: Vec<u8>,
    /// What replaces it: `<public-url>/.ory` (the tunnel URL in tunnel mode).
    body_replacement: Vec<u8>,
}

impl Rewriter {
    /// Builds the rules from the configured places.
    pub fn new(places: &Places<'_>) -> Rewriter {
        Rewriter {
            cookie_domain: places.cookie_domain.map(str::to_owned),
            secure: places.public.is_https(),
            locations: Locations::new(places),
            body_needle: format!("{}{}", places.sdk.origin, places.sdk_path).into_bytes(),
            body_replacement: format!("{}{}", places.public.origin, places.ory_prefix).into_bytes(),
        }
    }

    /// Rewrites one `Set-Cookie` value (see `rewrite_set_cookie`).
    pub fn set_cookie(&self, value: &str) -> String {
        rewrite_set_cookie(value, self.cookie_domain.as_deref(), self.secure)
    }

    /// Rewrites a `Location` from Ory; `None` leaves it untouched (see `Locations::ory`).
    pub fn ory_location(&self, location: &str) -> Option<String> {
        self.locations.ory(location)
    }

    /// Rewrites a `Location` from the upstream; `None` leaves it untouched (see
    /// `Locations::upstream`).
    pub fn upstream_location(&self, location: &str) -> Option<String> {
        self.locations.upstream(location)
    }

    /// Replaces every occurrence of the SDK URL in an Ory body by `<public-url>/.ory`.
    /// Returns `None` when nothing matched (the caller keeps the original bytes).
    pub fn body(&self, body: &[u8]) -> Option<Vec<u8>> {
        body_rewrite::replace_origin(body, &self.body_needle, &self.body_replacement)
    }
}

#[cfg(test)]
mod tests;
