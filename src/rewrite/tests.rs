//! Tests of the rewriting rules: Set-Cookie, Location (proxy and tunnel mode) and Ory bodies.

use super::*;
use crate::config::{Config, RawArgs};
use crate::rewrite::body::is_textual;

fn of_config(config: &Config) -> Rewriter {
    Rewriter::new(&Places {
        public: &config.public,
        sdk: &config.sdk,
        sdk_path: &config.sdk_path,
        upstream: &config.upstream,
        ory_prefix: config.ory_prefix(),
        default_redirect_url: &config.default_redirect_url,
        cookie_domain: config.cookie_domain.as_deref(),
    })
}

fn rewriter(public: &str, sdk: &str, cookie_domain: Option<&str>) -> Rewriter {
    let raw = RawArgs {
        upstream: Some("http://127.0.0.1:3000".into()),
        public_url: Some(public.into()),
        sdk_url: Some(sdk.into()),
        cookie_domain: cookie_domain.map(str::to_owned),
        default_redirect_url: Some("https://app.example.org/home".into()),
        ..RawArgs::default()
    };
    of_config(&Config::from_raw(&raw, &|_| None).unwrap())
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
        http().set_cookie("ory_session_x=abc; Path=/; Domain=slug.projects.oryapis.com; HttpOnly"),
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
fn tunnel_mode_has_no_ory_prefix() {
    let raw = RawArgs {
        tunnel: true,
        upstream: Some("http://localhost:3000".into()),
        public_url: Some("http://localhost:4000".into()),
        sdk_url: Some("https://slug.projects.oryapis.com".into()),
        ..RawArgs::default()
    };
    let r = of_config(&Config::from_raw(&raw, &|_| None).unwrap());
    assert_eq!(
        r.ory_location("https://slug.projects.oryapis.com/ui/login?flow=1")
            .as_deref(),
        Some("http://localhost:4000/ui/login?flow=1")
    );
    assert_eq!(
        r.ory_location("/self-service/login/browser").as_deref(),
        Some("http://localhost:4000/self-service/login/browser")
    );
    for welcome in [
        "https://slug.projects.oryapis.com/ui/welcome",
        "http://localhost:4000/ui/welcome?x",
        "/ui/welcome",
    ] {
        assert_eq!(
            r.ory_location(welcome).as_deref(),
            Some("http://localhost:3000"),
            "{welcome}"
        );
    }
    assert_eq!(
        r.ory_location("http://localhost:4000/.ory/ui/welcome"),
        None
    );
    assert_eq!(
        r.body(b"\"https://slug.projects.oryapis.com/self-service\"")
            .unwrap(),
        b"\"http://localhost:4000/self-service\""
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
