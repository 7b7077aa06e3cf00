//! Where requests go (SPEC §2): `/.ory` stripped with the target otherwise byte for byte,
//! lookalikes to the upstream, the proxy's own `/.ory/proxy/` namespace.

use crate::util::client::{get, raw_exchange, RawResponse};
use crate::util::Stack;
use crate::util::{Action, FakeOry, ProxyProcess, Reply, Upstream};

fn setup(extra: &[&str]) -> Stack {
    // Everything but whoami answers 200, so the routing is all that matters.
    Stack::start_with(extra, |ory| {
        ory.set_hook(|r| {
            (r.path() != "/sessions/whoami")
                .then(|| Action::Reply(Reply::new(200).body("from ory")))
        })
    })
}

/// Sends a raw `GET <target>` and returns the status.
fn raw_get(s: &Stack, target: &str) -> u16 {
    let req = format!("GET {target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
    RawResponse::parse(&raw_exchange(s.proxy.addr, req.as_bytes())).status
}

#[test]
fn ory_prefix_is_stripped_and_the_rest_is_kept_byte_for_byte() {
    let s = setup(&[]);
    for (sent, expected) in [
        (
            "/.ory/self-service/login/browser?x=1&y=%2F",
            "/self-service/login/browser?x=1&y=%2F",
        ),
        ("/.ory", "/"),
        ("/.ory/", "/"),
        ("/.ory?a=b", "/?a=b"),
        (
            "/.ory/a%2Fb/%2e%2ex/c?q=%20+x&&",
            "/a%2Fb/%2e%2ex/c?q=%20+x&&",
        ),
        ("/.ory/ui/login?flow=a/b?c", "/ui/login?flow=a/b?c"),
    ] {
        s.ory.clear_requests();
        assert_eq!(raw_get(&s, sent), 200, "{sent}");
        let got = s.ory.forwarded_requests();
        assert_eq!(got.len(), 1, "{sent}");
        assert_eq!(got[0].target, expected, "{sent}");
    }
    assert_eq!(s.upstream.request_count(), 0);
}

#[test]
fn lookalikes_and_everything_else_go_upstream_unchanged() {
    let s = setup(&[]);
    for target in [
        "/.oryx",
        "/.oryx/self-service",
        "/x/.ory/a",
        "/.ORY/a",
        "/",
        "/search?q=a%20b&x=%2F&&y",
        "/a%2Fb/.x/c;p=1",
        "/x?a=/../..",
        "/?/.ory",
    ] {
        s.upstream.clear_requests();
        assert_eq!(raw_get(&s, target), 200, "{target}");
        assert_eq!(s.upstream.last_request().target, target);
    }
    assert!(s.ory.forwarded_requests().is_empty());
}

#[test]
fn a_dot_segment_is_400_on_every_route() {
    let s = setup(&[]);
    for target in [
        "/a/../b",
        "/./a",
        "/a/%2e%2E",
        "/a%2F..",
        "/a\\..\\b",
        "/a/..;x/b",
        "/.ory/self-service/../sessions/whoami",
        "/.ory/%2e/x",
        "/.ory/proxy/../jwks.json",
        "/.ory/proxy/health/alive/..",
        "http://app.test/a/../b",
    ] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
        let r = RawResponse::parse(&raw_exchange(s.proxy.addr, req.as_bytes()));
        assert_eq!(r.status, 400, "{target}");
        let body = r.text();
        assert!(
            body.contains(r#""message":"bad request: request target has a dot-segment"#),
            "{body}"
        );
    }
    assert_eq!(s.upstream.request_count(), 0);
    assert!(s.ory.forwarded_requests().is_empty());
    s.proxy
        .wait_for_log(|l| l.contains("/a/%2e%2E") && l.contains("dot-segment"));
}

#[test]
fn methods_and_bodies_reach_ory() {
    let s = setup(&[]);
    let r = crate::util::Req::post(&s.proxy.url("/.ory/self-service/login?flow=1"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("identifier=a%40b&password=x")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "from ory");
    let got = s.ory.last_request();
    assert_eq!(got.method, "POST");
    assert_eq!(got.target, "/self-service/login?flow=1");
    assert_eq!(got.body, b"identifier=a%40b&password=x");
    // A POST to the JWKS path is not the proxy's: it goes to Ory.
    let r = crate::util::Req::post(&s.proxy.url("/.ory/jwks.json"))
        .body("x")
        .send();
    assert_eq!(r.text(), "from ory");
    assert_eq!(s.ory.last_request().target, "/jwks.json");
}

#[test]
fn proxy_namespace_is_never_forwarded() {
    let s = setup(&[]);
    for path in [
        "/.ory/proxy",
        "/.ory/proxy/",
        "/.ory/proxy/metrics",
        "/.ory/proxy/jwks.json/x",
    ] {
        let r = get(&s.proxy.url(path), &[]);
        r.assert_proxy_error(404);
    }
    // SPEC §2: the proxy serves GET/HEAD of its jwks.json; any other request under
    // /.ory/proxy/ is one it does not serve, and those answer 404 from the proxy.
    for method in ["POST", "PUT", "DELETE"] {
        let r = crate::util::Req::new(method, &s.proxy.url("/.ory/proxy/jwks.json"))
            .body("x")
            .send();
        r.assert_proxy_error(404);
    }
    assert!(s.ory.forwarded_requests().is_empty());
    assert_eq!(s.upstream.request_count(), 0);
}

#[test]
fn absolute_form_targets_are_routed_by_their_path() {
    let s = setup(&[]);
    assert_eq!(raw_get(&s, "http://app.test/page?x=1"), 200);
    assert_eq!(s.upstream.last_request().target, "/page?x=1");
    assert_eq!(raw_get(&s, "http://app.test/.ory/ui/login"), 200);
    assert_eq!(s.ory.last_request().target, "/ui/login");
}

#[test]
fn unroutable_targets_get_a_json_400() {
    let s = setup(&[]);
    let req = b"OPTIONS * HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n";
    let r = RawResponse::parse(&raw_exchange(s.proxy.addr, req));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], 400);
    assert_eq!(s.upstream.request_count(), 0);
}

#[test]
fn sdk_url_with_a_path_prefix() {
    let ory = FakeOry::start();
    // The fake serves under /kratos only; anything else is its 404.
    ory.set_hook(|r| {
        let mut inner = r.clone();
        inner.target = r.target.strip_prefix("/kratos")?.to_owned();
        if inner.path() == "/sessions/whoami" {
            let body = crate::util::ory::UNAUTHORIZED_BODY;
            return Some(Reply::new(401).body(body).into());
        }
        Some(
            Reply::new(200)
                .body(format!("ory saw {}", inner.target))
                .into(),
        )
    });
    let upstream = Upstream::start();
    let sdk = format!("{}/kratos/", ory.url());
    let proxy = ProxyProcess::start(&upstream.url(), &sdk, &[]);
    let r = get(&proxy.url("/.ory/ui/login?flow=1"), &[]);
    assert_eq!(r.text(), "ory saw /ui/login?flow=1");
    assert_eq!(ory.last_request().target, "/kratos/ui/login?flow=1");

    // Lookups go to <sdk-url>/sessions/whoami.
    let r = get(&proxy.url("/app"), &[("X-Session-Token", "t")]);
    assert_eq!(
        r.status,
        200,
        "401 under the prefix means anonymous: {}",
        r.text()
    );
    let w = ory.whoami_requests();
    assert!(w.is_empty(), "whoami asked without the prefix: {w:?}");
    let asked: Vec<String> = ory.requests().iter().map(|r| r.target.clone()).collect();
    assert!(
        asked.contains(&"/kratos/sessions/whoami".to_owned()),
        "{asked:?}"
    );
}

#[test]
fn issuer_has_no_trailing_slash() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &format!("{}/", ory.url()), &[]);
    let session = ory.create_session("iss@example.org");
    let r = get(&proxy.url("/"), &[("Cookie", &session.cookie())]);
    assert_eq!(r.status, 200);
    let token = crate::util::proxy::bearer_of(&upstream.last_request()).expect("token");
    let claims = crate::util::jwt::verify(&proxy, &token).claims;
    assert_eq!(claims["iss"], ory.url());
}
