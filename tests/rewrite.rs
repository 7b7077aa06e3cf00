//! SPEC §4 rewriting, end to end: `Set-Cookie` from Ory, the upstream and the session lookup,
//! `Location` from both, and Ory bodies (textual rewritten, binary/compressed/large untouched).

use crate::util::{proxy::bearer_of, Action, FakeOry, ProxyProcess, Reply, Req, Upstream};

/// The cookies the fakes send in every cookie test: ordinary, odd and hostile.
const COOKIES: &[&str] = &[
    "ory_kratos_session=abc; Path=/; Domain=127.0.0.1; HttpOnly; Secure; SameSite=None",
    "plain=1",
    "novalue",
    "quoted=\"a,b c\"; Path=/x",
    "empty=; Max-Age=0",
    "dated=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Priority=High; X-Unknown=yes",
    "__Host-h=1; Path=/; Secure",
];

/// What [`COOKIES`] must become behind an http public URL without `--cookie-domain`.
const COOKIES_HTTP: &[&str] = &[
    "ory_kratos_session=abc; Path=/; HttpOnly; SameSite=Lax",
    "plain=1",
    "novalue",
    "quoted=\"a,b c\"; Path=/x",
    "empty=; Max-Age=0",
    "dated=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Priority=High; X-Unknown=yes",
    "__Host-h=1; Path=/",
];

/// What [`COOKIES`] must become behind `https://app.example.org` with
/// `--cookie-domain example.org:8443`.
const COOKIES_HTTPS: &[&str] = &[
    "ory_kratos_session=abc; Path=/; Domain=example.org; HttpOnly; Secure; SameSite=None",
    "plain=1; Domain=example.org; Secure",
    "novalue; Domain=example.org; Secure",
    "quoted=\"a,b c\"; Path=/x; Domain=example.org; Secure",
    "empty=; Max-Age=0; Domain=example.org; Secure",
    "dated=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Priority=High; X-Unknown=yes; Domain=example.org; Secure",
    "__Host-h=1; Path=/; Secure",
];

fn with_cookies(reply: Reply) -> Reply {
    COOKIES.iter().fold(reply, |r, c| r.header("Set-Cookie", c))
}

#[test]
fn ory_and_upstream_cookies_are_rewritten_in_order_as_separate_headers() {
    let ory = FakeOry::start();
    ory.set_hook(|r| (r.path() == "/cookies").then(|| with_cookies(Reply::new(200)).into()));
    let upstream = Upstream::with(|_| Some(with_cookies(Reply::new(200).body("ok")).into()));
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);

    let r = Req::get(&proxy.url("/.ory/cookies")).send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header_all("set-cookie"), COOKIES_HTTP);

    let r = Req::get(&proxy.url("/app")).send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header_all("set-cookie"), COOKIES_HTTP);
}

#[test]
fn https_public_url_with_cookie_domain() {
    let ory = FakeOry::start();
    ory.set_hook(|r| (r.path() == "/cookies").then(|| with_cookies(Reply::new(204)).into()));
    let upstream = Upstream::with(|_| Some(with_cookies(Reply::new(200)).into()));
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &[
            "https://app.example.org",
            "--cookie-domain",
            "example.org:8443",
        ],
    );
    let r = Req::get(&proxy.url("/.ory/cookies")).send();
    assert_eq!(r.status, 204);
    assert_eq!(r.header_all("set-cookie"), COOKIES_HTTPS);
    let r = Req::get(&proxy.url("/x")).send();
    assert_eq!(r.header_all("set-cookie"), COOKIES_HTTPS);
}

#[test]
fn session_refresh_cookies_from_whoami_are_rewritten() {
    let ory = FakeOry::start();
    ory.set_whoami_cookies(&[
        "ory_kratos_session=refreshed; Path=/; Domain=127.0.0.1; Secure; SameSite=None; HttpOnly",
    ]);
    let upstream = Upstream::with(|_| {
        Some(
            Reply::new(200)
                .header("Set-Cookie", "app=1; Domain=127.0.0.1")
                .into(),
        )
    });
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let session = ory.create_session("refresh@example.org");
    let r = Req::get(&proxy.url("/page"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200);
    assert!(bearer_of(&upstream.last_request()).is_some());
    assert_eq!(
        r.header_all("set-cookie"),
        [
            "app=1",
            "ory_kratos_session=refreshed; Path=/; SameSite=Lax; HttpOnly"
        ]
    );
}

#[test]
fn locations_from_ory_and_upstream() {
    let ory = FakeOry::start();
    let sdk = ory.url();
    let sdk_in_hook = sdk.clone();
    ory.set_hook(move |r| {
        let to = match r.path() {
            "/abs" => format!("{sdk_in_hook}/ui/login?flow=1#frag"),
            "/path" => "/ui/settings?x=%2F".to_owned(),
            "/welcome" => format!("{sdk_in_hook}/ui/welcome?flow=9"),
            "/foreign" => "https://elsewhere.example/a?b".to_owned(),
            _ => return None,
        };
        Some(Reply::new(303).header("Location", &to).into())
    });
    let upstream = Upstream::start();
    let up = upstream.url();
    upstream.set_hook(move |r| {
        let to = match r.path() {
            "/abs" => format!("{up}/dashboard?tab=2"),
            "/path" => "/relative?x".to_owned(),
            "/ory" => format!("{sdk}/ui/login"),
            "/welcome" => "/.ory/ui/welcome".to_owned(),
            _ => return None,
        };
        Some(Reply::new(302).header("Location", &to).into())
    });
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--default-redirect-url", "https://app.example.org/home"],
    );
    let public = format!("http://{}", proxy.public_authority());
    let location = |path: &str| {
        let r = Req::get(&proxy.url(path)).send();
        assert!(r.status == 302 || r.status == 303, "{path}: {}", r.status);
        r.header("location").unwrap_or_default().to_owned()
    };
    assert_eq!(
        location("/.ory/abs"),
        format!("{public}/.ory/ui/login?flow=1#frag")
    );
    assert_eq!(
        location("/.ory/path"),
        format!("{public}/.ory/ui/settings?x=%2F")
    );
    assert_eq!(location("/.ory/welcome"), "https://app.example.org/home");
    assert_eq!(location("/.ory/foreign"), "https://elsewhere.example/a?b");
    assert_eq!(location("/abs"), format!("{public}/dashboard?tab=2"));
    assert_eq!(location("/path"), "/relative?x");
    // The upstream naming Ory's own origin is the application's business: untouched.
    assert_eq!(location("/ory"), format!("{}/ui/login", ory.url()));
    assert_eq!(location("/welcome"), "https://app.example.org/home");
}

#[test]
fn textual_ory_bodies_are_rewritten_with_a_new_length() {
    let ory = FakeOry::start();
    let sdk = ory.url();
    let s = sdk.clone();
    ory.set_hook(move |r| {
        let body = format!(
            "{{\"action\":\"{s}/self-service/login?flow=1\",\"base\":\"{s}\",\"other\":\"{s}0/x\"}}"
        );
        match r.path() {
            "/json" => Some(
                Reply::new(200)
                    .header("Content-Type", "application/json; charset=utf-8")
                    .body(body)
                    .into(),
            ),
            "/chunked" => Some(
                Reply::new(200)
                    .header("Content-Type", "text/html")
                    .chunked(
                        vec![
                            format!("<a href=\"{s}").into_bytes(),
                            b"/ui/login\">in</a>".to_vec(),
                        ],
                        std::time::Duration::ZERO,
                    )
                    .into(),
            ),
            _ => None,
        }
    });
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let public = format!("http://{}", proxy.public_authority());

    let r = Req::get(&proxy.url("/.ory/json")).send();
    assert_eq!(r.status, 200);
    let want = format!(
        "{{\"action\":\"{public}/.ory/self-service/login?flow=1\",\"base\":\"{public}/.ory\",\"other\":\"{sdk}0/x\"}}"
    );
    assert_eq!(r.text(), want);
    assert_eq!(
        r.header("content-length"),
        Some(want.len().to_string().as_str())
    );
    // Ory was asked for an uncompressed body.
    assert_eq!(
        ory.forwarded_requests()[0].header("accept-encoding"),
        Some("identity")
    );

    // A chunked body whose match spans two chunks is buffered and rewritten as a whole.
    let r = Req::get(&proxy.url("/.ory/chunked")).send();
    assert_eq!(
        r.text(),
        format!("<a href=\"{public}/.ory/ui/login\">in</a>")
    );
    assert_eq!(r.header("transfer-encoding"), None);

    // HEAD: no body, and no stale length.
    let r = Req::new("HEAD", &proxy.url("/.ory/json")).send();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), None);
}

#[test]
fn binary_compressed_large_and_upstream_bodies_pass_byte_for_byte() {
    let ory = FakeOry::start();
    let sdk = ory.url();
    // Bytes that are not UTF-8 around the SDK origin.
    let mut binary = vec![0u8, 0xff, 0xfe, 0x80];
    binary.extend_from_slice(sdk.as_bytes());
    binary.extend_from_slice(&[0xc3, 0x28, 0, 1, 2]);
    binary.extend_from_slice(sdk.as_bytes());
    let text = format!("see {sdk}/ui/login");
    let mut large = format!("{sdk}/start ").into_bytes();
    large.resize(16 * 1024 * 1024 + 10, b'a');
    large.extend_from_slice(sdk.as_bytes());

    let (b, t, l) = (binary.clone(), text.clone(), large.clone());
    ory.set_hook(move |r| {
        let reply = match r.path() {
            "/binary" => Reply::new(200)
                .header("Content-Type", "application/octet-stream")
                .body(b.clone()),
            "/untyped" => Reply::new(200).body(b.clone()),
            "/gzip" => Reply::new(200)
                .header("Content-Type", "text/plain")
                .header("Content-Encoding", "gzip")
                .body(t.clone()),
            "/large" => Reply::new(200)
                .header("Content-Type", "text/plain")
                .body(l.clone()),
            "/large-chunked" => Reply::new(200)
                .header("Content-Type", "application/json")
                .chunked(
                    l.chunks(1 << 20).map(<[u8]>::to_vec).collect(),
                    std::time::Duration::ZERO,
                ),
            _ => return None,
        };
        Some(reply.into())
    });
    let t = text.clone();
    let upstream = Upstream::with(move |_| {
        Some(
            Reply::new(200)
                .header("Content-Type", "text/html")
                .body(t.clone())
                .into(),
        )
    });
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);

    for path in ["/.ory/binary", "/.ory/untyped"] {
        let r = Req::get(&proxy.url(path)).send();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, binary, "{path}");
        assert_eq!(
            r.header("content-length"),
            Some(binary.len().to_string().as_str())
        );
    }
    let r = Req::get(&proxy.url("/.ory/gzip")).send();
    assert_eq!(r.body, text.as_bytes());
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    for path in ["/.ory/large", "/.ory/large-chunked"] {
        let r = Req::get(&proxy.url(path)).send();
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.body == large,
            "{path}: a body over 16 MiB must stream untouched"
        );
    }
    let r = Req::get(&proxy.url("/page")).send();
    assert_eq!(r.text(), text, "upstream bodies are never rewritten");
}

#[test]
fn odd_set_cookie_bytes_never_break_the_response() {
    // A cookie value with UTF-8 passes byte for byte; the rest of the answer is intact.
    let upstream = Upstream::with(|_| {
        Some(Action::Reply(
            Reply::new(200)
                .header("Set-Cookie", "name=caf\u{e9}; Path=/; Domain=x")
                .header("Set-Cookie", ";;; ; =")
                .body("body"),
        ))
    });
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let r = Req::get(&proxy.url("/")).send();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "body");
    assert_eq!(
        r.header_all("set-cookie"),
        ["name=caf\u{e9}; Path=/", ";;; ; ="]
    );
}
