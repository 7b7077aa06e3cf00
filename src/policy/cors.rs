//! Cross-origin requests: which pages on other origins may read answers, with credentials.
//!
//! The proxy owns the CORS policy for both the application and Ory, because both sit on one
//! origin and share its cookies. Allowed are the public URL's origin and the
//! `--allowed-cors-origins` patterns, nothing else: unlike the Go original, a page on an
//! arbitrary site must not be able to read a signed-in user's data. For an allowed `Origin` the
//! origin is echoed with `Access-Control-Allow-Credentials: true`; preflights are answered here
//! with 204 and never reach the application or Ory. Whatever `Access-Control-Allow-Origin` /
//! `-Credentials` the upstream or Ory sent is dropped (see [`is_cors_response_header`]), so a
//! response never carries two answers and a permissive backend cannot widen the policy.

use crate::policy::origin::Origin;
pub use crate::policy::origin_pattern::OriginPattern;
use crate::policy::origin_pattern::RequestOrigin;

/// Request headers a cross-origin page may send (besides `--additional-cors-headers`).
pub const DEFAULT_ALLOWED_HEADERS: &[&str] = &[
    "Accept",
    "Content-Type",
    "Content-Length",
    "Accept-Language",
    "Content-Language",
    "Authorization",
    "X-CSRF-Token",
    "X-Session-Token",
];

/// How long a browser may cache a preflight answer (`Access-Control-Max-Age`, seconds).
pub const PREFLIGHT_MAX_AGE: &str = "600";

/// The CORS policy, built once at start-up.
#[derive(Debug, Clone)]
pub struct Cors {
    public: OriginPattern,
    patterns: Vec<OriginPattern>,
    /// `Access-Control-Allow-Headers` of every preflight answer.
    allow_headers: String,
}

/// What the policy says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No `Origin` header: not a CORS request, nothing to add.
    NoOrigin,
    /// Allowed; carries the `Origin` value to echo and the rule that allowed it.
    Allowed { origin: String, rule: String },
    /// An `Origin` that matches no rule.
    Denied { origin: String },
}

impl Decision {
    /// A `--debug` explanation of the decision.
    pub fn explain(&self, public_origin: &str) -> String {
        match self {
            Decision::NoOrigin => "no Origin header, not a CORS request".to_owned(),
            Decision::Allowed { origin, rule } => {
                format!("origin {origin} allowed by {rule}; echoed with credentials")
            }
            Decision::Denied { origin } => format!(
                "origin {origin} denied: not the public origin {public_origin} and matching no \
                 --allowed-cors-origins; no CORS headers sent"
            ),
        }
    }
}

impl Decision {
    /// The warning for a denied origin, naming the flag that would allow it; `None` unless
    /// denied. An origin that is not `scheme://host[:port]` cannot be allowed by any flag.
    pub fn denial_warning(&self) -> Option<String> {
        let Decision::Denied { origin } = self else {
            return None;
        };
        let shown: String = origin.chars().take(200).collect();
        Some(match RequestOrigin::parse(origin) {
            Some(_) => format!(
                "CORS: denied origin {shown}: pages there cannot read answers from this proxy \
                 with credentials; to allow it, add --allowed-cors-origins {shown}"
            ),
            None => format!(
                "CORS: denied origin '{shown}': not a well-formed http(s) origin \
                 (scheme://host[:port]), which no browser sends"
            ),
        })
    }
}

impl Cors {
    /// Builds the policy. Patterns were validated by [`OriginPattern::parse`] in `config`; one
    /// that still fails to parse is skipped (it could never match anything).
    pub fn new(public: &Origin, allowed: &[String], additional_headers: &[String]) -> Cors {
        let public = OriginPattern {
            scheme: public.scheme.to_owned(),
            labels: vec![public.host.clone()],
            port: public.port,
            text: public.origin.clone(),
            exact_host: true,
        };
        let patterns = allowed
            .iter()
            .filter_map(|p| OriginPattern::parse(p).ok())
            .collect();
        let mut headers: Vec<&str> = DEFAULT_ALLOWED_HEADERS.to_vec();
        for h in additional_headers {
            if !headers.iter().any(|d| d.eq_ignore_ascii_case(h)) {
                headers.push(h);
            }
        }
        Cors {
            public,
            patterns,
            allow_headers: headers.join(", "),
        }
    }

    /// Decides on a request's `Origin` header.
    pub fn decide(&self, origin: Option<&str>) -> Decision {
        let Some(origin) = origin else {
            return Decision::NoOrigin;
        };
        let Some(parsed) = RequestOrigin::parse(origin) else {
            return Decision::Denied {
                origin: origin.to_owned(),
            };
        };
        let rule = std::iter::once(&self.public)
            .chain(&self.patterns)
            .find(|p| p.matches(&parsed));
        match rule {
            Some(p) => Decision::Allowed {
                origin: origin.to_owned(),
                rule: if std::ptr::eq(p, &self.public) {
                    "the public URL".to_owned()
                } else {
                    format!("--allowed-cors-origins {}", p.text)
                },
            },
            None => Decision::Denied {
                origin: origin.to_owned(),
            },
        }
    }

    /// Headers of a preflight answer (status 204) for this decision.
    pub fn preflight_headers(
        &self,
        decision: &Decision,
        requested_method: &str,
    ) -> Vec<(&'static str, String)> {
        let mut headers = vec![(
            "Vary",
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".to_owned(),
        )];
        if let Decision::Allowed { origin, .. } = decision {
            let method = requested_method.trim();
            let method = if is_token(method) { method } else { "GET" };
            headers.extend([
                ("Access-Control-Allow-Origin", origin.clone()),
                ("Access-Control-Allow-Credentials", "true".to_owned()),
                ("Access-Control-Allow-Methods", method.to_owned()),
                ("Access-Control-Allow-Headers", self.allow_headers.clone()),
                ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE.to_owned()),
            ]);
        }
        headers
    }

    /// Headers added to an actual (non-preflight) response. `vary_has_origin` tells whether the
    /// response already varies on `Origin` (or on everything).
    pub fn response_headers(
        &self,
        decision: &Decision,
        vary_has_origin: bool,
    ) -> Vec<(&'static str, String)> {
        let mut headers = Vec::with_capacity(3);
        if let Decision::Allowed { origin, .. } = decision {
            headers.push(("Access-Control-Allow-Origin", origin.clone()));
            headers.push(("Access-Control-Allow-Credentials", "true".to_owned()));
        }
        // Always, so a cache never serves one origin's answer to another.
        if !vary_has_origin {
            headers.push(("Vary", "Origin".to_owned()));
        }
        headers
    }

    /// The requested headers (`Access-Control-Request-Headers`) that the policy does not allow,
    /// for `--debug`.
    pub fn disallowed_headers<'a>(&self, requested: &'a str) -> Vec<&'a str> {
        requested
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .filter(|h| {
                !self
                    .allow_headers
                    .split(", ")
                    .any(|a| a.eq_ignore_ascii_case(h))
            })
            .collect()
    }
}

/// Whether a response header is a CORS answer that only the proxy may give.
pub fn is_cors_response_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("access-control-allow-origin")
        || name.eq_ignore_ascii_case("access-control-allow-credentials")
}

/// Whether a `Vary` value already covers `Origin`.
pub fn vary_covers_origin(value: &str) -> bool {
    value
        .split(',')
        .map(str::trim)
        .any(|v| v == "*" || v.eq_ignore_ascii_case("origin"))
}

/// Whether a preflight's `Access-Control-Request-Method` is an HTTP token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_names_the_flag_that_would_allow_it() {
        let cors = Cors::new(&Origin::default_public(4000, false), &[], &[]);
        let d = cors.decide(Some("http://localhost:3000"));
        assert_eq!(
            d.denial_warning().as_deref(),
            Some(
                "CORS: denied origin http://localhost:3000: pages there cannot read answers \
                 from this proxy with credentials; to allow it, add --allowed-cors-origins \
                 http://localhost:3000"
            )
        );
        assert_eq!(
            cors.decide(Some("http://localhost:4000")).denial_warning(),
            None
        );
        let odd = cors.decide(Some("null")).denial_warning().unwrap();
        assert_eq!(
            odd,
            "CORS: denied origin 'null': not a well-formed http(s) origin (scheme://host[:port]), \
             which no browser sends"
        );
    }

    fn cors(allowed: &[&str]) -> Cors {
        let (public, _) = Origin::parse_with_path("public", "http://localhost:4000").unwrap();
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        Cors::new(
            &public,
            &allowed,
            &["X-Extra".to_owned(), "accept".to_owned()],
        )
    }

    fn allowed(c: &Cors, origin: &str) -> bool {
        matches!(c.decide(Some(origin)), Decision::Allowed { .. })
    }

    #[test]
    fn public_origin_only_by_default() {
        let c = cors(&[]);
        assert_eq!(c.decide(None), Decision::NoOrigin);
        assert!(allowed(&c, "http://localhost:4000"));
        assert!(allowed(&c, "HTTP://LOCALHOST:4000"));
        for o in [
            "http://localhost:4001",
            "https://localhost:4000",
            "http://evil.example",
            "null",
            "",
            "http://localhost:4000.evil.example",
            "http://localhost:4000/path",
            "http://x@localhost:4000",
            "http://localhost:4000\u{2028}",
            " http://localhost:4000",
            "http://localhost:4000/",
            "http://local host:4000",
        ] {
            assert!(!allowed(&c, o), "{o}");
        }
    }

    #[test]
    fn wildcard_labels() {
        let c = cors(&[
            "https://*.example.org",
            "https://pr-*.preview.example.net:8443",
            "http://[::1]:3000",
            "https://exact.example.com/",
        ]);
        assert!(allowed(&c, "https://app.example.org"));
        assert!(allowed(&c, "https://app.example.org:443"));
        assert!(!allowed(&c, "https://example.org"));
        assert!(!allowed(&c, "https://a.b.example.org"));
        assert!(!allowed(&c, "http://app.example.org"));
        assert!(!allowed(&c, "https://app.example.org.evil.com"));
        assert!(allowed(&c, "https://pr-12.preview.example.net:8443"));
        assert!(!allowed(&c, "https://pr-12.preview.example.net"));
        assert!(!allowed(&c, "https://xpr-12.preview.example.net:8443"));
        assert!(allowed(&c, "http://[::1]:3000"));
        assert!(allowed(&c, "https://exact.example.com"));
        match c.decide(Some("https://app.example.org")) {
            Decision::Allowed { rule, origin } => {
                assert_eq!(origin, "https://app.example.org");
                assert!(rule.contains("https://*.example.org"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn preflight_and_response_headers() {
        let c = cors(&[]);
        let ok = c.decide(Some("http://localhost:4000"));
        let h = c.preflight_headers(&ok, "PUT");
        let get = |name: &str| h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(
            get("Access-Control-Allow-Origin"),
            Some("http://localhost:4000")
        );
        assert_eq!(get("Access-Control-Allow-Credentials"), Some("true"));
        assert_eq!(get("Access-Control-Allow-Methods"), Some("PUT"));
        let allow = get("Access-Control-Allow-Headers").unwrap();
        assert!(
            allow.contains("X-CSRF-Token") && allow.ends_with("X-Extra"),
            "{allow}"
        );
        assert_eq!(allow.matches("ccept").count(), 2, "{allow}"); // Accept + Accept-Language
        let denied = c.decide(Some("http://evil.example"));
        let h = c.preflight_headers(&denied, "PUT");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, "Vary");
        assert_eq!(c.response_headers(&ok, false).len(), 3);
        assert_eq!(c.response_headers(&ok, true).len(), 2);
        assert_eq!(
            c.response_headers(&denied, false),
            vec![("Vary", "Origin".to_owned())]
        );
        assert_eq!(
            c.disallowed_headers("content-type, X-Extra, X-Other"),
            vec!["X-Other"]
        );
        assert!(vary_covers_origin("Accept-Encoding, origin"));
        assert!(vary_covers_origin("*"));
        assert!(!vary_covers_origin("Accept-Encoding"));
        assert!(is_cors_response_header("Access-Control-Allow-Origin"));
        assert!(!is_cors_response_header("Access-Control-Expose-Headers"));
    }

    #[test]
    fn arbitrary_origins_never_panic() {
        let c = cors(&["https://*.example.org", "http://[::1]:3000"]);
        let alphabet: Vec<char> = ":/[].*@?#a0\u{e9} ".chars().collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 20) as usize;
            let tail: String = (0..len)
                .map(|i| alphabet[((state >> (i % 50)) % alphabet.len() as u64) as usize])
                .collect();
            for prefix in ["", "https://", "http://[", "https://a."] {
                let origin = format!("{prefix}{tail}");
                let _ = c.decide(Some(&origin));
                let _ = OriginPattern::parse(&origin);
            }
        }
    }
}
