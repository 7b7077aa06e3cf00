//! Every way the session lookup can go, and what the client and the upstream see (SPEC §5):
//! 401/403/inactive → anonymous; 429 → 429 with Ory's `Retry-After`, not forwarded; anything
//! else → one retry, then 502, not forwarded anonymously.

use crate::util::proxy::bearer_of;
use crate::util::upstream::dead_url;
use crate::util::{jwt, FakeOry, ProxyProcess, Req, Resp, TestSession, Upstream, Whoami};
use std::time::Duration;

struct Setup {
    ory: FakeOry,
    upstream: Upstream,
    proxy: ProxyProcess,
    session: TestSession,
}

fn setup() -> Setup {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--session-cache-ttl", "0"]);
    let session = ory.create_session("whoami@example.org");
    Setup {
        ory,
        upstream,
        proxy,
        session,
    }
}

fn signed_in_get(s: &Setup, path: &str) -> Resp {
    Req::get(&s.proxy.url(path))
        .header("Cookie", &s.session.cookie())
        .send()
}

/// Asserts the request went through anonymously (no token).
fn assert_forwarded_anonymously(s: &Setup, r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = s.upstream.last_request();
    assert!(!seen.has_header("authorization"), "{:?}", seen.headers);
}

#[test]
fn whoami_401_and_403_are_anonymous() {
    let s = setup();
    for status in [401, 403] {
        s.ory.set_whoami(Whoami::Status(status));
        let before = s.ory.whoami_calls();
        let r = signed_in_get(&s, "/");
        assert_forwarded_anonymously(&s, &r);
        assert_eq!(s.ory.whoami_calls(), before + 1, "no retry for {status}");
    }
}

#[test]
fn inactive_session_is_anonymous() {
    let s = setup();
    let inactive = s.ory.create_inactive_session("gone@example.org");
    let r = Req::get(&s.proxy.url("/"))
        .header("X-Session-Token", &inactive.token)
        .send();
    assert_forwarded_anonymously(&s, &r);
    assert_eq!(s.ory.whoami_calls(), 1);
}

#[test]
fn rate_limited_lookup_answers_429_and_is_not_forwarded() {
    let s = setup();
    s.ory.set_whoami(Whoami::RateLimited("17".into()));
    let r = signed_in_get(&s, "/pay");
    r.assert_proxy_error(429);
    assert_eq!(r.header("retry-after"), Some("17"));
    assert_eq!(s.upstream.request_count(), 0);
    assert_eq!(s.ory.whoami_calls(), 1, "429 is not retried");
    s.proxy
        .wait_for_log(|l| l.contains("ERROR") && l.contains("/pay") && l.contains("429"));
}

#[test]
fn whoami_500_is_retried_once_then_502() {
    let s = setup();
    s.ory.set_whoami(Whoami::Status(500));
    let r = signed_in_get(&s, "/orders?id=1");
    let message = r.assert_proxy_error(502);
    assert!(message.contains("session"), "{message}");
    assert_eq!(s.ory.whoami_calls(), 2, "one retry");
    assert_eq!(s.upstream.request_count(), 0, "not forwarded anonymously");
    let line = s
        .proxy
        .wait_for_log(|l| l.contains("ERROR") && l.contains("/orders"));
    assert!(line.contains("502"), "{line}");
    // The path is logged without its query ("id=1" alone would also match a request id that
    // happens to start with 1).
    assert!(line.contains(" /orders "), "{line}");
    assert!(
        !line.contains("/orders?"),
        "queries stay out of logs: {line}"
    );
}

#[test]
fn a_single_failure_is_hidden_by_the_retry() {
    let s = setup();
    s.ory.whoami_next(1, Whoami::Status(503));
    let r = signed_in_get(&s, "/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.ory.whoami_calls(), 2);
    let token = bearer_of(&s.upstream.last_request()).expect("token after the retry");
    let v = jwt::verify(&s.proxy, &token);
    assert_eq!(v.claims["sub"], s.session.identity_id);
}

#[test]
fn closed_connection_and_garbage_are_failures() {
    let s = setup();
    for behaviour in [
        Whoami::Close,
        Whoami::Raw(200, "<html>not json</html>".into()),
        Whoami::Raw(200, r#"{"active":true}"#.into()),
        Whoami::Status(302),
    ] {
        s.ory.set_whoami(behaviour.clone());
        let before = s.ory.whoami_calls();
        let r = signed_in_get(&s, "/");
        r.assert_proxy_error(502);
        assert_eq!(s.ory.whoami_calls(), before + 2, "{behaviour:?}: one retry");
    }
    assert_eq!(s.upstream.request_count(), 0);
}

#[test]
fn unreachable_ory_is_502() {
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &dead_url(), &[]);
    let r = Req::get(&proxy.url("/"))
        .header("Cookie", "ory_kratos_session=x")
        .send();
    r.assert_proxy_error(502);
    assert_eq!(upstream.request_count(), 0);
    proxy.wait_for_log(|l| l.contains("ERROR") && l.contains("502"));

    // Anonymous requests do not need Ory at all.
    let r = Req::get(&proxy.url("/public")).send();
    assert_eq!(r.status, 200);
}

#[test]
fn slow_lookup_still_signs_in() {
    let s = setup();
    s.ory.set_whoami(Whoami::Slow(Duration::from_millis(700)));
    let r = signed_in_get(&s, "/");
    assert_eq!(r.status, 200);
    assert!(bearer_of(&s.upstream.last_request()).is_some());
    assert_eq!(s.ory.whoami_calls(), 1);
}
