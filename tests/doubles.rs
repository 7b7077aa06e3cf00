//! The test doubles themselves, without the proxy: the fake identity server must behave like
//! Kratos on the wire (SPEC §6), or every test built on it proves nothing.

use crate::util::login_flow::set_cookie;
use crate::util::ory::{SESSION_COOKIE, UNAUTHORIZED_BODY};
use crate::util::ory_flows::csrf_cookie_name;
use crate::util::{FakeOry, Req, Upstream, Whoami};
use std::time::Duration;

#[test]
fn whoami_by_cookie_token_or_bearer() {
    let ory = FakeOry::start();
    let s = ory.create_session("double@example.org");
    let url = format!("{}/sessions/whoami", ory.url());
    for (name, value) in [
        ("Cookie", format!("a=b; {}", s.cookie())),
        ("X-Session-Token", s.token.clone()),
        ("Authorization", s.bearer()),
    ] {
        let r = Req::get(&url).header(name, &value).send();
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.text(), s.body, "{name}");
    }
    let v = s.json();
    for field in ["id", "expires_at", "authenticated_at", "issued_at"] {
        assert!(v[field].is_string(), "{field}: {v}");
    }
    assert_eq!(v["active"], true);
    assert_eq!(v["authenticator_assurance_level"], "aal1");
    for field in ["id", "schema_id", "schema_url", "state"] {
        assert!(v["identity"][field].is_string(), "identity.{field}: {v}");
    }
    assert_eq!(v["identity"]["traits"]["email"], "double@example.org");
    assert!(v["identity"]["schema_url"]
        .as_str()
        .unwrap()
        .starts_with(&ory.url()));
    assert_eq!(ory.whoami_calls(), 3);
}

#[test]
fn whoami_without_a_session_is_kratos_401() {
    let ory = FakeOry::start();
    let url = format!("{}/sessions/whoami", ory.url());
    for headers in [vec![], vec![("Cookie", format!("{SESSION_COOKIE}=nope"))]] {
        let mut req = Req::get(&url);
        for (n, v) in &headers {
            req = req.header(n, v);
        }
        let r = req.send();
        assert_eq!(r.status, 401);
        assert_eq!(r.text(), UNAUTHORIZED_BODY);
    }
}

#[test]
fn whoami_switches() {
    let ory = FakeOry::start();
    let s = ory.create_session("switch@example.org");
    let url = format!("{}/sessions/whoami", ory.url());
    let call = || {
        Req::get(&url)
            .header("X-Session-Token", &s.token)
            .try_send()
    };
    ory.whoami_next(1, Whoami::Status(500));
    assert_eq!(call().unwrap().status, 500);
    assert_eq!(call().unwrap().status, 200, "only the next call failed");
    ory.set_whoami(Whoami::RateLimited("9".into()));
    let r = call().unwrap();
    assert_eq!((r.status, r.header("retry-after")), (429, Some("9")));
    ory.set_whoami(Whoami::Close);
    assert!(call().is_err(), "closed without an answer");
    ory.set_whoami(Whoami::Slow(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    assert_eq!(call().unwrap().status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    ory.set_whoami(Whoami::Normal);
    ory.set_whoami_cookies(&["x=1; Path=/"]);
    assert_eq!(call().unwrap().header("set-cookie"), Some("x=1; Path=/"));
    assert_eq!(ory.whoami_calls(), 6);
}

#[test]
fn browser_login_and_logout_flow() {
    let ory = FakeOry::start();
    let origin = ory.url();
    let r = Req::get(&format!(
        "{origin}/self-service/login/browser?return_to=http%3A%2F%2Fapp%2Fdone"
    ))
    .send();
    assert_eq!(r.status, 303);
    let location = r.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{origin}/ui/login?flow=")),
        "{location}"
    );
    let csrf_cookie = r.header("set-cookie").unwrap().to_owned();
    assert!(csrf_cookie.starts_with(&csrf_cookie_name(&origin)));
    assert!(csrf_cookie.contains("Path=/; ") && csrf_cookie.contains("HttpOnly"));
    assert!(csrf_cookie.contains("Secure") && csrf_cookie.contains("SameSite=Lax"));
    let csrf_pair = csrf_cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_pair.split_once('=').unwrap().1.to_owned();
    let flow = location.rsplit_once("flow=").unwrap().1.to_owned();

    let page = Req::get(&location).send();
    assert!(page
        .text()
        .contains(&format!("{origin}/self-service/login?flow={flow}")));

    let r = Req::post(&format!("{origin}/self-service/login?flow={flow}"))
        .header("Cookie", &csrf_pair)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "identifier=me%40example.org&password=pw&csrf_token={csrf}"
        ))
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("http://app/done"));
    let session_cookie = set_cookie(&r, "").expect("a cookie");
    assert!(session_cookie.starts_with("ory_kratos_session=ory_st_"));

    let who = Req::get(&format!("{origin}/sessions/whoami"))
        .header("Cookie", &session_cookie)
        .send();
    assert_eq!(who.json()["identity"]["traits"]["email"], "me@example.org");

    let out = Req::get(&format!("{origin}/self-service/logout/browser"))
        .header("Cookie", &session_cookie)
        .send();
    let logout_url = out.json()["logout_url"].as_str().unwrap().to_owned();
    assert!(logout_url.starts_with(&format!("{origin}/self-service/logout?token=")));
    let r = Req::get(&logout_url)
        .header("Cookie", &session_cookie)
        .send();
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let who = Req::get(&format!("{origin}/sessions/whoami"))
        .header("Cookie", &session_cookie)
        .send();
    assert_eq!(who.status, 401, "logged out");
}

#[test]
fn login_without_the_csrf_cookie_is_refused() {
    let ory = FakeOry::start();
    let r = Req::get(&format!("{}/self-service/login/browser", ory.url()))
        .header("Accept", "application/json")
        .send();
    assert_eq!(r.status, 200);
    let flow = r.json();
    let id = flow["id"].as_str().unwrap();
    assert!(flow["ui"]["action"]
        .as_str()
        .unwrap()
        .starts_with(&ory.url()));
    let r = Req::post(&format!("{}/self-service/login?flow={id}", ory.url()))
        .body("identifier=a&password=b&csrf_token=x")
        .send();
    assert_eq!(r.status, 403);
}

#[test]
fn upstream_echoes_and_records() {
    let upstream = Upstream::start();
    let r = Req::post(&format!("{}/p?q=%2F", upstream.url()))
        .header("X-A", "1")
        .header("X-A", "2")
        .chunked_body(std::io::Cursor::new(b"hello".to_vec()))
        .send();
    let v = r.json();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["target"], "/p?q=%2F");
    assert_eq!(v["body"], "hello");
    assert_eq!(v["chunked"], true);
    let seen = upstream.last_request();
    assert_eq!(seen.header_all("x-a"), ["1", "2"]);
    assert_eq!(seen.query_param("q"), Some("%2F"));
}
