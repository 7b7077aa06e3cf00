//! Protected routes (`--require-session PREFIX`, `--require-aal2 PREFIX`): which requests may not
//! reach the application without an active session, or without one that used a second factor,
//! and what the client is told instead.
//!
//! The point is to protect a part of an application without changing it: the proxy already
//! knows whether the request has a session, so a path under a protected prefix is answered by
//! the proxy itself when it has none. A browser navigation is sent to Ory's login flow with a
//! `return_to` that brings the user back to the very page they asked for; anything else (a
//! `fetch`, an API client) gets a 401 it can act on, since a redirect to an HTML login page is
//! useless to a script.
//!
//! Matching is by whole path segments (`/admin` covers `/admin` and `/admin/x`, never
//! `/administrator`), on the copy of the path [`paths::match_key`] makes: every reading a
//! server could give it that turns it into a protected path is applied (case folded, `.json`
//! and `;params` cut, trailing dots and spaces trimmed, escapes decoded once), so a path that
//! any application could route to a protected view is treated as protected; the forwarded
//! request still carries the path exactly as the client sent it. Dot-segments never get here
//! (refused with 400 first). Only requests bound for the application are judged here: `/.ory/…`
//! and the proxy's own endpoints are routed elsewhere before, so they are never protected.
//!
//! `--require-aal2` paths are matched by the very same rules. Without a session they are
//! answered as `--require-session` answers; with a session at `aal1` a browser is sent to Ory's
//! step-up login (`login/browser?aal=aal2`, back to the same page), anything else gets 403 with
//! RFC 9470's `insufficient_user_authentication` challenge, which tells an API client that
//! signing in again with a stronger method (not merely signing in) is what is missing.
//!
//! All of it is pure: the caller supplies the facts (method, `Accept`, target, whether the
//! session is active) and writes the answer.

use crate::error::Error;
use crate::policy::paths;

/// What happens to a request bound for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not protected, or signed in: forward it.
    Pass,
    /// A browser navigation without a session: `303 See Other` to this URL (Ory's login flow).
    Login(String),
    /// Anything else without a session: `401` with `WWW-Authenticate: Bearer`.
    Unauthenticated,
    /// A browser navigation with an `aal1` session on an `--require-aal2` path: `303` to this
    /// URL (Ory's login flow asking for the second factor).
    StepUp(String),
    /// Anything else with an `aal1` session on an `--require-aal2` path: `403` with
    /// `WWW-Authenticate: Bearer error="insufficient_user_authentication"`.
    InsufficientAal,
}

/// How strongly the request is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// No active session.
    Anonymous,
    /// An active session without a second factor (`aal1`, or no level).
    Aal1,
    /// An active session at `aal2` or above.
    Aal2,
}

/// The protected prefixes, each list [`normalize_prefix`]ed.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// `--require-session`: a session is needed.
    pub session: &'a [String],
    /// `--require-aal2`: a session at `aal2` is needed.
    pub aal2: &'a [String],
}

impl Verdict {
    /// The answer that replaces forwarding, `None` for [`Verdict::Pass`].
    pub fn refusal(self) -> Option<Error> {
        match self {
            Verdict::Pass => None,
            Verdict::Login(location) => Some(Error::LoginRequired { location }),
            Verdict::Unauthenticated => Some(Error::SessionRequired),
            Verdict::StepUp(location) => Some(Error::StepUpRequired { location }),
            Verdict::InsufficientAal => Some(Error::SecondFactorRequired),
        }
    }
}

/// The verdict for a request: `target` is the origin-form target (`/path?query`) as received,
/// `public_origin` the public URL.
pub fn verdict(
    rules: Rules<'_>,
    public_origin: &str,
    (method, accept): (&str, Option<&str>),
    target: &str,
    level: Level,
) -> Verdict {
    if level == Level::Aal2 || (rules.session.is_empty() && rules.aal2.is_empty()) {
        return Verdict::Pass;
    }
    let path = &target[..target.find('?').unwrap_or(target.len())];
    let needs_aal2 = covers(rules.aal2, path);
    if !needs_aal2 && (level != Level::Anonymous || !covers(rules.session, path)) {
        return Verdict::Pass;
    }
    let navigation = is_navigation(method, accept);
    match (level, navigation) {
        (Level::Anonymous, true) => Verdict::Login(login_url(public_origin, target, false)),
        (Level::Anonymous, false) => Verdict::Unauthenticated,
        (_, true) => Verdict::StepUp(login_url(public_origin, target, true)),
        (_, false) => Verdict::InsufficientAal,
    }
}

/// A `--require-session` value as the matcher uses it, or `None` when it is not a path (no
/// leading `/`, a query or fragment, or under `/.ory`, which is never protected).
pub fn normalize_prefix(prefix: &str) -> Option<String> {
    let prefix = prefix.trim();
    if !prefix.starts_with('/') || prefix.contains(['?', '#']) {
        return None;
    }
    let normalized = paths::match_key(prefix);
    let is_ory = normalized == "/.ory" || normalized.starts_with("/.ory/");
    (!is_ory).then_some(normalized)
}

/// Whether a raw path is equal to or below one of the prefixes, by whole segments.
pub fn covers(prefixes: &[String], raw_path: &str) -> bool {
    let path = paths::match_key(raw_path);
    prefixes.iter().any(|p| {
        p == "/"
            || path
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// A browser navigation: `GET` or `HEAD` whose `Accept` admits `text/html` (not with `q=0`).
/// Browsers send `text/html` first when following a link or typing a URL; `fetch` and API
/// clients send `*/*` or `application/json`.
pub fn is_navigation(method: &str, accept: Option<&str>) -> bool {
    (method == "GET" || method == "HEAD")
        && accept.is_some_and(|a| {
            a.split(',').any(|range| {
                let mut parts = range.split(';');
                let media = parts.next().unwrap_or_default().trim();
                media.eq_ignore_ascii_case("text/html") && !parts.any(is_q_zero)
            })
        })
}

fn is_q_zero(param: &str) -> bool {
    match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("q") => {
            value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
        }
        _ => false,
    }
}

/// `<public>/.ory/self-service/login/browser?return_to=<public><target>`, the return URL
/// percent-encoded as one query component; with `aal2`, `?aal=aal2&return_to=…` (Ory's step-up
/// login, which asks a signed-in user for the second factor).
pub fn login_url(public_origin: &str, target: &str, aal2: bool) -> String {
    let return_to = format!("{public_origin}{target}");
    let aal = if aal2 { "aal=aal2&" } else { "" };
    format!(
        "{public_origin}/.ory/self-service/login/browser?{aal}return_to={}",
        encode_component(&return_to)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| normalize_prefix(p).unwrap()).collect()
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let p = prefixes(&["/admin", "/api/private/"]);
        for covered in [
            "/admin",
            "/admin/",
            "/admin/x/y",
            "/api/private",
            "/api/private/z",
        ] {
            assert!(covers(&p, covered), "{covered}");
        }
        for free in [
            "/",
            "/administrator",
            "/adminx/a",
            "/api",
            "/api/privately",
            "/x/admin",
        ] {
            assert!(!covers(&p, free), "{free}");
        }
        let all = prefixes(&["/"]);
        assert!(covers(&all, "/") && covers(&all, "/anything/at/all"));
    }

    #[test]
    fn disguised_paths_are_still_covered() {
        let p = prefixes(&["/admin"]);
        for disguised in [
            "//admin",
            "/./admin",
            "/x/../admin/y",
            "/%61dmin",
            "/%2561dmin",
            "/ADMIN",
            "/admin;jsessionid=1",
            "/public%2F..%2Fadmin",
            "\\admin",
            "/Admin",
            "/admin.json",
            "/admin.",
            "/admin%20",
            "/admin%00/x",
            "/admin;x",
            "/ADMIN%2Fx",
        ] {
            let expected = disguised != "/%2561dmin";
            assert_eq!(covers(&p, disguised), expected, "{disguised}");
        }
    }

    #[test]
    fn prefix_values() {
        assert_eq!(normalize_prefix("/admin/").as_deref(), Some("/admin"));
        assert_eq!(normalize_prefix(" /a//b ").as_deref(), Some("/a/b"));
        assert_eq!(normalize_prefix("/").as_deref(), Some("/"));
        for bad in ["admin", "", "/a?b", "/a#b", "/.ory", "/.ory/x", "//.ory/"] {
            assert_eq!(normalize_prefix(bad), None, "{bad}");
        }
        assert_eq!(normalize_prefix("/.oryx").as_deref(), Some("/.oryx"));
        assert_eq!(normalize_prefix("/Admin.html").as_deref(), Some("/admin"));
        assert_eq!(normalize_prefix("/.ORY"), None);
    }

    #[test]
    fn navigations() {
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(is_navigation("GET", Some(chrome)));
        assert!(is_navigation("HEAD", Some("TEXT/HTML")));
        assert!(!is_navigation("POST", Some(chrome)));
        assert!(!is_navigation("GET", Some("*/*")));
        assert!(!is_navigation("GET", Some("application/json")));
        assert!(!is_navigation("GET", Some("text/html;q=0, */*")));
        assert!(!is_navigation("GET", Some("text/htmlx")));
        assert!(!is_navigation("GET", None));
    }

    fn session(p: &[String]) -> Rules<'_> {
        Rules {
            session: p,
            aal2: &[],
        }
    }

    #[test]
    fn verdicts() {
        let p = prefixes(&["/admin"]);
        let p = session(&p);
        let html = ("GET", Some("text/html"));
        let public = "https://app.example.org";
        let (anonymous, signed_in) = (Level::Anonymous, Level::Aal1);
        assert_eq!(
            verdict(p, public, html, "/admin/x?a=1&b=%2F", anonymous),
            Verdict::Login(
                "https://app.example.org/.ory/self-service/login/browser?return_to=\
                 https%3A%2F%2Fapp.example.org%2Fadmin%2Fx%3Fa%3D1%26b%3D%252F"
                    .into()
            )
        );
        assert_eq!(
            verdict(p, public, ("GET", Some("*/*")), "/admin", anonymous),
            Verdict::Unauthenticated
        );
        assert_eq!(verdict(p, public, html, "/admin", signed_in), Verdict::Pass);
        assert_eq!(
            verdict(p, public, html, "/other?/admin", anonymous),
            Verdict::Pass
        );
        assert_eq!(
            verdict(session(&[]), public, html, "/admin", anonymous),
            Verdict::Pass
        );
    }

    #[test]
    fn aal2_verdicts() {
        let (s, a) = (prefixes(&["/app"]), prefixes(&["/app/admin", "/billing"]));
        let rules = Rules {
            session: &s,
            aal2: &a,
        };
        let html = ("GET", Some("text/html"));
        let api = ("POST", Some("text/html"));
        let public = "http://localhost:4000";
        let v = |asked, target, level| verdict(rules, public, asked, target, level);
        // Anonymous: as --require-session, on either list.
        assert_eq!(
            v(html, "/billing?x=1", Level::Anonymous),
            Verdict::Login(login_url(public, "/billing?x=1", false))
        );
        assert_eq!(
            v(api, "/BILLING", Level::Anonymous),
            Verdict::Unauthenticated
        );
        // aal1: stepped up on a navigation, 403 otherwise; aal2 passes.
        assert_eq!(
            v(html, "/app/admin/x?y=%2F", Level::Aal1),
            Verdict::StepUp(
                "http://localhost:4000/.ory/self-service/login/browser?aal=aal2&return_to=\
                 http%3A%2F%2Flocalhost%3A4000%2Fapp%2Fadmin%2Fx%3Fy%3D%252F"
                    .into()
            )
        );
        for disguised in [
            "/App/ADMIN",
            "/app/admin.json",
            "//app/admin;x",
            "/%61pp/admin%20",
        ] {
            assert_eq!(
                v(api, disguised, Level::Aal1),
                Verdict::InsufficientAal,
                "{disguised}"
            );
            assert_eq!(v(api, disguised, Level::Aal2), Verdict::Pass, "{disguised}");
        }
        // Outside the aal2 prefixes an aal1 session is enough.
        for open in ["/app", "/app/administrator", "/billings", "/"] {
            assert_eq!(v(html, open, Level::Aal1), Verdict::Pass, "{open}");
        }
        assert_eq!(
            v(html, "/app/x", Level::Anonymous),
            Verdict::Login(login_url(public, "/app/x", false))
        );
        assert_eq!(v(html, "/other", Level::Anonymous), Verdict::Pass);
        // aal2 alone, without --require-session.
        let only = Rules {
            session: &[],
            aal2: &a,
        };
        assert_eq!(
            verdict(only, public, api, "/billing", Level::Anonymous),
            Verdict::Unauthenticated
        );
        assert_eq!(
            verdict(only, public, api, "/app", Level::Anonymous),
            Verdict::Pass
        );
    }

    #[test]
    fn arbitrary_paths_never_panic() {
        let alphabet: Vec<char> = "/\\.;%2Fa9?#\u{e9}".chars().collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let p = prefixes(&["/a", "/"]);
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 16) as usize;
            let path: String = (0..len)
                .map(|i| alphabet[((state >> (i * 4)) % alphabet.len() as u64) as usize])
                .collect();
            let n = paths::match_key(&path);
            assert!(n.starts_with('/') && !n.contains("//"), "{path:?} -> {n:?}");
            assert!(covers(&p, &path), "'/' covers {path:?}");
            let rules = Rules {
                session: &p,
                aal2: &p,
            };
            let _ = verdict(rules, "http://x", ("GET", Some(&path)), &path, Level::Aal1);
        }
    }

    #[test]
    fn encoding() {
        assert_eq!(encode_component("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(encode_component("a b/ü"), "a%20b%2F%C3%BC");
    }
}
