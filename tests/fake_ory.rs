//! `cargo run --example fake-ory`: the fake identity server on its own, kept running beside your
//! own application. It starts on the port asked for, says how to point a proxy at it, and a
//! proxy in front of an application signs a user in through it and hands the application a
//! token that verifies with the proxy's JWKS. Headless Chromium walks its pages through such a
//! proxy, and its own network log has no 404 on the way.

use crate::util::browser_login::{submit_password_form, wait_for_flow_page};
use crate::util::jwt;
use crate::util::login_flow::{set_cookie, sign_in};
use crate::util::netlog::listing;
use crate::util::proxy::{bearer_of, example_binary, free_port};
use crate::util::webdriver::{no_browser, Browser};
use crate::util::{ProxyProcess, Reply, Req, Upstream};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The running example; killed on drop.
struct FakeOryProcess {
    child: Child,
    /// The URL it printed.
    url: String,
    /// The lines it printed after the first.
    rest: Vec<String>,
}

impl Drop for FakeOryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(port: u16) -> FakeOryProcess {
    let mut child = Command::new(example_binary("fake-ory"))
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fake-ory");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(4)
            .collect();
        let _ = tx.send(lines);
    });
    let lines = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("fake-ory printed its lines");
    let url = lines[0]
        .strip_prefix("fake-ory: an Ory-shaped identity server on ")
        .unwrap_or_else(|| panic!("unexpected first line {:?}", lines[0]))
        .to_owned();
    FakeOryProcess {
        child,
        url,
        rest: lines[1..].to_vec(),
    }
}

#[test]
fn a_proxy_signs_in_through_the_kept_fake() {
    let port = free_port();
    let fake = start(port);
    assert_eq!(fake.url, format!("http://127.0.0.1:{port}"));
    assert_eq!(
        fake.rest[0],
        format!(
            "  point a proxy at it:  ory-proxy http://localhost:3000 --sdk-url {}",
            fake.url
        )
    );
    let app = Upstream::start();
    let proxy = ProxyProcess::start(&app.url(), &fake.url, &[]);
    let public = format!("http://{}", proxy.public_authority());

    // The login flow through the proxy, as a single-page app runs it (JSON, CSRF cookie).
    let r = sign_in(&proxy.url(""), &public, "kept@example.org", "x");
    let session = set_cookie(&r, "ory_kratos_session=").expect("session cookie");

    // Signed in: the application gets a token that verifies and names the user.
    let r = Req::get(&proxy.url("/account"))
        .header("Cookie", &session)
        .send();
    assert_eq!(r.status, 200);
    let token = bearer_of(&app.last_request()).expect("a token for the application");
    let claims = jwt::verify(&proxy, &token).claims;
    assert_eq!(claims["iss"], fake.url, "{claims}");
    assert_eq!(
        claims["session"]["identity"]["traits"]["email"], "kept@example.org",
        "{claims}"
    );
}

/// A page of the application: whether the proxy sent a token with the request.
fn account(req: &crate::util::Recorded) -> Reply {
    let token = if bearer_of(req).is_some() {
        "with a token"
    } else {
        "anonymous"
    };
    Reply::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><title>Account</title></head>\
             <body><p id=\"account\">{token}</p></body></html>"
        ))
}

#[test]
fn a_real_browser_walks_the_kept_fakes_pages() {
    let Some(browser) = Browser::start() else {
        return no_browser("fake-ory");
    };
    let fake = start(free_port());
    let app = Upstream::with(|req| {
        ["/", "/account"]
            .contains(&req.path())
            .then(|| account(req).into())
    });
    let proxy = ProxyProcess::start(&app.url(), &fake.url, &[]);
    let public = format!("http://{}", proxy.public_authority());

    // Sign in without saying where to go afterwards, as someone trying the fake does, and
    // follow the page's link to sign up instead.
    browser.goto(&format!("{public}/.ory/self-service/login/browser"));
    browser.wait_for("input[name=identifier]");
    browser.click(&browser.wait_for("#signup"));
    wait_for_flow_page(&browser, &public, "registration");
    submit_password_form(&browser, "walker@example.org", "x");

    // Ory's welcome page, where a browser goes after signing in without a return_to, is the
    // application's home behind the proxy.
    let home = browser.wait_for("#account");
    assert_eq!(browser.url(), format!("{public}/"));
    assert_eq!(browser.text(&home), "with a token");

    // The second factor, then the application, which gets a token.
    let account_url = format!("{public}/account");
    let return_to = account_url.replace(':', "%3A").replace('/', "%2F");
    browser.goto(&format!(
        "{public}/.ory/self-service/login/browser?aal=aal2&return_to={return_to}"
    ));
    let code_field = browser.wait_for("input[name=totp_code]");
    let code = browser.text(&browser.wait_for("#code"));
    browser.type_into(&code_field, &code);
    browser.click(&browser.wait_for("button[type=submit]"));
    let account = browser.wait_for("#account");
    assert_eq!(browser.url(), account_url);
    assert_eq!(browser.text(&account), "with a token");
    let last = app
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path() == "/account")
        .expect("the application saw /account");
    let claims = jwt::verify(&proxy, &bearer_of(&last).expect("a token")).claims;
    assert_eq!(
        claims["session"]["authenticator_assurance_level"], "aal2",
        "{claims}"
    );

    // Sign out without a return_to either, as a page does with Ory's JSON: Ory's sign-in page
    // again.
    browser.goto(&format!("{public}/.ory/self-service/logout/browser"));
    let logout: serde_json::Value =
        serde_json::from_str(&browser.text(&browser.wait_for("pre"))).expect("logout JSON");
    let logout_url = logout["logout_url"].as_str().expect("logout_url");
    assert!(logout_url.starts_with(&public), "{logout}");
    browser.goto(logout_url);
    wait_for_flow_page(&browser, &public, "login");
    assert!(
        !browser
            .cookies()
            .iter()
            .any(|c| c["name"] == "ory_kratos_session"),
        "signed out"
    );

    // Everything the browser asked for on the way, as its own network log says: no 404, and the
    // pages' script and the application's icon were asked for and found.
    let seen = browser.assert_no_404();
    for path in ["/.ory/.well-known/ory/webauthn.js", "/favicon.ico"] {
        let url = format!("{public}{path}");
        assert!(
            seen.iter().any(|r| r.url == url && r.status == 200),
            "{url} was not loaded; the browser received:\n{}",
            listing(&seen)
        );
    }
}
