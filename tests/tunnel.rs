//! Tunnel mode, `ory-proxy tunnel <application-url> [<tunnel-url>]` (issue 11 §1): every request
//! to Ory with its path unchanged and `Ory-Base-URL-Rewrite: <tunnel-url>`, redirects and bodies
//! rewritten to the tunnel URL, the welcome redirect to the application, the application's
//! origin allowed for CORS with credentials, `/.ory/proxy/` kept local, and the usage errors.

use crate::util::login_flow::{csrf_token, set_cookie};
use crate::util::upstream::dead_url;
use crate::util::usage::assert_refused;
use crate::util::{FakeOry, ProxyProcess, Req, Upstream};

/// A tunnel in front of the fake for `app` (not running: nothing may reach it anyway).
fn tunnel(ory: &FakeOry, app: &str, extra: &[&str]) -> ProxyProcess {
    let mut args = vec!["tunnel", app, "--sdk-url", ory.url().leak()];
    args.extend_from_slice(extra);
    ProxyProcess::start_args(&args, &[])
}

#[test]
fn everything_goes_to_ory_with_the_path_unchanged() {
    let ory = FakeOry::start();
    let app = Upstream::start();
    let t = tunnel(&ory, &app.url(), &[]);
    let tunnel_url = format!("http://{}", t.public_authority());

    let r = Req::get(&t.url("/self-service/login/browser?refresh=true")).send();
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{tunnel_url}/ui/login?flow=")),
        "{location}"
    );
    let csrf = r.header("set-cookie").unwrap();
    assert!(csrf.starts_with("csrf_token_"), "{csrf}");
    assert!(
        !csrf.contains("Secure") && !csrf.contains("Domain"),
        "{csrf}"
    );
    let seen = ory.last_request();
    assert_eq!(seen.target, "/self-service/login/browser?refresh=true");
    assert_eq!(
        seen.header("ory-base-url-rewrite"),
        Some(tunnel_url.as_str())
    );
    assert_eq!(seen.header("ory-no-custom-domain-redirect"), Some("true"));
    assert_eq!(seen.header("host"), Some(ory.authority().as_str()));

    // The login page: its body names the tunnel, never the SDK URL.
    let path = &location[tunnel_url.len()..];
    let page = Req::get(&t.url(path)).send();
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains(&format!("action=\"{tunnel_url}/self-service/login?flow=")),
        "{html}"
    );
    assert!(!html.contains(&ory.url()), "{html}");

    // No JWKS and no /.ory prefix: these are Ory's paths too.
    for path in [
        "/.ory/jwks.json",
        "/.ory/self-service/login/browser",
        "/sessions/whoami",
    ] {
        ory.clear_requests();
        let r = Req::get(&t.url(path)).send();
        assert_ne!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(ory.last_request().target, path);
    }
    // The tunnel's own endpoints stay local.
    assert_eq!(
        Req::get(&t.url("/.ory/proxy/health/alive")).send().status,
        200
    );
    assert_eq!(
        Req::get(&t.url("/.ory/proxy/health/ready")).send().status,
        200
    );
    Req::get(&t.url("/.ory/proxy/jwks.json"))
        .send()
        .assert_proxy_error(404);
    assert_eq!(app.request_count(), 0, "nothing reaches the application");
}

#[test]
fn a_signed_in_browser_reaches_whoami_and_the_welcome_redirect_goes_to_the_app() {
    let ory = FakeOry::start();
    let app = dead_url();
    let t = tunnel(&ory, &app, &[]);
    let session = ory.create_session("tunnel@example.org");
    let r = Req::get(&t.url("/sessions/whoami"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["identity"]["id"], session.identity_id);
    let seen = ory.whoami_requests().pop().unwrap();
    assert_eq!(
        seen.header("authorization"),
        None,
        "no token in tunnel mode"
    );
    assert_eq!(seen.header("cookie"), Some(session.cookie().as_str()));

    // A form login without return_to: Ory's welcome redirect goes to the application.
    let flow = Req::get(&t.url("/self-service/login/browser"))
        .header("Accept", "application/json")
        .send();
    let cookie = set_cookie(&flow, "csrf_token_").expect("CSRF cookie");
    let json = flow.json();
    let csrf = csrf_token(&json);
    let action = json["ui"]["action"].as_str().unwrap();
    let tunnel_url = format!("http://{}", t.public_authority());
    assert!(action.starts_with(&tunnel_url), "{action}");
    let login = Req::post(&t.url(&action[tunnel_url.len()..]))
        .header("Cookie", &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={csrf}&identifier=w%40example.org&password=pw"
        ))
        .send();
    assert_eq!(login.status, 303, "{}", login.text());
    assert_eq!(login.header("location"), Some(app.as_str()));
    // Readiness does not depend on the (dead) application.
    assert_eq!(
        Req::get(&t.url("/.ory/proxy/health/ready")).send().status,
        200
    );
}

#[test]
fn the_application_origin_may_call_with_credentials_others_may_not() {
    let ory = FakeOry::start();
    let app = "http://127.0.0.1:3999";
    let t = tunnel(&ory, app, &["--debug"]);
    let preflight = |origin: &str| {
        Req::new("OPTIONS", &t.url("/self-service/login?flow=1"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let ok = preflight(app);
    assert_eq!(ok.status, 204);
    assert_eq!(ok.header("access-control-allow-origin"), Some(app));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    let refused = preflight("http://127.0.0.1:3998");
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(refused.header("access-control-allow-credentials"), None);
    let get = Req::get(&t.url("/sessions/whoami"))
        .header("Origin", app)
        .send();
    assert_eq!(get.header("access-control-allow-origin"), Some(app));
    assert_eq!(
        ory.requests()
            .iter()
            .filter(|r| r.method == "OPTIONS")
            .count(),
        0
    );
}

#[test]
fn usage_errors_and_the_explicit_proxy_form() {
    let sdk = "http://127.0.0.1:4433";
    for flag in [
        &["--no-jwt"][..],
        &["--rewrite-host"],
        &["--jwt-session", "none"],
        &["--require-session", "/"],
        &["--jwt-ttl", "5s"],
    ] {
        let args = [
            &["tunnel", "http://localhost:3000", "--sdk-url", sdk][..],
            flag,
        ]
        .concat();
        assert_refused(
            &args,
            &[],
            &format!("{} cannot be used in tunnel mode", flag[0]),
        );
    }
    assert_refused(
        &["tunnel", "--sdk-url", sdk],
        &[],
        "missing <application-url>",
    );
    assert_refused(
        &[
            "tunnel",
            "http://localhost:3000",
            "http://localhost:4000/x",
            "--sdk-url",
            sdk,
        ],
        &[],
        "tunnel URL must not contain a path",
    );

    // `proxy` is the default, named.
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let p = ProxyProcess::start_args(&["proxy", &upstream.url(), "--sdk-url", &ory.url()], &[]);
    assert_eq!(Req::get(&p.url("/x")).send().status, 200);
    assert_eq!(upstream.last_request().target, "/x");
    assert!(p.stderr().contains("/.ory/jwks.json"), "{}", p.stderr());
}
