//! `--require-session PREFIX` (issue 11 §2): anonymous browser navigations are sent to the login
//! flow with the exact `return_to`, other anonymous requests get 401 JSON, signed-in requests
//! pass with their token, prefixes match whole segments, `/.ory/…` and the proxy's own
//! endpoints are never protected, and a failed session lookup stays a failure.

use crate::util::navigate::{navigate, CHROME_ACCEPT};
use crate::util::proxy::bearer_of;
use crate::util::usage::assert_refused;
use crate::util::ws::WsClient;
use crate::util::{jwt, run_cli, FakeOry, ProxyProcess, Req, Stack, Upstream, Whoami};

/// `http://localhost:PORT`, the default public URL.
fn public(s: &Stack) -> String {
    format!("http://{}", s.proxy.public_authority())
}

#[test]
fn an_anonymous_navigation_is_sent_to_the_login_flow() {
    let s = Stack::start(&["--require-session", "/admin"]);
    let r = navigate(&s, "/admin/users?page=2&q=a%20b", None);
    assert_eq!(r.status, 303, "{}", r.text());
    let p = public(&s);
    let port = s.proxy.addr.port();
    assert_eq!(
        r.header("location").unwrap(),
        format!(
            "{p}/.ory/self-service/login/browser?return_to=\
             http%3A%2F%2Flocalhost%3A{port}%2Fadmin%2Fusers%3Fpage%3D2%26q%3Da%2520b"
        )
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // HEAD is a navigation too; a session cookie Ory does not know is anonymous.
    let head = Req::new("HEAD", &s.proxy.url("/admin"))
        .header("Accept", "text/html")
        .header("Cookie", "ory_kratos_session=unknown")
        .send();
    assert_eq!(head.status, 303);
    assert!(head.header("location").unwrap().ends_with("%2Fadmin"));
    assert_eq!(
        s.upstream.request_count(),
        0,
        "nothing reached the application"
    );
}

#[test]
fn other_anonymous_requests_get_401_json() {
    let s = Stack::start(&["--require-session", "/api/private"]);
    let cases = [
        Req::get(&s.proxy.url("/api/private")).header("Accept", "application/json"),
        Req::get(&s.proxy.url("/api/private/x")).header("Accept", "*/*"),
        Req::post(&s.proxy.url("/api/private/x"))
            .header("Accept", CHROME_ACCEPT)
            .body("a=1"),
        Req::new("DELETE", &s.proxy.url("/api/private/1")),
        Req::get(&s.proxy.url("/api/private/x")).header("Authorization", "Bearer not-a-session"),
    ];
    for req in cases {
        let r = req.send();
        let message = r.assert_proxy_error(401);
        assert!(message.contains("needs a session"), "{message}");
        assert_eq!(r.json()["error"]["status"], "Unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert_eq!(r.header("location"), None);
    }
    // A WebSocket handshake cannot slip past either.
    let head = WsClient::connect(s.proxy.addr, "/api/private/live", &[])
        .err()
        .expect("no upgrade without a session");
    assert_eq!(head.status(), 401, "{head:?}");
    assert_eq!(
        s.upstream.request_count(),
        0,
        "nothing reached the application"
    );
}

#[test]
fn a_signed_in_request_passes_with_its_token() {
    let s = Stack::start(&["--require-session", "/admin"]);
    let session = s.ory.create_session("admin@example.org");
    let r = navigate(&s, "/admin/x", Some(&session.cookie()));
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = s.upstream.last_request();
    assert_eq!(seen.target, "/admin/x");
    let token = bearer_of(&seen).expect("a token");
    assert_eq!(
        jwt::verify(&s.proxy, &token).claims["sub"],
        session.identity_id
    );
    let api = Req::get(&s.proxy.url("/admin/api"))
        .header("X-Session-Token", &session.token)
        .send();
    assert_eq!(api.status, 200, "{}", api.text());
}

#[test]
fn prefixes_match_by_segment_and_ory_paths_stay_open() {
    let s = Stack::start(&["--require-session", "/admin", "--require-session", "/b/c/"]);
    for open in [
        "/administrator",
        "/admins/x",
        "/",
        "/b",
        "/b/cd",
        "/x/admin",
    ] {
        let r = navigate(&s, open, None);
        assert_eq!(r.status, 200, "{open}: {}", r.text());
        assert_eq!(s.upstream.last_request().target, open);
    }
    for closed in [
        "/admin",
        "/admin/",
        "/b/c",
        "/b/c/d",
        "//admin",
        "/%61dmin/x",
    ] {
        let r = navigate(&s, closed, None);
        assert_eq!(r.status, 303, "{closed}");
    }

    let all = Stack::start(&["--require-session", "/"]);
    assert_eq!(navigate(&all, "/", None).status, 303);
    assert_eq!(navigate(&all, "/anything", None).status, 303);
    let login = navigate(&all, "/.ory/self-service/login/browser", None);
    assert_eq!(login.status, 303, "Ory's own redirect");
    assert!(
        login
            .header("location")
            .unwrap()
            .contains("/.ory/ui/login?flow="),
        "{:?}",
        login.header("location")
    );
    let alive = navigate(&all, "/.ory/proxy/health/alive", None);
    assert_eq!(alive.status, 200);
    jwt::fetch_jwks(&all.proxy);
    assert_eq!(all.upstream.request_count(), 0);
}

#[test]
fn a_failed_lookup_stays_a_failure_never_a_redirect() {
    let s = Stack::start(&["--require-session", "/admin", "--session-cache-ttl", "0"]);
    let session = s.ory.create_session("x@example.org");
    s.ory.set_whoami(Whoami::Status(500));
    // A browser navigation gets the proxy's HTML error page, never a redirect to the login.
    let r = navigate(&s, "/admin", Some(&session.cookie()));
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("location"), None);
    s.ory.set_whoami(Whoami::RateLimited("7".into()));
    let r = navigate(&s, "/admin", Some(&session.cookie()));
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.header("location"), None);
    assert_eq!(s.upstream.request_count(), 0);
}

#[test]
fn prefixes_from_the_environment_and_usage_errors() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start_args(
        &[&upstream.url(), "--sdk-url", &ory.url()],
        &[("ORY_PROXY_REQUIRE_SESSION", "/one, /two")],
    );
    for (path, status) in [("/one/x", 401), ("/two", 401), ("/three", 200)] {
        let r = Req::get(&proxy.url(path)).send();
        assert_eq!(r.status, status, "{path}");
    }

    let base = [
        "http://127.0.0.1:3000",
        "--sdk-url",
        "http://127.0.0.1:4433",
    ];
    assert_refused(
        &[&base[..], &["--require-session", "/a", "--no-jwt"]].concat(),
        &[],
        "--require-session needs the session lookup that --no-jwt",
    );
    let env_no_jwt = run_cli(
        &[&base[..], &["--no-jwt"]].concat(),
        &[("ORY_PROXY_REQUIRE_SESSION", "/a")],
    );
    assert_eq!(env_no_jwt.code, Some(2), "{}", env_no_jwt.stderr);
    for bad in ["admin", "/.ory/x", "/a?b"] {
        assert_refused(
            &[&base[..], &["--require-session", bad]].concat(),
            &[],
            &format!("--require-session '{bad}' must be a path"),
        );
    }
}
