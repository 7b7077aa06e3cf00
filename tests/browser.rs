//! A real browser signs in and out through the proxy.
//!
//! Headless Chromium (driven over WebDriver) opens a tiny application behind the proxy, follows
//! its "Sign in" link to Ory's login page (the fake's, served through `/.ory/` and rewritten),
//! fills and submits the form, and lands back on the application, which shows the email taken
//! from the token the proxy minted, verified with the proxy's JWKS. Then it signs out (a
//! same-origin `fetch` for the logout URL, then a navigation to it) and is anonymous again.

use crate::util::browser_login::{submit_password_form, wait_for_flow_page};
use crate::util::proxy::{bearer_of, free_port};
use crate::util::webdriver::{no_browser, Browser};
use crate::util::{jwt, FakeOry, ProxyProcess, Recorded, Reply, Upstream};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What the application saw, for the assertions.
#[derive(Default)]
struct Seen {
    /// JWKS of the proxy, installed once the proxy runs.
    jwks: Option<Value>,
    /// Emails of verified tokens, in order of requests to `/`.
    signed_in_as: Vec<String>,
    /// Requests to `/` without a token.
    anonymous: usize,
}

fn page(title: &str, body: &str) -> Reply {
    Reply::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"
        ))
}

/// The application: `/` shows who is signed in (from the verified token) with a sign-out
/// button, or a sign-in link.
fn app(req: &Recorded, seen: &Mutex<Seen>, public: &str) -> Reply {
    if req.path() == "/favicon.ico" {
        // Chromium asks for it on every page: answered, so the network log has no 404.
        return Reply::new(204);
    }
    if req.path() != "/" {
        return Reply::new(404).body("not found");
    }
    let Some(token) = bearer_of(req) else {
        seen.lock().unwrap().anonymous += 1;
        let return_to = format!("{public}/").replace(':', "%3A").replace('/', "%2F");
        return page(
            "Welcome",
            &format!(
                "<p id=\"anon\">Not signed in.</p>\
                 <a id=\"signin\" href=\"/.ory/self-service/login/browser?return_to={return_to}\">Sign in</a>"
            ),
        );
    };
    let jwks = seen.lock().unwrap().jwks.clone();
    let verified = std::panic::catch_unwind(|| {
        jwt::verify_with_jwks(jwks.as_ref().expect("jwks installed"), &token)
    });
    let claims = match verified {
        Ok(v) => v.claims,
        Err(_) => return page("Error", "<p id=\"error\">the token did not verify</p>"),
    };
    let email = claims["session"]["identity"]["traits"]["email"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    seen.lock().unwrap().signed_in_as.push(email.clone());
    let script = format!(
        "<script>document.getElementById('signout').addEventListener('click', async () => {{\
           const r = await fetch('/.ory/self-service/logout/browser', \
             {{headers: {{Accept: 'application/json'}}, credentials: 'same-origin'}});\
           const j = await r.json();\
           window.location.href = j.logout_url + '&return_to=' + encodeURIComponent('{public}/');\
         }});</script>"
    );
    page(
        "Dashboard",
        &format!(
            "<p>Signed in as <span id=\"who\">{email}</span> (subject {sub}).</p>\
             <button id=\"signout\" type=\"button\">Sign out</button>{script}",
            sub = claims["sub"].as_str().unwrap_or_default()
        ),
    )
}

#[test]
fn a_real_browser_signs_in_and_out_through_the_proxy() {
    let Some(browser) = Browser::start() else {
        return no_browser("sign in and out");
    };
    let ory = FakeOry::start();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (s, p) = (Arc::clone(&seen), public.clone());
    let upstream = Upstream::with(move |req| Some(app(req, &s, &p).into()));
    let port_arg = port.to_string();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[&public, "--port", &port_arg]);
    seen.lock().unwrap().jwks = Some(jwt::fetch_jwks(&proxy));

    // The application, anonymous.
    browser.goto(&format!("{public}/"));
    let signin = browser.wait_for("#signin");
    browser.click(&signin);

    // Ory's login page, on the public origin.
    let login_url = wait_for_flow_page(&browser, &public, "login");
    assert!(
        !browser.source().contains(&ory.url()),
        "the SDK origin leaked into the page"
    );
    let csrf_cookie = browser
        .cookies()
        .into_iter()
        .find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("csrf_token_"))
        })
        .expect("the browser holds the CSRF cookie");
    assert_eq!(csrf_cookie["secure"], false, "{csrf_cookie}");
    submit_password_form(&browser, "alice@example.org", "correct horse");

    // Back on the application, signed in.
    let who = browser.wait_for("#who");
    assert_eq!(browser.text(&who), "alice@example.org");
    assert_eq!(browser.url(), format!("{public}/"));
    let session_cookie = browser
        .cookies()
        .into_iter()
        .find(|c| c["name"] == "ory_kratos_session")
        .expect("the browser holds the session cookie");
    assert_eq!(session_cookie["domain"], "127.0.0.1", "{session_cookie}");
    assert_eq!(session_cookie["httpOnly"], true, "{session_cookie}");
    assert_eq!(
        seen.lock().unwrap().signed_in_as,
        ["alice@example.org"],
        "the application verified exactly one signed-in request"
    );

    // Sign out: back on the application, anonymous, without a session cookie.
    let signout = browser.wait_for("#signout");
    browser.click(&signout);
    browser.wait_for("#anon");
    assert_eq!(browser.url(), format!("{public}/"));
    assert!(
        !browser
            .cookies()
            .iter()
            .any(|c| c["name"] == "ory_kratos_session"),
        "the session cookie survived the logout"
    );
    // Nothing the browser asked for on the way (the login page's script included) was a 404.
    browser.assert_no_404();
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.anonymous, 2,
        "anonymous before sign-in and after sign-out"
    );
    eprintln!(
        "browser test: signed in as {:?} via {login_url}, signed out; proxy log:\n{}",
        seen.signed_in_as,
        proxy.stderr()
    );
}

/// A page on another origin that calls the proxied application with credentials and writes
/// the outcome into `#result` (then adds `#done`).
fn other_site(api: &str) -> Reply {
    page(
        "Other site",
        &format!(
            "<pre id=\"result\"></pre><script>\
             fetch('{api}', {{method: 'PUT', credentials: 'include', \
               headers: {{'Content-Type': 'application/json', 'X-CSRF-Token': 't'}}, body: '{{}}'}})\
             .then(r => r.text()).then(t => 'READ ' + t, e => 'BLOCKED ' + e)\
             .then(s => {{ document.getElementById('result').textContent = s; \
               const d = document.createElement('p'); d.id = 'done'; document.body.appendChild(d); }});\
             </script>"
        ),
    )
}

#[test]
fn a_real_browser_enforces_the_cors_policy() {
    let Some(browser) = Browser::start() else {
        return no_browser("CORS");
    };
    let ory = FakeOry::start();
    let port = free_port();
    let api = format!("http://127.0.0.1:{port}/api/data");
    let (a1, a2) = (api.clone(), api.clone());
    let allowed_site = Upstream::with(move |_| Some(other_site(&a1).into()));
    let denied_site = Upstream::with(move |_| Some(other_site(&a2).into()));
    // The browser opens these two sites itself: its own requests (`Connection: keep-alive`)
    // are not the proxy's to check.
    allowed_site.accept_direct_faults();
    denied_site.accept_direct_faults();
    let upstream = Upstream::with(|req| {
        let who = if bearer_of(req).is_some() {
            "signed-in"
        } else {
            "anonymous"
        };
        Some(Reply::new(200).body(format!("{} {who}", req.method)).into())
    });
    let port_arg = port.to_string();
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &[
            &format!("http://127.0.0.1:{port}"),
            "--port",
            &port_arg,
            "--allowed-cors-origins",
            &allowed_site.url(),
            "--debug",
        ],
    );
    // Sign the browser in on the proxy's origin.
    let session = ory.create_session("cors@example.org");
    browser.goto(&proxy.url("/"));
    browser.add_cookie("ory_kratos_session", &session.token);

    // An allowed origin: preflight granted, the PUT carries the cookie, the page reads the answer.
    browser.goto(&format!("{}/", allowed_site.url()));
    browser.wait_for("#done");
    let result = browser.text(&browser.wait_for("#result"));
    assert_eq!(result, "READ PUT signed-in");
    let put = upstream.last_request();
    assert_eq!(put.method, "PUT");
    let token = bearer_of(&put).expect("the cross-origin call carried the session");
    jwt::verify(&proxy, &token);
    let calls = upstream.request_count();

    // Another origin: the preflight is refused, the browser never sends the PUT.
    browser.goto(&format!("{}/", denied_site.url()));
    browser.wait_for("#done");
    let result = browser.text(&browser.wait_for("#result"));
    assert!(result.starts_with("BLOCKED"), "{result}");
    assert_eq!(
        upstream.request_count(),
        calls,
        "a refused preflight must keep the request from the application"
    );
    proxy.wait_for_log(|l| l.contains("cors: preflight PUT /api/data") && l.contains("denied"));
    eprintln!("browser CORS test: allowed origin read the answer; other origin: {result}");
}
