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
//! than [`MAX_REWRITE_BODY`] streams through unchanged.

use crate::config::Config;

/// The largest Ory body that is buffered and rewritten; larger bodies stream untouched.
pub const MAX_REWRITE_BODY: u64 = 16 * 1024 * 1024;

/// Ory's "welcome" page (after the `/.ory` prefix), replaced by `--default-redirect-url`.
const WELCOME_PATH: &str = "/ui/welcome";

/// Everything the rewriting rules need, precomputed from the configuration.
#[derive(Debug, Clone)]
pub struct Rewriter {
    /// `scheme://host[:port]` of the public URL.
    public_origin: String,
    public: Endpoint,
    sdk: Endpoint,
    /// The SDK URL's path prefix (empty for Ory Network), without a trailing slash.
    sdk_path: String,
    upstream: Endpoint,
    /// `--cookie-domain`, port already stripped.
    cookie_domain: Option<String>,
    /// Whether the public URL is https (cookies get `Secure` exactly then).
    secure: bool,
    default_redirect_url: String,
    /// What is searched in Ory bodies: the SDK URL (origin and path prefix).
    body_needle: Vec<u8>,
    /// What replaces it: `<public-url>/.ory`.
    body_replacement: Vec<u8>,
}

/// The comparable parts of an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    scheme: String,
    host: String,
    port: u16,
}

impl Rewriter {
    /// Builds the rules from a validated configuration.
    pub fn new(config: &Config) -> Rewriter {
        let endpoint = |o: &crate::config::Origin| Endpoint {
            scheme: o.scheme.to_owned(),
            host: o.host.clone(),
            port: o.port,
        };
        Rewriter {
            public_origin: config.public.origin.clone(),
            public: endpoint(&config.public),
            sdk: endpoint(&config.sdk),
            sdk_path: config.sdk_path.clone(),
            upstream: endpoint(&config.upstream),
            cookie_domain: config.cookie_domain.clone(),
            secure: config.public.is_https(),
            default_redirect_url: config.default_redirect_url.clone(),
            body_needle: format!("{}{}", config.sdk.origin, config.sdk_path).into_bytes(),
            body_replacement: format!("{}/.ory", config.public.origin).into_bytes(),
        }
    }

    /// Rewrites one `Set-Cookie` value.
    ///
    /// The `name=value` pair is kept byte for byte (even without `=`, or quoted, or empty). Among
    /// the attributes, `Domain` becomes `--cookie-domain` or disappears, `Secure` is present
    /// exactly when the public URL is https, and without `Secure` a `SameSite=None` becomes `Lax`
    /// (browsers reject `None` without `Secure`) and `Partitioned` is dropped (it requires
    /// `Secure`). Everything else, unknown attributes and `Expires` dates with commas included,
    /// keeps its text and order. `__Host-` cookies never get a `Domain` (browsers reject them).
    pub fn set_cookie(&self, value: &str) -> String {
        let mut segments = value.split(';');
        let pair = segments.next().unwrap_or_default();
        let name = pair.split_once('=').map_or("", |(n, _)| n.trim());
        let host_only = name
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("__Host-"));
        let domain = self.cookie_domain.as_deref().filter(|_| !host_only);

        let mut out = String::with_capacity(value.len() + 32);
        out.push_str(pair);
        let mut domain_written = false;
        let mut secure_written = false;
        for segment in segments {
            let (attr, attr_value) = match segment.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (segment.trim(), None),
            };
            if attr.eq_ignore_ascii_case("domain") {
                if let (Some(d), false) = (domain, domain_written) {
                    out.push_str("; Domain=");
                    out.push_str(d);
                    domain_written = true;
                }
                continue;
            }
            if attr.eq_ignore_ascii_case("secure") {
                if self.secure && !secure_written {
                    out.push(';');
                    out.push_str(segment);
                    secure_written = true;
                }
                continue;
            }
            if !self.secure {
                if attr.eq_ignore_ascii_case("samesite")
                    && attr_value.is_some_and(|v| v.eq_ignore_ascii_case("none"))
                {
                    out.push_str("; SameSite=Lax");
                    continue;
                }
                if attr.eq_ignore_ascii_case("partitioned") {
                    continue;
                }
            }
            out.push(';');
            out.push_str(segment);
        }
        if let (Some(d), false) = (domain, domain_written) {
            out.push_str("; Domain=");
            out.push_str(d);
        }
        if self.secure && !secure_written {
            out.push_str("; Secure");
        }
        out
    }

    /// Rewrites a `Location` from Ory; `None` leaves it untouched.
    ///
    /// A path, or an absolute URL on the SDK URL's origin (its path prefix removed), becomes
    /// `<public-url>/.ory<path>?<query>#<fragment>`; Ory's welcome page becomes
    /// `--default-redirect-url`, also when Ory already named it on the public origin (Ory
    /// Network does, thanks to `Ory-Base-URL-Rewrite`).
    pub fn ory_location(&self, location: &str) -> Option<String> {
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
        Some(format!("{}/.ory{rest}", self.public_origin))
    }

    /// Rewrites a `Location` from the upstream; `None` leaves it untouched.
    ///
    /// Only an absolute URL on the upstream's origin changes (to the public origin, same path,
    /// query and fragment): paths are already relative to the public URL, and other origins are
    /// the application's business. A redirect to Ory's welcome page becomes
    /// `--default-redirect-url` here too.
    pub fn upstream_location(&self, location: &str) -> Option<String> {
        if location.starts_with('/') && !location.starts_with("//") {
            return (path_of(location) == "/.ory/ui/welcome")
                .then(|| self.default_redirect_url.clone());
        }
        let url = split_absolute(location, &self.upstream.scheme)?;
        if self.is_welcome_on_public(&url) {
            return Some(self.default_redirect_url.clone());
        }
        if !url.is(&self.upstream) || self.upstream == self.public {
            return None;
        }
        if path_of(url.rest) == "/.ory/ui/welcome" {
            return Some(self.default_redirect_url.clone());
        }
        Some(format!("{}{}", self.public_origin, url.rest))
    }

    /// Replaces every occurrence of the SDK URL in an Ory body by `<public-url>/.ory`.
    /// Returns `None` when nothing matched (the caller keeps the original bytes).
    pub fn body(&self, body: &[u8]) -> Option<Vec<u8>> {
        replace_origin(body, &self.body_needle, &self.body_replacement)
    }

    fn is_welcome_on_public(&self, url: &AbsoluteUrl<'_>) -> bool {
        url.is(&self.public) && path_of(url.rest) == "/.ory/ui/welcome"
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

/// Whether an Ory body of this `Content-Type` is text the proxy may rewrite: `text/*` (but not
/// `text/event-stream`, which must stream), JSON, JavaScript, XML and form data.
pub fn is_textual(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    match kind {
        "text" => sub != "event-stream",
        "application" => {
            matches!(
                sub,
                "json"
                    | "javascript"
                    | "x-javascript"
                    | "ecmascript"
                    | "xml"
                    | "xhtml+xml"
                    | "x-www-form-urlencoded"
            ) || sub.ends_with("+json")
                || sub.ends_with("+xml")
        }
        _ => false,
    }
}

/// Whether a `Content-Encoding` value means the body is stored as is.
pub fn is_identity_encoding(content_encoding: Option<&str>) -> bool {
    match content_encoding.map(str::trim) {
        None | Some("") => true,
        Some(e) => e.eq_ignore_ascii_case("identity"),
    }
}

/// Replaces `needle` (a URL without a trailing slash) by `replacement` wherever it stands as a
/// whole origin: a match followed by a host or port character (`http://ory:4433` inside
/// `http://ory:44331`, or `https://ory.example` inside `https://ory.example.evil`) is skipped.
fn replace_origin(body: &[u8], needle: &[u8], replacement: &[u8]) -> Option<Vec<u8>> {
    if needle.is_empty() || body.len() < needle.len() {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + needle.len() <= body.len() {
        let Some(found) = find(&body[i..], needle) else {
            break;
        };
        let start = i + found;
        let end = start + needle.len();
        let continues = body.get(end).is_some_and(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'@')
        });
        if !continues {
            let o = out.get_or_insert_with(|| Vec::with_capacity(body.len() + 256));
            o.extend_from_slice(&body[copied..start]);
            o.extend_from_slice(replacement);
            copied = end;
        }
        i = end;
    }
    let mut o = out?;
    o.extend_from_slice(&body[copied..]);
    Some(o)
}

/// The first index of `needle` in `haystack` (a first-byte scan, then a compare).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last_start {
        let pos = haystack[i..=last_start].iter().position(|&b| b == first)?;
        let at = i + pos;
        if &haystack[at..at + needle.len()] == needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::RawArgs;

    fn rewriter(public: &str, sdk: &str, cookie_domain: Option<&str>) -> Rewriter {
        let raw = RawArgs {
            upstream: Some("http://127.0.0.1:3000".into()),
            public_url: Some(public.into()),
            sdk_url: Some(sdk.into()),
            cookie_domain: cookie_domain.map(str::to_owned),
            default_redirect_url: Some("https://app.example.org/home".into()),
            ..RawArgs::default()
        };
        Rewriter::new(&Config::from_raw(&raw, &|_| None).unwrap())
    }

    fn http() -> Rewriter {
        rewriter(
            "http://localhost:4000",
            "https://slug.projects.oryapis.com",
            None,
        )
    }

    fn https() -> Rewriter {
        rewriter(
            "https://app.example.org",
            "https://slug.projects.oryapis.com",
            Some("example.org:443"),
        )
    }

    #[test]
    fn cookie_domain_removed_or_replaced() {
        assert_eq!(
            http().set_cookie(
                "ory_session_x=abc; Path=/; Domain=slug.projects.oryapis.com; HttpOnly"
            ),
            "ory_session_x=abc; Path=/; HttpOnly"
        );
        assert_eq!(
            https().set_cookie("a=b; Domain=.oryapis.com; Path=/; Secure"),
            "a=b; Domain=example.org; Path=/; Secure"
        );
        // Written even when the cookie had none.
        assert_eq!(
            https().set_cookie("a=b; Path=/"),
            "a=b; Path=/; Domain=example.org; Secure"
        );
        // Never on __Host- cookies.
        assert_eq!(
            https().set_cookie("__Host-x=1; Path=/; Domain=a.org; Secure"),
            "__Host-x=1; Path=/; Secure"
        );
        // Two Domain attributes become one.
        assert_eq!(
            https().set_cookie("a=b; domain=x; DOMAIN=y; Secure"),
            "a=b; Domain=example.org; Secure"
        );
    }

    #[test]
    fn secure_and_samesite_follow_the_public_scheme() {
        assert_eq!(
            http().set_cookie("csrf_token_1=x; Path=/; HttpOnly; Secure; SameSite=None"),
            "csrf_token_1=x; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            http().set_cookie("a=b; secure; samesite=none; Partitioned"),
            "a=b; SameSite=Lax"
        );
        assert_eq!(
            http().set_cookie("a=b; SameSite=Strict; Secure"),
            "a=b; SameSite=Strict"
        );
        assert_eq!(
            https().set_cookie("a=b; SameSite=None; Partitioned"),
            "a=b; SameSite=None; Partitioned; Domain=example.org; Secure"
        );
        assert_eq!(
            https().set_cookie("a=b; Secure; SameSite=Lax; Secure"),
            "a=b; Secure; SameSite=Lax; Domain=example.org"
        );
    }

    #[test]
    fn odd_cookies_pass_through() {
        let r = http();
        // No '=' at all: a nameless cookie in RFC 6265bis terms; kept.
        assert_eq!(r.set_cookie("justavalue"), "justavalue");
        assert_eq!(r.set_cookie("justavalue; Secure"), "justavalue");
        // Quoted, empty, and '=' inside values.
        assert_eq!(r.set_cookie("q=\"a b,c\"; Path=/"), "q=\"a b,c\"; Path=/");
        assert_eq!(r.set_cookie("empty=; Max-Age=0"), "empty=; Max-Age=0");
        assert_eq!(r.set_cookie("=novalue"), "=novalue");
        assert_eq!(r.set_cookie("b64=YQ==; Path=/"), "b64=YQ==; Path=/");
        // Expires with a comma, unknown attributes, odd spacing, empty segments.
        assert_eq!(
            r.set_cookie("id=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Priority=High;X-Odd ;;"),
            "id=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Priority=High;X-Odd ;;"
        );
        assert_eq!(r.set_cookie(""), "");
        assert_eq!(r.set_cookie(";;;"), ";;;");
        assert_eq!(r.set_cookie("a=b; Domain"), "a=b");
        assert_eq!(r.set_cookie("a=b; SameSite"), "a=b; SameSite");
        assert_eq!(r.set_cookie("ü=ö; Path=/"), "ü=ö; Path=/");
    }

    #[test]
    fn ory_locations() {
        let r = http();
        assert_eq!(
            r.ory_location("https://slug.projects.oryapis.com/ui/login?flow=1#x")
                .as_deref(),
            Some("http://localhost:4000/.ory/ui/login?flow=1#x")
        );
        assert_eq!(
            r.ory_location("HTTPS://SLUG.projects.oryapis.com:443")
                .as_deref(),
            Some("http://localhost:4000/.ory")
        );
        assert_eq!(
            r.ory_location("/self-service/login/browser").as_deref(),
            Some("http://localhost:4000/.ory/self-service/login/browser")
        );
        assert_eq!(
            r.ory_location("https://slug.projects.oryapis.com/ui/welcome?x=1")
                .as_deref(),
            Some("https://app.example.org/home")
        );
        assert_eq!(
            r.ory_location("http://localhost:4000/.ory/ui/welcome")
                .as_deref(),
            Some("https://app.example.org/home")
        );
        assert_eq!(
            r.ory_location("/ui/welcome").as_deref(),
            Some("https://app.example.org/home")
        );
        for untouched in [
            "https://elsewhere.example/ui/login",
            "https://slug.projects.oryapis.com:8443/x",
            "http://slug.projects.oryapis.com/x",
            "https://user@slug.projects.oryapis.com/x",
            "http://localhost:4000/.ory/ui/login",
            "relative/path",
            "//elsewhere.example/x",
            "mailto:a@b",
            "",
            "https://[::1/x",
            "https://slug.projects.oryapis.com:99999/x",
        ] {
            assert_eq!(r.ory_location(untouched), None, "{untouched}");
        }
        assert_eq!(
            r.ory_location("//slug.projects.oryapis.com/a").as_deref(),
            Some("http://localhost:4000/.ory/a")
        );
    }

    #[test]
    fn ory_locations_with_an_sdk_path_prefix() {
        let r = rewriter(
            "http://localhost:4000",
            "http://127.0.0.1:4433/kratos/",
            None,
        );
        assert_eq!(
            r.ory_location("http://127.0.0.1:4433/kratos/self-service/x?a")
                .as_deref(),
            Some("http://localhost:4000/.ory/self-service/x?a")
        );
        assert_eq!(
            r.ory_location("/kratos/ui/welcome").as_deref(),
            Some("https://app.example.org/home")
        );
        assert_eq!(
            r.ory_location("/kratosx").as_deref(),
            Some("http://localhost:4000/.ory/kratosx")
        );
        assert_eq!(
            r.body(b"see http://127.0.0.1:4433/kratos/ui and http://127.0.0.1:4433/other")
                .unwrap(),
            b"see http://localhost:4000/.ory/ui and http://127.0.0.1:4433/other"
        );
    }

    #[test]
    fn upstream_locations() {
        let r = http();
        assert_eq!(
            r.upstream_location("http://127.0.0.1:3000/dashboard?tab=1")
                .as_deref(),
            Some("http://localhost:4000/dashboard?tab=1")
        );
        assert_eq!(
            r.upstream_location("http://127.0.0.1:3000").as_deref(),
            Some("http://localhost:4000")
        );
        assert_eq!(
            r.upstream_location("/.ory/ui/welcome").as_deref(),
            Some("https://app.example.org/home")
        );
        for untouched in [
            "/dashboard",
            "https://slug.projects.oryapis.com/ui/login",
            "http://127.0.0.1:3001/x",
            "https://127.0.0.1:3000/x",
            "http://localhost:4000/x",
        ] {
            assert_eq!(r.upstream_location(untouched), None, "{untouched}");
        }
    }

    #[test]
    fn bodies() {
        let r = http();
        let body = br#"{"ui":{"action":"https://slug.projects.oryapis.com/self-service/login?flow=1"},"x":"https://slug.projects.oryapis.com"}"#;
        assert_eq!(
            r.body(body).unwrap(),
            br#"{"ui":{"action":"http://localhost:4000/.ory/self-service/login?flow=1"},"x":"http://localhost:4000/.ory"}"#
        );
        assert_eq!(r.body(b"nothing here"), None);
        assert_eq!(r.body(b""), None);
        // Look-alike origins stay.
        let look = b"https://slug.projects.oryapis.com.evil.org https://slug.projects.oryapis.com:8443 https://slug.projects.oryapis.comx";
        assert_eq!(r.body(look), None);
        // Adjacent and overlapping matches, and a match at the very end.
        let n = "https://slug.projects.oryapis.com";
        let two = format!("{n}{n}/{n}");
        assert_eq!(
            String::from_utf8(r.body(two.as_bytes()).unwrap()).unwrap(),
            format!("{n}http://localhost:4000/.ory/http://localhost:4000/.ory")
        );
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A deterministic generator over an alphabet full of the characters the parsers split on.
        let alphabet: Vec<char> = "=;,: /?#@[]\"*.-_aZ09%\u{e9}\u{1F600}\t".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let rewriters = [http(), https()];
        let prefixes = [
            "",
            "https://slug.projects.oryapis.com",
            "http://127.0.0.1:3000",
            "//",
            "/",
        ];
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let tail: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let input = format!("{}{tail}", prefixes[(next() % 5) as usize]);
            for r in &rewriters {
                let cookie = r.set_cookie(&input);
                let pair = input.split(';').next().unwrap_or_default();
                assert!(cookie.starts_with(pair), "{input:?} -> {cookie:?}");
                let _ = r.ory_location(&input);
                let _ = r.upstream_location(&input);
                let _ = r.body(input.as_bytes());
            }
            let _ = is_textual(&input);
        }
    }

    #[test]
    fn textual_types() {
        for t in [
            "text/html; charset=utf-8",
            "TEXT/PLAIN",
            "application/json",
            "application/problem+json",
            "application/javascript",
            "application/xml",
            "application/atom+xml",
            "application/x-www-form-urlencoded",
        ] {
            assert!(is_textual(t), "{t}");
        }
        for t in [
            "image/png",
            "application/octet-stream",
            "text/event-stream",
            "",
            "json",
            "font/woff2",
        ] {
            assert!(!is_textual(t), "{t}");
        }
        assert!(is_identity_encoding(None));
        assert!(is_identity_encoding(Some("identity")));
        assert!(!is_identity_encoding(Some("gzip")));
    }
}
