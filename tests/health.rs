//! `/.ory/proxy/health/alive` and `/ready`: alive while serving; ready exactly while Ory and the
//! upstream accept connections, following them as they stop and come back.

use crate::util::head_request::head_mirrors_get;
use crate::util::proxy::free_port;
use crate::util::upstream::dead_url;
use crate::util::{wait_until, FakeOry, ProxyProcess, Req, Upstream};
use std::net::TcpListener;

fn ready(proxy: &ProxyProcess) -> (u16, serde_json::Value) {
    let r = Req::get(&proxy.url("/.ory/proxy/health/ready")).send();
    assert_eq!(r.header("content-type"), Some("application/json"));
    (r.status, r.json())
}

fn alive(proxy: &ProxyProcess) -> u16 {
    Req::get(&proxy.url("/.ory/proxy/health/alive"))
        .send()
        .status
}

#[test]
fn ready_follows_the_identity_server_stopping() {
    let ory = FakeOry::start();
    let ory_addr = ory.authority();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);

    let r = Req::get(&proxy.url("/.ory/proxy/health/alive")).send();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(ready(&proxy), (200, serde_json::json!({"status": "ok"})));

    drop(ory);
    let body = wait_until("ready to turn 503", || {
        let (status, body) = ready(&proxy);
        (status == 503).then_some(body)
    });
    assert_eq!(body["status"], "unavailable");
    let why = body["errors"]["ory"].as_str().expect("ory named");
    assert!(why.contains(&ory_addr), "{why}");
    assert!(body["errors"].get("upstream").is_none(), "{body}");
    assert_eq!(alive(&proxy), 200, "alive does not depend on Ory");
    // Health requests are the proxy's own: nothing was forwarded to the upstream.
    assert_eq!(upstream.request_count(), 0);
}

#[test]
fn ready_turns_200_when_both_hops_come_up() {
    // Ory and the upstream at ports where nothing listens yet.
    let ory_port = free_port();
    let upstream_port = loop {
        let p = free_port();
        if p != ory_port {
            break p;
        }
    };
    let proxy = ProxyProcess::start(
        &format!("http://127.0.0.1:{upstream_port}"),
        &format!("http://127.0.0.1:{ory_port}"),
        &[],
    );
    let (status, body) = ready(&proxy);
    assert_eq!(status, 503);
    assert!(body["errors"]["ory"].is_string(), "{body}");
    assert!(body["errors"]["upstream"].is_string(), "{body}");

    let _ory = TcpListener::bind(("127.0.0.1", ory_port)).expect("ory port still free");
    let body = wait_until("only the upstream to be missing", || {
        let (_, body) = ready(&proxy);
        body["errors"].get("ory").is_none().then_some(body)
    });
    assert!(body["errors"]["upstream"].is_string(), "{body}");

    let _upstream = TcpListener::bind(("127.0.0.1", upstream_port)).expect("port still free");
    wait_until("ready to turn 200", || {
        (ready(&proxy).0 == 200).then_some(())
    });
}

#[test]
fn a_dead_upstream_is_named_and_health_is_read_only() {
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&dead_url(), &ory.url(), &["--no-jwt"]);
    let (status, body) = ready(&proxy);
    assert_eq!(status, 503);
    assert!(body["errors"]["upstream"].is_string(), "{body}");
    assert!(body["errors"].get("ory").is_none(), "{body}");
    // Health works under --no-jwt as well, and only for GET and HEAD.
    assert_eq!(alive(&proxy), 200);
    // HEAD answers as GET would, without the body, and the connection goes on.
    let alive = head_mirrors_get(proxy.addr, "/.ory/proxy/health/alive", "application/json");
    assert_eq!(alive.head_status, 200);
    assert_eq!(alive.get.body, br#"{"status":"ok"}"#);
    let ready = head_mirrors_get(proxy.addr, "/.ory/proxy/health/ready", "application/json");
    assert_eq!(ready.head_status, 503);
    assert_eq!(ready.get.json()["status"], "unavailable");
    let post = Req::post(&proxy.url("/.ory/proxy/health/alive")).send();
    post.assert_proxy_error(405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    // Neighbours of the health paths are not served and not forwarded.
    Req::get(&proxy.url("/.ory/proxy/health"))
        .send()
        .assert_proxy_error(404);
    Req::get(&proxy.url("/.ory/proxy/health/alive/x"))
        .send()
        .assert_proxy_error(404);
    assert_eq!(ory.forwarded_requests().len(), 0);
}
