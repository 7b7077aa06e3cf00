//! The headers Ory and the upstream receive, and the response headers the client gets
//! (SPEC §3): hop-by-hop removed both ways, `X-Forwarded-*` set by the proxy, Ory's control
//! headers set only by the proxy, `Host` per destination, `Accept-Encoding: identity` to Ory.

use crate::util::client::{raw_exchange, RawResponse};
use crate::util::{Action, FakeOry, ProxyProcess, Recorded, Reply, Upstream};

struct Setup {
    ory: FakeOry,
    upstream: Upstream,
    proxy: ProxyProcess,
}

fn setup(extra: &[&str], env: &[(&str, &str)]) -> Setup {
    let ory = FakeOry::start();
    ory.set_hook(|r| {
        (r.path() != "/sessions/whoami").then(|| Action::Reply(Reply::new(200).body("ory")))
    });
    let upstream = Upstream::start();
    let mut args = vec![upstream.url(), "--sdk-url".into(), ory.url()];
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = ProxyProcess::start_args(&args, env);
    Setup {
        ory,
        upstream,
        proxy,
    }
}

/// A request full of headers a client must not be able to pass on.
fn hostile_request(target: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\n\
         Host: app.example.org\r\n\
         Connection: close, X-Conn-Named\r\n\
         X-Conn-Named: secret\r\n\
         Keep-Alive: timeout=5\r\n\
         Proxy-Connection: keep-alive\r\n\
         Proxy-Authorization: Basic cHJveHk6cHc=\r\n\
         TE: trailers\r\n\
         Upgrade: h2c\r\n\
         X-Forwarded-For: 6.6.6.6\r\n\
         X-Forwarded-Proto: https\r\n\
         X-Forwarded-Host: evil.example\r\n\
         Forwarded: for=6.6.6.6\r\n\
         Ory-Base-URL-Rewrite: https://evil.example\r\n\
         Ory-Base-URL-Rewrite-Token: stolen\r\n\
         Ory-No-Custom-Domain-Redirect: false\r\n\
         Ory-RateLimit-Action: skip\r\n\
         Accept-Encoding: gzip, br\r\n\
         X-Multi: one\r\n\
         X-Multi: two\r\n\
         X-Session-Token: tok\r\n\
         Cookie: a=1\r\n\
         Authorization: Basic dXNlcjpwdw==\r\n\
         \r\n"
    )
    .into_bytes()
}

fn assert_absent(req: &Recorded, names: &[&str]) {
    for n in names {
        assert!(
            !req.has_header(n),
            "{n} must not arrive: {:#?}",
            req.headers
        );
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "x-conn-named",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "upgrade",
    "forwarded",
    "transfer-encoding",
];

#[test]
fn upstream_headers() {
    let s = setup(&[], &[]);
    let r = RawResponse::parse(&raw_exchange(s.proxy.addr, &hostile_request("/page")));
    assert_eq!(r.status, 200);
    let req = s.upstream.last_request();
    assert_absent(&req, HOP_BY_HOP);
    assert_absent(
        &req,
        &[
            "ory-base-url-rewrite",
            "ory-base-url-rewrite-token",
            "ory-no-custom-domain-redirect",
            "ory-ratelimit-action",
        ],
    );
    assert_eq!(req.header_all("host"), ["app.example.org"]);
    assert_eq!(req.header_all("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(req.header_all("x-forwarded-proto"), ["http"]);
    assert_eq!(req.header_all("x-forwarded-host"), ["app.example.org"]);
    assert_eq!(
        req.header_all("x-multi"),
        ["one", "two"],
        "order and duplicates kept"
    );
    assert_eq!(
        req.header("accept-encoding"),
        Some("gzip, br"),
        "untouched upstream"
    );
    assert_eq!(req.header("cookie"), Some("a=1"));
    // `X-Session-Token: tok` made a lookup (401), so the request is anonymous: no Authorization.
    assert!(!req.has_header("authorization"));
    assert_eq!(s.ory.whoami_calls(), 1);
}

#[test]
fn ory_headers() {
    let s = setup(&[], &[("ORY_PROJECT_API_KEY", "ory_pat_test")]);
    let r = RawResponse::parse(&raw_exchange(
        s.proxy.addr,
        &hostile_request("/.ory/self-service/login/browser"),
    ));
    assert_eq!(r.status, 200);
    let req = s.ory.last_request();
    assert_eq!(req.target, "/self-service/login/browser");
    assert_absent(&req, HOP_BY_HOP);
    assert_absent(&req, &["ory-ratelimit-action"]);
    assert_eq!(req.header_all("host"), [s.ory.authority().as_str()]);
    assert_eq!(req.header_all("ory-no-custom-domain-redirect"), ["true"]);
    let public = format!("http://{}", s.proxy.public_authority());
    assert_eq!(
        req.header_all("ory-base-url-rewrite"),
        [format!("{public}/.ory").as_str()]
    );
    assert_eq!(
        req.header_all("ory-base-url-rewrite-token"),
        ["ory_pat_test"]
    );
    assert_eq!(req.header_all("accept-encoding"), ["identity"]);
    assert_eq!(req.header_all("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(req.header_all("x-forwarded-proto"), ["http"]);
    assert_eq!(req.header_all("x-forwarded-host"), ["app.example.org"]);
    // Credentials pass to Ory untouched, and the proxy made no lookup for an Ory request.
    assert_eq!(req.header("authorization"), Some("Basic dXNlcjpwdw=="));
    assert_eq!(req.header("x-session-token"), Some("tok"));
    assert_eq!(req.header("cookie"), Some("a=1"));
    assert_eq!(s.ory.whoami_calls(), 0);
}

#[test]
fn no_rewrite_token_without_the_variable_and_https_public_url() {
    let s = setup(&["https://app.example.org"], &[]);
    let r = RawResponse::parse(&raw_exchange(s.proxy.addr, &hostile_request("/.ory/x")));
    assert_eq!(r.status, 200);
    let req = s.ory.last_request();
    assert_absent(&req, &["ory-base-url-rewrite-token"]);
    assert_eq!(
        req.header_all("ory-base-url-rewrite"),
        ["https://app.example.org/.ory"]
    );
    assert_eq!(req.header_all("x-forwarded-proto"), ["https"]);
    raw_exchange(s.proxy.addr, &hostile_request("/app"));
    assert_eq!(
        s.upstream.last_request().header_all("x-forwarded-proto"),
        ["https"]
    );
}

#[test]
fn rewrite_host_sends_the_upstream_host() {
    let s = setup(&["--rewrite-host"], &[]);
    raw_exchange(s.proxy.addr, &hostile_request("/"));
    let req = s.upstream.last_request();
    assert_eq!(
        req.header_all("host"),
        [s.upstream.addr().to_string().as_str()]
    );
    assert_eq!(req.header_all("x-forwarded-host"), ["app.example.org"]);
}

#[test]
fn response_hop_by_hop_headers_are_removed() {
    let s = setup(&[], &[]);
    s.upstream.always(
        Reply::new(200)
            .header("Connection", "X-Internal")
            .header("X-Internal", "secret")
            .header("Keep-Alive", "timeout=5")
            .header("Proxy-Authenticate", "Basic")
            .header("Upgrade", "h2c")
            .header("Trailer", "X-Checksum")
            .header("X-App", "1")
            .header("X-App", "2")
            .header("Cache-Control", "no-store")
            .body("hello"),
    );
    let req = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let r = RawResponse::parse(&raw_exchange(s.proxy.addr, req));
    assert_eq!(r.status, 200);
    for h in [
        "x-internal",
        "keep-alive",
        "proxy-authenticate",
        "upgrade",
        "trailer",
    ] {
        assert!(r.header(h).is_none(), "{h}: {:?}", r.headers);
    }
    let apps: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-app"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(apps, ["1", "2"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-length"), Some("5"));
    assert_eq!(r.body, b"hello");
}

#[test]
fn http_1_0_request_without_host_uses_the_public_authority() {
    let s = setup(&[], &[]);
    let r = RawResponse::parse(&raw_exchange(s.proxy.addr, b"GET /old HTTP/1.0\r\n\r\n"));
    assert_eq!(r.status, 200);
    let req = s.upstream.last_request();
    let public = s.proxy.public_authority();
    assert_eq!(req.header_all("host"), [public.as_str()]);
    assert_eq!(req.header_all("x-forwarded-host"), [public.as_str()]);
}
