//! WebSockets and plain requests through the proxy with clients and servers the project did not
//! write: Python `websockets` (client and server) and Node `ws` (client and server) and Node's
//! built-in `fetch`. Our own client in `util/ws.rs` once passed a handshake every one of these
//! refused (a 101 without `Upgrade` and `Connection`); these are the proof that real clients
//! accept what the proxy sends.
//!
//! The client scripts (`tests/clients/*.py`, `*.js`) print one JSON line of what they saw and exit
//! non-zero on any protocol error, so a refused handshake fails the test with the library's own
//! words.

use crate::util::external::{self, ExternalServer};
use crate::util::{jwt, FakeOry, ProxyProcess};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

pub const PY_SERVER: &str = include_str!("clients/ws_server.py");
pub const PY_CLIENT: &str = include_str!("clients/ws_client.py");
const NODE_APP: &str = include_str!("clients/realtime_app.js");
const NODE_CLIENT: &str = include_str!("clients/ws_client.js");
const LIMIT: Duration = Duration::from_secs(60);

/// Runs a client script to its end (it must succeed); the one JSON line it printed.
fn json_output(cmd: Command) -> Value {
    let out = external::run_ok(cmd, LIMIT);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Runs the Python client against `url` (with a `Cookie` when given); its JSON output.
pub fn python_client(url: &str, cookie: Option<&str>) -> Option<Value> {
    let mut cmd = external::python()?;
    cmd.arg("-c").arg(PY_CLIENT).arg(url);
    if let Some(c) = cookie {
        cmd.arg(c);
    }
    Some(json_output(cmd))
}

/// Runs the Node script `script` with `args`; its JSON output, or `None` (skipped) without Node.
fn node_client(script: &str, args: &[String]) -> Option<Value> {
    let mut cmd = external::node()?;
    cmd.arg("-e").arg(script).args(args);
    Some(json_output(cmd))
}

/// The Node application (`tests/clients/realtime_app.js`: HTTP, server-sent events and a `ws`
/// server) behind the proxy, or `None` (skipped) without Node.
pub fn node_app() -> Option<ExternalServer> {
    let mut cmd = external::node()?;
    cmd.arg("-e").arg(NODE_APP);
    Some(ExternalServer::start(cmd))
}

/// The 101 as a client library read it (what it checks before it accepts the connection), and
/// the subprotocol the server chose, `chat.v1`, passed through both ways.
fn assert_handshake(seen: &Value) {
    assert_eq!(seen["status"], 101, "{seen}");
    assert_eq!(seen["upgrade"], "websocket", "{seen}");
    assert_eq!(seen["connection"], "Upgrade", "{seen}");
    assert_eq!(seen["subprotocol"], "chat.v1", "{seen}");
    assert_eq!(seen["hello"]["subprotocol"], "chat.v1", "{seen}");
}

fn ws_url(proxy: &ProxyProcess, path: &str) -> String {
    proxy.url(path).replacen("http://", "ws://", 1)
}

#[test]
fn python_websockets_client_and_server_through_the_proxy() {
    let Some(mut server) = external::python() else {
        return;
    };
    let app = ExternalServer::start({
        server.arg("-c").arg(PY_SERVER);
        server
    });
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &[]);
    let session = ory.create_session("py@example.org");

    let Some(seen) = python_client(&ws_url(&proxy, "/live?x=1"), Some(&session.cookie())) else {
        return;
    };
    assert_handshake(&seen);
    // permessage-deflate, passed through both ways.
    let extensions = seen["extensions"].as_str().unwrap_or_default();
    assert!(extensions.starts_with("permessage-deflate"), "{seen}");
    assert_eq!(seen["hello"]["extensions"], extensions, "{seen}");
    // Text, a 200 kB text and binary echoed unchanged; a clean close both ways.
    assert_eq!(
        seen["echoes"],
        serde_json::json!(["str ok", "str ok", "bytes ok"])
    );
    assert_eq!(
        (&seen["close_sent"], &seen["close_rcvd"]),
        (&1000.into(), &1000.into())
    );
    // The application saw the handshake with the verified user's token.
    assert_eq!(seen["hello"]["path"], "/live?x=1");
    let bearer = seen["hello"]["authorization"].as_str().expect("a token");
    let token = bearer.strip_prefix("Bearer ").expect("a bearer token");
    let verified = jwt::verify(&proxy, token);
    assert_eq!(verified.claims["sub"], session.identity_id.as_str());
    assert_eq!(
        verified.claims["session"]["identity"]["traits"]["email"],
        "py@example.org"
    );

    // Without a session: the same socket, and no token.
    let anonymous = python_client(&ws_url(&proxy, "/anon"), None).expect("python");
    assert_eq!(
        anonymous["hello"]["authorization"],
        Value::Null,
        "{anonymous}"
    );
    assert_eq!(anonymous["echoes"][0], "str ok", "{anonymous}");
    proxy.wait_for_log(|l| l.contains("GET /live 101") && l.contains("session=active"));
}

#[test]
fn node_ws_client_and_server_through_the_proxy() {
    let Some(app) = node_app() else {
        return;
    };
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &["--no-jwt"]);
    let Some(seen) = node_client(NODE_CLIENT, &[ws_url(&proxy, "/socket?n=1")]) else {
        return;
    };
    assert_handshake(&seen);
    assert_eq!(seen["hello"]["path"], "/socket?n=1", "{seen}");
    assert_eq!(seen["echoes"], serde_json::json!(["text ok", "binary ok"]));
    assert_eq!(seen["close"], 1000, "{seen}");
}

#[test]
fn node_fetch_get_and_post_through_the_proxy() {
    let Some(app) = node_app() else {
        return;
    };
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &[]);
    let session = ory.create_session("node@example.org");
    let script = "const [base, cookie] = process.argv.slice(1);\
        (async () => {\
          const get = await fetch(base + '/api/echo?q=1');\
          const post = await fetch(base + '/api/echo', {method: 'POST', body: 'a body',\
            headers: {'Content-Type': 'text/plain', Cookie: cookie}});\
          console.log(JSON.stringify({get: [get.status, await get.json()],\
            post: [post.status, await post.json()]}));\
        })().catch((e) => { console.error(e); process.exit(1); });";
    let Some(seen) = node_client(script, &[proxy.url(""), session.cookie()]) else {
        return;
    };
    let (get, post) = (&seen["get"], &seen["post"]);
    assert_eq!(get[0], 200, "{seen}");
    assert_eq!(get[1]["method"], "GET", "{seen}");
    assert_eq!(get[1]["path"], "/api/echo?q=1", "{seen}");
    assert_eq!(get[1]["authorization"], Value::Null, "{seen}");
    assert_eq!(post[0], 200, "{seen}");
    assert_eq!(post[1]["method"], "POST", "{seen}");
    assert_eq!(post[1]["body"], "a body", "{seen}");
    let bearer = post[1]["authorization"]
        .as_str()
        .expect("a token on the POST");
    let verified = jwt::verify(&proxy, bearer.strip_prefix("Bearer ").expect("bearer"));
    assert_eq!(verified.claims["sub"], session.identity_id.as_str());
}
