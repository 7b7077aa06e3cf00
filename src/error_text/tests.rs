//! Tests of the words for each error: the hop, the target, the fix, the HTML page.

use super::*;

fn hops() -> Hops {
    Hops {
        upstream: "http://127.0.0.1:3000".into(),
        ory: "https://acme.projects.oryapis.com".into(),
        ory_setting: "--sdk-url".into(),
    }
}

#[test]
fn unreachable_app_names_the_url_and_the_fix() {
    let e = Error::UpstreamUnreachable("io: Connection refused (os error 111)".into());
    let x = explain(&e, &hops());
    assert_eq!(
        x.summary,
        "cannot reach your application at http://127.0.0.1:3000 (connection refused) — is it running?"
    );
    assert_eq!(x.hop, "your application");
}

#[test]
fn unresolvable_ory_names_the_host_and_the_flag() {
    let e = Error::OryUnreachable(
        "io: failed to lookup address information: Name or service not known".into(),
    );
    assert_eq!(
        explain(&e, &hops()).summary,
        "cannot resolve Ory's host 'acme.projects.oryapis.com' — check --sdk-url"
    );
    let e = Error::SessionLookupFailed("host not found".into());
    let mut h = hops();
    h.ory_setting = "--project".into();
    assert_eq!(
        explain(&e, &h).summary,
        "cannot resolve Ory's host 'acme.projects.oryapis.com' — check --project"
    );
}

#[test]
fn timeouts_name_the_flag() {
    let e = Error::UpstreamTimeout("receive response".into());
    let s = explain(&e, &hops()).summary;
    assert!(
        s.starts_with("your application at http://127.0.0.1:3000 did not answer in time"),
        "{s}"
    );
    assert!(s.contains("--upstream-timeout"), "{s}");
    let e = Error::OryTimeout("connect".into());
    assert!(explain(&e, &hops()).summary.contains("--connect-timeout"));
    let e = Error::OryTimeout("session lookup: timeout: global".into());
    let x = explain(&e, &hops());
    assert!(
        x.summary.contains("raise --session-timeout"),
        "{}",
        x.summary
    );
    assert_eq!(x.hop, "the session lookup (Ory)");
}

#[test]
fn html_is_preferred_only_when_asked_for() {
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    assert!(wants_html(Some(browser)));
    assert!(wants_html(Some("text/html")));
    assert!(!wants_html(None));
    assert!(!wants_html(Some("*/*")));
    assert!(!wants_html(Some("application/json")));
    assert!(!wants_html(Some("application/json, text/html")));
    assert!(!wants_html(Some("text/html;q=0.5, application/json")));
    assert!(wants_html(Some("application/json;q=0.5, text/html")));
}

#[test]
fn a_bad_handshake_is_not_called_unreachable() {
    let e = Error::BadHandshake("the upstream answered the WebSocket upgrade without x".into());
    let x = explain(&e, &hops());
    assert_eq!(
        x.summary,
        "the upstream answered the WebSocket upgrade without x"
    );
    assert_eq!(x.hop, "the WebSocket server behind the proxy");
    assert_eq!(e.status(), 502);
}

#[test]
fn html_page_says_what_where_and_which_id() {
    let e = Error::UpstreamUnreachable("io: Connection refused".into());
    let page = html_page(&e, &explain(&e, &hops()), "abc<1>");
    assert!(page.contains("<title>502 Bad Gateway</title>"));
    assert!(page.contains("<p>Cannot reach your application at http://127.0.0.1:3000"));
    assert!(page.contains("<dd>your application</dd>"));
    assert!(page.contains("<code>abc&lt;1&gt;</code>"), "escaped id");
}
