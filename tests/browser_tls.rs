//! Headless Chromium through the proxy's own HTTPS port: signs in through the fake Ory's login
//! page, then the page (the Node application of `browser_realtime`) opens a `wss://`
//! WebSocket, reads server-sent events and POSTs with `fetch`, each reaching the application
//! with the user's token. Chromium trusts only the test's certificate, by its SPKI pin.

use crate::browser_realtime::{assert_page_worked, page_result, page_tokens};
use crate::util::browser_login::{submit_password_form, wait_for_flow_page};
use crate::util::certs::Cert;
use crate::util::external;
use crate::util::files::TempDir;
use crate::util::proxy::free_port;
use crate::util::webdriver::{no_browser, Browser};
use crate::util::{jwt, FakeOry, ProxyProcess};
use crate::websocket_clients::node_app;
use serde_json::Value;
use std::time::Duration;

/// The proxy's JWKS, fetched over HTTPS by curl trusting `cert`.
fn jwks_over_https(cert: &Cert, public: &str) -> Value {
    let mut curl = external::curl().expect("curl");
    curl.args(["-sS", "--fail", "--cacert"])
        .arg(&cert.cert)
        .arg(format!("{public}/.ory/jwks.json"));
    let body = external::run_ok(curl, Duration::from_secs(60));
    serde_json::from_str(&body).expect("JWKS")
}

#[test]
fn a_browser_signs_in_over_https_and_gets_its_token_on_a_wss_websocket() {
    let dir = TempDir::new("browser-tls");
    let cert = Cert::make(&dir, "proxy", "ec");
    let pin = format!(
        "--ignore-certificate-errors-spki-list={}",
        cert.spki_sha256()
    );
    let Some(browser) = Browser::start_with(&[pin]) else {
        return no_browser("https");
    };
    let Some(app) = node_app() else {
        return;
    };
    let ory = FakeOry::start();
    let port = free_port().to_string();
    let mut args: Vec<String> = cert.flags();
    args.extend([
        "--port".into(),
        port.clone(),
        "--require-session".into(),
        "/".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &args);
    // The default public URL is https:// on this port.
    let public = format!("https://localhost:{port}");

    browser.goto(&format!("{public}/page"));
    wait_for_flow_page(&browser, &public, "login");
    submit_password_form(&browser, "tls@example.org", "correct horse");

    let seen = page_result(&browser);
    assert_eq!(browser.url(), format!("{public}/page"));
    // The page opened its WebSocket as wss:// (an https:// page may not open ws://, and the
    // port answers plain HTTP with a 400).
    assert_page_worked(&seen, &proxy);
    let jwks = jwks_over_https(&cert, &public);
    for (what, token) in page_tokens(&seen, "wss:// websocket handshake") {
        let claims = jwt::verify_with_jwks(&jwks, token).claims;
        assert_eq!(
            claims["session"]["identity"]["traits"]["email"], "tls@example.org",
            "{what}"
        );
    }
    proxy.wait_for_log(|l| l.contains("GET /socket 101") && l.contains("session=active"));
}
