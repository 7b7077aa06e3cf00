//! `--require-aal2 PREFIX` (issue 18 §3): anonymous requests are answered as by
//! `--require-session`; an `aal1` browser navigation is sent to Ory's step-up login with the exact
//! `return_to`, anything else at `aal1` gets 403 JSON with RFC 9470's challenge; `aal2` passes
//! with its token; a session upgraded to `aal2` is seen at once through the session cache (the
//! login's new cookie is a new key); the variable and the usage errors. The disguised spellings
//! of the prefix are in `frameworks.rs` (against Flask and Express), the Chromium walk in
//! `browser_beyond.rs`.

use crate::util::login_flow::{csrf_token, set_cookie};
use crate::util::navigate::{navigate, CHROME_ACCEPT};
use crate::util::proxy::bearer_of;
use crate::util::usage::assert_refused;
use crate::util::ws::WsClient;
use crate::util::{jwt, FakeOry, ProxyProcess, Req, Stack, Upstream};

const CHALLENGE: &str = r#"Bearer error="insufficient_user_authentication""#;

fn aal_of_token(s: &Stack) -> String {
    let token = bearer_of(&s.upstream.last_request()).expect("a token");
    let claims = jwt::verify(&s.proxy, &token).claims;
    claims["session"]["authenticator_assurance_level"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn each_level_gets_its_answer() {
    let s = Stack::start(&["--require-aal2", "/admin", "--session-cache-ttl", "0"]);
    let public = format!("http://{}", s.proxy.public_authority());
    let port = s.proxy.addr.port();

    // Anonymous: as --require-session.
    let r = navigate(&s, "/admin/users?page=2", None);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location").unwrap(),
        format!(
            "{public}/.ory/self-service/login/browser?return_to=\
             http%3A%2F%2Flocalhost%3A{port}%2Fadmin%2Fusers%3Fpage%3D2"
        )
    );
    let r = Req::get(&s.proxy.url("/admin")).send();
    assert!(r.assert_proxy_error(401).contains("needs a session"));
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    // aal1, a browser navigation: the step-up login, back to the very URL.
    let aal1 = s.ory.create_session("ada@example.org");
    let r = navigate(&s, "/admin/users?page=2&q=a%20b", Some(&aal1.cookie()));
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location").unwrap(),
        format!(
            "{public}/.ory/self-service/login/browser?aal=aal2&return_to=\
             http%3A%2F%2Flocalhost%3A{port}%2Fadmin%2Fusers%3Fpage%3D2%26q%3Da%2520b"
        )
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // aal1, anything else: 403 JSON with the challenge (cookie, token, bearer; POST, fetch).
    let cases = [
        Req::get(&s.proxy.url("/admin")).header("Cookie", &aal1.cookie()),
        Req::get(&s.proxy.url("/admin/x")).header("X-Session-Token", &aal1.token),
        Req::get(&s.proxy.url("/admin/x"))
            .header("Authorization", &aal1.bearer())
            .header("Accept", "application/json"),
        Req::post(&s.proxy.url("/admin/x"))
            .header("Cookie", &aal1.cookie())
            .header("Accept", CHROME_ACCEPT)
            .body("a=1"),
    ];
    for req in cases {
        let r = req.send();
        let message = r.assert_proxy_error(403);
        assert_eq!(
            message,
            "this path needs a second factor (aal2): sign in again with it first"
        );
        assert_eq!(r.json()["error"]["status"], "Forbidden");
        assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("location"), None);
    }
    // Nor can a WebSocket handshake slip past.
    let cookie = aal1.cookie();
    let head = WsClient::connect(s.proxy.addr, "/admin/live", &[("Cookie", &cookie)])
        .err()
        .expect("no upgrade at aal1");
    assert_eq!(head.status(), 403, "{head:?}");
    assert_eq!(head.header("www-authenticate"), Some(CHALLENGE));
    assert_eq!(
        s.upstream.request_count(),
        0,
        "nothing reached the application"
    );

    // Outside the prefix aal1 is enough.
    assert_eq!(
        navigate(&s, "/administrator", Some(&aal1.cookie())).status,
        200
    );
    assert_eq!(aal_of_token(&s), "aal1");

    // aal2 passes, with its token.
    let aal2 = s.ory.create_session_with("bo@example.org", |v| {
        v["authenticator_assurance_level"] = "aal2".into();
    });
    let r = navigate(&s, "/admin/users", Some(&aal2.cookie()));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.upstream.last_request().target, "/admin/users");
    assert_eq!(aal_of_token(&s), "aal2");
    let r = Req::post(&s.proxy.url("/admin/x"))
        .header("X-Session-Token", &aal2.token)
        .body("x")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());

    // The answers are refusals, not failures: no error line.
    let log = s.proxy.stderr();
    assert!(
        !log.lines()
            .any(|l| l.contains("second factor") && l.contains("ERROR")),
        "{log}"
    );
}

#[test]
fn an_upgraded_session_is_seen_at_once_with_the_cache_on() {
    let s = Stack::start(&["--require-aal2", "/admin", "--session-cache-ttl", "60s"]);
    let aal1 = s.ory.create_session("cy@example.org");
    let api = |cookie: &str| {
        Req::get(&s.proxy.url("/admin"))
            .header("Cookie", cookie)
            .send()
            .status
    };
    assert_eq!(api(&aal1.cookie()), 403);
    assert_eq!(api(&aal1.cookie()), 403);
    assert_eq!(
        s.ory.whoami_calls(),
        1,
        "the second answer came from the cache"
    );

    // The second-factor login upgrades the session and sets a new cookie.
    let aal2 = s.ory.step_up(&aal1);
    assert_ne!(aal2.token, aal1.token);
    assert_eq!(api(&aal2.cookie()), 200, "the new cookie is a new key");
    assert_eq!(s.ory.whoami_calls(), 2);
    assert_eq!(aal_of_token(&s), "aal2");
    assert_eq!(api(&aal2.cookie()), 200);
    assert_eq!(s.ory.whoami_calls(), 2, "and is cached in turn");
    // The old cookie's cached aal1 answer is refused until it expires, never let in.
    assert_eq!(api(&aal1.cookie()), 403);

    // The same through the fake's own flow, as a browser would do it.
    let aal1 = s.ory.create_session("di@example.org");
    assert_eq!(api(&aal1.cookie()), 403);
    let start = Req::get(
        &s.proxy
            .url("/.ory/self-service/login/browser?aal=aal2&return_to=http%3A%2F%2Fx%2Fadmin"),
    )
    .header("Cookie", &aal1.cookie())
    .header("Accept", "application/json")
    .send();
    assert_eq!(start.status, 200, "{}", start.text());
    let flow = start.json();
    assert_eq!(flow["requested_aal"], "aal2");
    let csrf_cookie = set_cookie(&start, "csrf_token_").expect("CSRF cookie");
    let csrf = csrf_token(&flow);
    let action = flow["ui"]["action"].as_str().unwrap().to_owned();
    let path = &action[action.find("/.ory/").expect("rewritten to the proxy")..];
    let submit = |code: &str| {
        Req::post(&s.proxy.url(path))
            .header("Cookie", &format!("{}; {csrf_cookie}", aal1.cookie()))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(
                serde_json::json!({"csrf_token": csrf, "method": "totp", "totp_code": code})
                    .to_string(),
            )
            .send()
    };
    assert_eq!(submit("000000x").status, 400, "a wrong code is refused");
    let done = submit(&s.ory.totp_code(&aal1.identity_id));
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(
        done.json()["session"]["authenticator_assurance_level"],
        "aal2"
    );
    let new_cookie = set_cookie(&done, "ory_kratos_session=").expect("session cookie");
    assert_ne!(new_cookie, aal1.cookie());
    assert_eq!(api(&new_cookie), 200);
    assert_eq!(aal_of_token(&s), "aal2");
}

#[test]
fn prefixes_from_the_environment_and_usage_errors() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start_args(
        &[&upstream.url(), "--sdk-url", &ory.url()],
        &[("ORY_PROXY_REQUIRE_AAL2", "/one, /two")],
    );
    let aal1 = ory.create_session("x@example.org");
    for (path, status) in [("/one/x", 403), ("/TWO", 403), ("/three", 200)] {
        let r = Req::get(&proxy.url(path))
            .header("Cookie", &aal1.cookie())
            .send();
        assert_eq!(r.status, status, "{path}");
    }
    assert!(proxy.stderr().contains("need 2FA"), "{}", proxy.stderr());

    let base = [
        "http://127.0.0.1:3000",
        "--sdk-url",
        "http://127.0.0.1:4433",
    ];
    assert_refused(
        &[&base[..], &["--require-aal2", "/a", "--no-jwt"]].concat(),
        &[],
        "--require-aal2 needs the session lookup that --no-jwt turns off",
    );
    assert_refused(
        &[&base[..], &["--no-jwt"]].concat(),
        &[("ORY_PROXY_REQUIRE_AAL2", "/a")],
        "ORY_PROXY_REQUIRE_AAL2 needs",
    );
    for bad in ["admin", "/.ory/x", "/a?b"] {
        assert_refused(
            &[&base[..], &["--require-aal2", bad]].concat(),
            &[],
            &format!("--require-aal2 '{bad}' must be a path"),
        );
    }
    assert_refused(
        &[&["tunnel"], &base[..], &["--require-aal2", "/a"]].concat(),
        &[],
        "--require-aal2 cannot be used in tunnel mode",
    );
}
