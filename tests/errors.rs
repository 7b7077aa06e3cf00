//! The proxy's own answers when something breaks (SPEC §4 last bullet): JSON in Ory's error
//! shape, one stderr line each, and a proxy that keeps serving afterwards.

use crate::util::client::{get, raw_exchange, RawResponse};
use crate::util::upstream::dead_url;
use crate::util::{Action, FakeOry, ProxyProcess, Reply, Req, Upstream};
use std::time::Duration;

#[test]
fn dead_upstream_is_a_json_502_with_a_log_line() {
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&dead_url(), &ory.url(), &[]);
    let r = get(&proxy.url("/app/page?secret=1"), &[]);
    let message = r.assert_proxy_error(502);
    assert!(message.contains("upstream"), "{message}");
    let v = r.json();
    assert_eq!(v["error"]["status"], "Bad Gateway");
    assert!(
        r.text()
            .starts_with(r#"{"error":{"code":502,"status":"Bad Gateway","message":"#),
        "Ory's field order: {}",
        r.text()
    );
    let line = proxy.wait_for_log(|l| l.contains("ERROR") && l.contains("/app/page"));
    assert!(line.contains("502") && !line.contains("secret=1"), "{line}");
    // Ory stays reachable through the same proxy.
    ory.set_hook(|_| Some(Reply::new(200).body("ory ok").into()));
    assert_eq!(get(&proxy.url("/.ory/health"), &[]).text(), "ory ok");
}

#[test]
fn dead_ory_is_a_json_502_for_ory_paths() {
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &dead_url(), &[]);
    let r = get(&proxy.url("/.ory/self-service/login/browser"), &[]);
    let message = r.assert_proxy_error(502);
    assert!(message.contains("ory"), "{message}");
    proxy.wait_for_log(|l| l.contains("ERROR") && l.contains("/.ory/self-service"));
}

#[test]
fn upstream_closing_without_an_answer_is_502() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.set_hook(|r| (r.path() == "/close").then_some(Action::Close));
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    get(&proxy.url("/close"), &[]).assert_proxy_error(502);
    assert_eq!(get(&proxy.url("/fine"), &[]).status, 200);
}

#[test]
fn truncated_upstream_body_closes_the_client_connection() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(Reply::new(200).truncated(100_000, vec![b'a'; 1000]));
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let bytes = raw_exchange(
        proxy.addr,
        b"GET /short HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    // A body cut short: only the head is read strictly, the rest as it came.
    let r = RawResponse::reading().head_only().parse(&bytes);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("100000"));
    assert!(
        r.after_head.len() < 100_000,
        "cannot have sent what never came"
    );
    proxy.wait_for_log(|l| l.contains("ERROR") && l.contains("/short"));
    upstream.clear_hook();
    assert_eq!(get(&proxy.url("/again"), &[]).status, 200);
}

#[test]
fn upstream_errors_pass_through_untouched() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(
        Reply::new(503)
            .header("Content-Type", "text/plain")
            .header("Retry-After", "3")
            .body("maintenance"),
    );
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let r = get(&proxy.url("/"), &[]);
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "maintenance");
    assert_eq!(r.header("retry-after"), Some("3"));
}

#[test]
fn every_request_gets_an_access_log_line() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    assert_eq!(get(&proxy.url("/logged?token=hidden"), &[]).status, 200);
    let line = proxy.wait_for_log(|l| l.contains("GET /logged"));
    assert!(line.contains(" 200 ") && line.contains("ms"), "{line}");
    assert!(!line.contains("hidden"), "queries stay out of logs: {line}");
}

#[test]
fn slow_upstream_is_waited_for() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(
        Reply::new(200)
            .body("late")
            .delay(Duration::from_millis(1500)),
    );
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    assert_eq!(get(&proxy.url("/"), &[]).text(), "late");
}

#[test]
fn failures_do_not_leak_connections() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.set_hook(|r| (r.path() == "/close").then_some(Action::Close));
    ory.set_whoami(crate::util::Whoami::Status(500));
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--max-connections", "4"]);
    for _ in 0..10 {
        get(&proxy.url("/close"), &[]).assert_proxy_error(502);
        Req::get(&proxy.url("/x"))
            .header("Cookie", "ory_kratos_session=s")
            .send()
            .assert_proxy_error(502);
        let bytes = raw_exchange(proxy.addr, b"GARBAGE\r\n\r\n");
        let r = RawResponse::parse(&bytes);
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(r.json()["error"]["code"], 400);
    }
    assert_eq!(get(&proxy.url("/still-serving"), &[]).status, 200);
}

#[test]
fn a_101_to_a_request_without_upgrade_is_a_502() {
    // RFC 9110 §15.2.2: a server must not switch protocols the client did not ask for. Passed
    // on, the client would believe the connection switched while the proxy keeps speaking HTTP.
    use crate::util::raw::{read_head, RawServer};
    use std::io::Write;
    let upstream = RawServer::start(|mut stream| {
        if read_head(&mut stream).is_ok() {
            let _ = stream.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: upgrade\r\n\r\nraw bytes",
            );
        }
    });
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let r = RawResponse::parse(&raw_exchange(
        proxy.addr,
        b"GET /plain HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ));
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["error"]["code"], 502);
    proxy.wait_for_log(|l| l.contains("GET /plain") && l.contains("101"));
}

#[test]
fn start_up_warns_about_an_unreachable_app_and_ory_but_starts() {
    let (app, ory) = (dead_url(), dead_url());
    let proxy = ProxyProcess::start(&app, &ory, &[]);
    proxy.wait_for_log(|l| {
        l.ends_with(&format!(
            " WARN start-up check: cannot reach your application at {app} (connection \
             refused) — is it running?"
        ))
    });
    proxy.wait_for_log(|l| {
        l.ends_with(&format!(
            " WARN start-up check: cannot reach Ory at {ory} (connection refused) — is it \
             running?"
        ))
    });
    // It serves anyway: its own endpoints answer.
    assert_eq!(get(&proxy.url("/.ory/proxy/health/alive"), &[]).status, 200);
}

#[test]
fn start_up_check_is_quiet_when_both_hops_answer() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    // The check runs in the background; a request served after it proves it had time.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get(&proxy.url("/x"), &[]).status, 200);
    proxy.wait_for_log(|l| l.contains("GET /x 200"));
    assert!(
        !proxy.stderr().contains("start-up check"),
        "{}",
        proxy.stderr()
    );
}

#[test]
fn browsers_get_an_html_page_and_everyone_else_json() {
    let ory = FakeOry::start();
    let app = dead_url();
    let proxy = ProxyProcess::start(&app, &ory.url(), &[]);
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let r = Req::get(&proxy.url("/dashboard"))
        .header("Accept", browser)
        .header("X-Request-Id", "req-html-1")
        .send();
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let page = r.text();
    for needle in [
        "<title>502 Bad Gateway</title>",
        &format!("Cannot reach your application at {app} (connection refused) — is it running?"),
        "<dt>Which hop</dt><dd>your application</dd>",
        "<code>req-html-1</code>",
    ] {
        assert!(page.contains(needle), "{needle} not in {page}");
    }
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("application/json, text/html"),
    ] {
        let mut req = Req::get(&proxy.url("/dashboard"));
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        let r = req.send();
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{accept:?}"
        );
        assert_eq!(r.json()["error"]["code"], 502, "{accept:?}");
    }
}

#[test]
fn a_failed_request_is_one_line_naming_target_fix_and_request_id() {
    let ory = FakeOry::start();
    let app = dead_url();
    let proxy = ProxyProcess::start(&app, &ory.url(), &[]);
    let r = Req::get(&proxy.url("/one-line"))
        .header("X-Request-Id", "req-one-line")
        .send();
    assert_eq!(r.status, 502);
    let line = proxy.wait_for_log(|l| l.contains("/one-line"));
    assert!(
        line.contains(" ERROR GET /one-line 502 ")
            && line.contains(" id=req-one-line ")
            && line.ends_with(&format!(
                " error=\"cannot reach your application at {app} (connection refused) — is it \
                 running?\""
            )),
        "{line}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let stderr = proxy.stderr();
    assert_eq!(stderr.matches("/one-line").count(), 1, "{stderr}");
}

#[test]
fn an_unresolvable_ory_host_is_named_with_the_flag() {
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), "http://no-such-host.invalid", &[]);
    let r = get(&proxy.url("/.ory/self-service/login/browser"), &[]);
    r.assert_proxy_error(502);
    let line = proxy.wait_for_log(|l| l.contains("/.ory/self-service/login/browser"));
    assert!(
        line.ends_with(
            " error=\"cannot resolve Ory's host 'no-such-host.invalid' — check --sdk-url\""
        ),
        "{line}"
    );
}
