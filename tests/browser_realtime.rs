//! Headless Chromium talks to a Node application (its own http server and a `ws`
//! WebSocketServer, `tests/clients/realtime_app.js`) through the proxy: a page opens a WebSocket
//! with a subprotocol and exchanges a text and a binary message, reads server-sent events with
//! `EventSource`, and POSTs with `fetch` and `credentials: 'include'`. Anonymous, and behind
//! `--require-session` after signing in through the fake Ory's login page, where the WebSocket
//! handshake and the `fetch` must reach the application with the signed-in user's token.
//!
//! Chromium is the client that refused the proxy's 101 without `Upgrade` ("'Upgrade' header is
//! missing") while every project-written test passed.

use crate::util::browser_login::{submit_password_form, wait_for_flow_page};
use crate::util::webdriver::{no_browser, Browser};
use crate::util::{jwt, FakeOry, ProxyProcess};
use crate::websocket_clients::node_app;
use serde_json::{json, Value};

/// Waits for the page's script to finish and returns what it wrote into `#result`.
pub fn page_result(browser: &Browser) -> Value {
    browser.wait_for("#done");
    let text = browser.text(&browser.wait_for("#result"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// What every run of the page must show, signed in or not: the WebSocket with its subprotocol,
/// both echoes and a clean close; three events in order; the POST answered.
pub fn assert_page_worked(seen: &Value, proxy: &ProxyProcess) {
    let ws = &seen["ws"];
    assert_eq!(
        ws.get("error"),
        None,
        "the WebSocket failed: {seen}\n{}",
        proxy.stderr()
    );
    assert_eq!(ws["protocol"], "chat.v1", "{seen}");
    assert_eq!(ws["hello"]["subprotocol"], "chat.v1", "{seen}");
    assert_eq!(ws["hello"]["path"], "/socket?from=page", "{seen}");
    assert_eq!(ws["text"], "text from the browser", "{seen}");
    assert_eq!(ws["binary"], json!([0, 1, 2, 254, 255]), "{seen}");
    assert_eq!(ws["close"], json!({"code": 1000, "clean": true}), "{seen}");
    assert_eq!(
        seen["sse"],
        json!({"events": ["event 1 #1", "event 2 #2", "event 3 #3"]}),
        "{seen}"
    );
    let fetch = &seen["fetch"];
    assert_eq!(fetch["status"], 200, "{seen}");
    assert_eq!(fetch["json"]["method"], "POST", "{seen}");
    assert_eq!(fetch["json"]["path"], "/api/echo?via=fetch", "{seen}");
    assert_eq!(fetch["json"]["body"], "posted by fetch", "{seen}");
    assert_eq!(seen.get("timeout"), None, "{seen}");
}

/// The tokens the application received from the page, on the WebSocket handshake (named
/// `handshake` in the failure messages) and on the `fetch`, each with where it came.
pub fn page_tokens<'a>(seen: &'a Value, handshake: &'a str) -> [(&'a str, &'a str); 2] {
    [
        (handshake, &seen["ws"]["hello"]["authorization"]),
        ("fetch", &seen["fetch"]["json"]["authorization"]),
    ]
    .map(|(what, authorization)| {
        let bearer = authorization
            .as_str()
            .unwrap_or_else(|| panic!("no token on the {what}: {seen}"));
        (
            what,
            bearer.strip_prefix("Bearer ").expect("a bearer token"),
        )
    })
}

#[test]
fn a_browser_uses_websocket_eventsource_and_fetch_through_the_proxy() {
    let Some(browser) = Browser::start() else {
        return no_browser("realtime");
    };
    let Some(app) = node_app() else {
        return;
    };
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &[]);
    browser.goto(&proxy.url("/page"));
    let seen = page_result(&browser);
    assert_page_worked(&seen, &proxy);
    // Anonymous: the application got no token, on the socket or the POST.
    assert_eq!(seen["ws"]["hello"]["authorization"], Value::Null, "{seen}");
    assert_eq!(
        seen["fetch"]["json"]["authorization"],
        Value::Null,
        "{seen}"
    );
    proxy.wait_for_log(|l| l.contains("GET /socket 101"));
    eprintln!("browser realtime test (anonymous): {seen}");
}

#[test]
fn a_signed_in_browser_gets_its_token_on_the_websocket_and_fetch() {
    let Some(browser) = Browser::start() else {
        return no_browser("realtime, signed in");
    };
    let Some(app) = node_app() else {
        return;
    };
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start_public(&app.url(), &ory.url(), &["--require-session", "/"]);
    let public = proxy.url("");

    // Anonymous, the page is not served: the browser lands on the login page.
    browser.goto(&format!("{public}/page"));
    let login_url = wait_for_flow_page(&browser, &public, "login");
    submit_password_form(&browser, "carol@example.org", "correct horse");

    // Back on the page, signed in; its script runs with the session cookie.
    let seen = page_result(&browser);
    assert_eq!(browser.url(), format!("{public}/page"));
    assert_page_worked(&seen, &proxy);
    let mut subjects = Vec::new();
    for (what, token) in page_tokens(&seen, "websocket handshake") {
        let claims = jwt::verify(&proxy, token).claims;
        assert_eq!(
            claims["session"]["identity"]["traits"]["email"], "carol@example.org",
            "{what}"
        );
        subjects.push(claims["sub"].clone());
    }
    assert_eq!(subjects[0], subjects[1], "one user on both");
    proxy.wait_for_log(|l| l.contains("GET /socket 101") && l.contains("session=active"));
    eprintln!("browser realtime test (signed in via {login_url}): {seen}");
}
