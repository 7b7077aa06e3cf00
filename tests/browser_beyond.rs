//! Headless Chromium through the modes of issue 11: a protected page sends the browser to the
//! login page and, once signed in, back to the page with a token (`--require-session`); a page
//! that needs a second factor sends a signed-in browser on to it and back (`--require-aal2`).

use crate::util::browser_login::{submit_password_form, wait_for_flow_page};
use crate::util::proxy::{bearer_of, free_port};
use crate::util::webdriver::{no_browser, Browser};
use crate::util::{jwt, FakeOry, ProxyProcess, Recorded, Reply, Upstream};
use serde_json::Value;
use std::sync::{Arc, Mutex};

fn page(title: &str, body: &str) -> Reply {
    Reply::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"
        ))
}

/// The proxy, public on its own address with `flags` ([`ProxyProcess::start_public`]), in front
/// of an application whose every page shows its target and, in `<p id="{id}">`, the claim at
/// `pointer` (a JSON pointer) of the token it received, verified with the proxy's JWKS; `none`
/// without a valid token.
fn claim_app(
    ory: &FakeOry,
    (id, pointer, none): (&'static str, &'static str, &'static str),
    flags: &[&str],
) -> (Upstream, ProxyProcess) {
    let jwks: Arc<Mutex<Option<Value>>> = Arc::default();
    let keys = Arc::clone(&jwks);
    let upstream = Upstream::with(move |req| {
        let claim = bearer_of(req)
            .and_then(|token| {
                let jwks = keys.lock().unwrap().clone()?;
                let v = std::panic::catch_unwind(|| jwt::verify_with_jwks(&jwks, &token)).ok()?;
                Some(v.claims.pointer(pointer)?.as_str()?.to_owned())
            })
            .unwrap_or_else(|| none.to_owned());
        let body = format!("<p>{}</p><p id=\"{id}\">{claim}</p>", req.target);
        Some(page("Admin", &body).into())
    });
    let proxy = ProxyProcess::start_public(&upstream.url(), &ory.url(), flags);
    *jwks.lock().unwrap() = Some(jwt::fetch_jwks(&proxy));
    (upstream, proxy)
}

/// The requests for `/admin…` that reached the application.
fn admin_requests(upstream: &Upstream) -> Vec<Recorded> {
    upstream
        .requests()
        .into_iter()
        .filter(|r| r.target.starts_with("/admin"))
        .collect()
}

#[test]
fn a_protected_page_sends_the_browser_to_login_and_back() {
    let Some(browser) = Browser::start() else {
        return no_browser("protected page");
    };
    let ory = FakeOry::start();
    // Only signed-in requests may arrive here: the proxy keeps anonymous ones away.
    let email = ("who", "/session/identity/traits/email", "ANONYMOUS");
    let (upstream, proxy) = claim_app(&ory, email, &["--require-session", "/admin"]);
    let public = proxy.url("");

    browser.goto(&format!("{public}/admin/reports?year=2026"));
    let login_url = wait_for_flow_page(&browser, &public, "login");
    // (The browser's own /favicon.ico is not protected and may arrive.)
    assert!(
        admin_requests(&upstream).is_empty(),
        "no /admin request reached the application yet"
    );
    submit_password_form(&browser, "bob@example.org", "correct horse");

    let who = browser.wait_for("#who");
    assert_eq!(browser.text(&who), "bob@example.org");
    assert_eq!(browser.url(), format!("{public}/admin/reports?year=2026"));
    let seen = admin_requests(&upstream);
    assert!(
        seen.iter().all(|r| bearer_of(r).is_some()),
        "every /admin request that reached the application carried a token"
    );
    assert_eq!(seen.last().unwrap().target, "/admin/reports?year=2026");
    // Nothing the browser asked for on the way was a 404 (its own network log).
    browser.assert_no_404();
    eprintln!("browser protected-page test: {login_url} -> back with a token");
}

#[test]
fn a_second_factor_is_asked_for_and_the_page_follows() {
    let Some(browser) = Browser::start() else {
        return no_browser("second factor");
    };
    let ory = FakeOry::start();
    // The level the token says, as the application would read it.
    let aal = ("aal", "/session/authenticator_assurance_level", "NONE");
    let (upstream, proxy) = claim_app(&ory, aal, &["--require-aal2", "/admin"]);
    let public = proxy.url("");

    // Anonymous: the password login first.
    browser.goto(&format!("{public}/admin/keys?tab=2"));
    submit_password_form(&browser, "eve@example.org", "correct horse");

    // Back at /admin with aal1: the proxy sends the browser on to the second factor.
    let code_field = browser.wait_for("input[name=totp_code]");
    let step_up = browser.url();
    assert!(
        step_up.starts_with(&format!("{public}/.ory/ui/login?flow=")),
        "not on the second-factor page: {step_up}"
    );
    assert!(
        admin_requests(&upstream).is_empty(),
        "no /admin request reached the application at aal1"
    );
    let code = browser.text(&browser.wait_for("#code"));
    assert_eq!(code.len(), 6, "{code}");
    browser.type_into(&code_field, &code);
    browser.click(&browser.wait_for("button[type=submit]"));

    let aal = browser.wait_for("#aal");
    assert_eq!(browser.text(&aal), "aal2");
    assert_eq!(browser.url(), format!("{public}/admin/keys?tab=2"));
    let seen = admin_requests(&upstream);
    assert_eq!(
        seen.len(),
        1,
        "exactly the stepped-up request reached /admin"
    );
    assert_eq!(seen[0].target, "/admin/keys?tab=2");
    browser.assert_no_404();
    eprintln!("browser step-up test: {step_up} -> back at aal2");
}

/// A single-page app on its own origin that signs in through the tunnel with `fetch` and
/// credentials, then asks `whoami`; it writes the outcome into `#result` and adds `#done`.
fn spa(tunnel: &str) -> Reply {
    page(
        "SPA",
        &format!(
            "<pre id=\"result\"></pre><script>(async () => {{\
               const T = '{tunnel}'; const out = [];\
               try {{\
                 const f = await fetch(T + '/self-service/login/browser', \
                   {{credentials: 'include', headers: {{Accept: 'application/json'}}}});\
                 const flow = await f.json();\
                 const csrf = flow.ui.nodes.find(n => n.attributes.name === 'csrf_token')\
                   .attributes.value;\
                 const login = await fetch(flow.ui.action, {{method: 'POST', credentials: 'include',\
                   headers: {{'Content-Type': 'application/json', Accept: 'application/json'}},\
                   body: JSON.stringify({{csrf_token: csrf, identifier: 'spa@example.org', \
                     password: 'pw'}})}});\
                 out.push('login ' + login.status);\
                 const who = await fetch(T + '/sessions/whoami', {{credentials: 'include', \
                   headers: {{'Content-Type': 'application/json'}}}});\
                 const s = await who.json();\
                 out.push('whoami ' + who.status + ' ' + s.identity.traits.email);\
               }} catch (e) {{ out.push('BLOCKED ' + e); }}\
               document.getElementById('result').textContent = out.join('; ');\
               const d = document.createElement('p'); d.id = 'done'; document.body.appendChild(d);\
             }})();</script>"
        ),
    )
}

/// A page on an origin the tunnel does not know: a credentialed `whoami` call that needs a
/// preflight (JSON content type).
fn stranger(tunnel: &str) -> Reply {
    page(
        "Stranger",
        &format!(
            "<pre id=\"result\"></pre><script>\
             fetch('{tunnel}/sessions/whoami', {{credentials: 'include', \
               headers: {{'Content-Type': 'application/json'}}}})\
             .then(r => r.text()).then(t => 'READ ' + t, e => 'BLOCKED ' + e)\
             .then(s => {{ document.getElementById('result').textContent = s; \
               const d = document.createElement('p'); d.id = 'done'; document.body.appendChild(d); }});\
             </script>"
        ),
    )
}

#[test]
fn a_single_page_app_signs_in_through_the_tunnel() {
    let Some(browser) = Browser::start() else {
        return no_browser("tunnel");
    };
    let ory = FakeOry::start();
    let port = free_port();
    let tunnel_url = format!("http://127.0.0.1:{port}");
    let (a, b) = (tunnel_url.clone(), tunnel_url.clone());
    let app = Upstream::with(move |_| Some(spa(&a).into()));
    let stranger = Upstream::with(move |_| Some(stranger(&b).into()));
    // The browser opens the app's page and the stranger's itself: its own requests
    // (`Connection: keep-alive`) are not the proxy's to check.
    app.accept_direct_faults();
    stranger.accept_direct_faults();
    let port_arg = port.to_string();
    let args = [
        "tunnel",
        &app.url(),
        &tunnel_url,
        "--port",
        &port_arg,
        "--sdk-url",
        &ory.url(),
        "--debug",
    ];
    let tunnel = ProxyProcess::start_args(&args, &[]);

    browser.goto(&format!("{}/", app.url()));
    browser.wait_for("#done");
    let result = browser.text(&browser.wait_for("#result"));
    assert_eq!(
        result,
        "login 200; whoami 200 spa@example.org",
        "{}",
        tunnel.stderr()
    );
    let session_cookie = browser
        .cookies()
        .into_iter()
        .find(|c| c["name"] == "ory_kratos_session");
    // The cookie belongs to 127.0.0.1 (host-only, any port): the app's page sees it too.
    assert_eq!(
        session_cookie.expect("session cookie")["domain"],
        "127.0.0.1"
    );
    let whoamis = ory.whoami_calls();

    // Another origin: its preflight is refused, whoami is never asked.
    browser.goto(&format!("{}/", stranger.url()));
    browser.wait_for("#done");
    let result = browser.text(&browser.wait_for("#result"));
    assert!(result.starts_with("BLOCKED"), "{result}");
    tunnel.wait_for_log(|l| {
        l.contains("cors: preflight GET /sessions/whoami") && l.contains("denied")
    });
    assert_eq!(
        ory.whoami_calls(),
        whoamis,
        "the refused origin reached Ory"
    );
    eprintln!("browser tunnel test: {result}");
}
