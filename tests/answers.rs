//! Every kind of answer the proxy writes, read by h11 (`tests/clients/h11_answers.py`), a strict
//! HTTP/1.1 implementation the project did not write: its own answers (JSON and HTML errors,
//! JWKS, health, metrics, a CORS preflight, the 101 of a WebSocket), relayed ones (HEAD, 204,
//! 304, chunked, an echo of a POST) and the refusals of hostile requests (400, 408, 413, 431,
//! 503), each read without an h11 protocol error; answers that keep the connection are followed
//! by a second request on it, refusals by the close.

use crate::util::external;
use crate::util::ws::WsEcho;
use crate::util::{Action, FakeOry, ProxyProcess, Reply, Upstream};
use serde_json::{json, Value};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/h11_answers.py");

/// Runs the h11 client on `cases`; `None` when Python is not installed (skipped).
fn h11(addr: SocketAddr, cases: &Value) -> Option<Vec<Vec<Value>>> {
    let mut cmd = external::python()?;
    cmd.arg(SCRIPT).arg(addr.to_string()).arg(cases.to_string());
    let out = external::run_ok(cmd, Duration::from_secs(60));
    Some(serde_json::from_str(&out).expect("h11 client output"))
}

/// An upstream that answers 204, 304, a chunked body or hangs on some paths, else echoes.
fn upstream() -> Upstream {
    Upstream::with(|req| match req.path() {
        "/u204" => Some(Action::Reply(Reply::new(204))),
        "/u304" => Some(Action::Reply(Reply::new(304).header("ETag", "\"v1\""))),
        "/chunked" => Some(Action::Reply(
            Reply::new(200).chunked(vec![b"hello ".to_vec(), b"world".to_vec()], Duration::ZERO),
        )),
        "/hang" => Some(Action::Hang),
        _ => None,
    })
}

fn get(target: &str) -> Value {
    json!({"method": "GET", "target": target, "again": true})
}

/// Asserts the answers of one case: their statuses, and that the connection was kept between
/// them (and after the last when `kept`) or closed after the last.
fn check(name: &str, answers: &[Value], statuses: &[u64], kept: bool) {
    let got: Vec<u64> = answers
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(got, statuses, "{name}: {answers:#?}");
    let last = answers.last().unwrap();
    for a in &answers[..answers.len() - 1] {
        assert_eq!(a["kept"], true, "{name}: {answers:#?}");
    }
    assert_eq!(last["kept"], kept, "{name}: {answers:#?}");
    assert_eq!(last["closed"], !kept, "{name}: {answers:#?}");
}

fn header<'a>(answer: &'a Value, name: &str) -> &'a str {
    answer["headers"][name].as_str().unwrap_or("")
}

fn json_error(answer: &Value, code: u64) {
    assert!(header(answer, "content-type").starts_with("application/json"));
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], code, "{answer:#?}");
}

#[test]
fn h11_reads_the_proxys_own_and_relayed_answers_on_kept_connections() {
    let ory = FakeOry::start();
    let upstream = upstream();
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &[
            "--metrics",
            "--require-session",
            "/admin",
            "--allowed-cors-origins",
            "https://app.example",
        ],
    );
    let html = [["Accept", "text/html"]];
    let cases = json!([
        get("/.ory/proxy/nope"),
        {"method": "GET", "target": "/.ory/proxy/nope", "headers": html, "again": true},
        get("/admin"),
        {"method": "GET", "target": "/admin", "headers": html, "again": true},
        get("/.ory/jwks.json"),
        get("/.ory/proxy/health/alive"),
        get("/.ory/proxy/metrics"),
        {"method": "OPTIONS", "target": "/api", "again": true, "headers": [
            ["Origin", "https://app.example"], ["Access-Control-Request-Method", "PUT"]]},
        {"method": "HEAD", "target": "/thing", "again": true},
        get("/u204"),
        get("/u304"),
        get("/chunked"),
        {"method": "POST", "target": "/echo", "body": "posted", "again": true},
    ]);
    let Some(all) = h11(proxy.addr, &cases) else {
        return;
    };
    let [nf, nf_html, admin, admin_html, jwks, alive, metrics, preflight, head, no_content, not_modified, chunked, post] =
        &all[..]
    else {
        panic!("{all:#?}")
    };
    check("404", nf, &[404, 404], true);
    json_error(&nf[1], 404);
    check("404 html", nf_html, &[404, 404], true);
    assert!(header(&nf_html[0], "content-type").starts_with("text/html"));
    assert!(nf_html[0]["body"].as_str().unwrap().contains("<html"));
    check("401", admin, &[401, 401], true);
    json_error(&admin[0], 401);
    assert_eq!(header(&admin[0], "www-authenticate"), "Bearer");
    check("303", admin_html, &[303, 303], true);
    assert!(header(&admin_html[0], "location").contains("login"));
    check("jwks", jwks, &[200, 200], true);
    let keys: Value = serde_json::from_str(jwks[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(keys["keys"][0]["alg"], "ES256");
    check("alive", alive, &[200, 200], true);
    check("metrics", metrics, &[200, 200], true);
    assert!(metrics[0]["body"].as_str().unwrap().contains("ory_proxy_"));
    check("preflight", preflight, &[204, 204], true);
    assert_eq!(
        header(&preflight[0], "access-control-allow-origin"),
        "https://app.example"
    );
    check("head", head, &[200, 200], true);
    assert_eq!(head[0]["body"], "");
    assert_ne!(header(&head[0], "content-length"), "");
    check("204", no_content, &[204, 204], true);
    check("304", not_modified, &[304, 304], true);
    assert_eq!(header(&not_modified[0], "etag"), "\"v1\"");
    check("chunked", chunked, &[200, 200], true);
    assert_eq!(header(&chunked[0], "transfer-encoding"), "chunked");
    assert_eq!(chunked[1]["body"], "hello world");
    check("post", post, &[200, 200], true);
    let echoed: Value = serde_json::from_str(post[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["body"], "posted");
}

#[test]
fn h11_reads_the_refusals_of_hostile_requests_and_the_close() {
    let ory = FakeOry::start();
    let upstream = upstream();
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--no-jwt", "--client-timeout", "2s"],
    );
    let big = "a".repeat(70 * 1024);
    let raw = |raw: String| json!({"method": "GET", "target": "/", "raw": raw});
    let cases = json!([
        raw("GET /a HTTP/1.1\r\n\r\n".into()),
        raw(format!(
            "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"
        )),
        raw("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000000000\r\n\r\n".into()),
        // Half a head, then nothing: 408 at the 2 s deadline.
        raw("GET /a HTTP/1.1\r\nHost: x\r\n".into()),
    ]);
    let Some(all) = h11(proxy.addr, &cases) else {
        return;
    };
    for (answers, status) in all.iter().zip([400, 431, 413, 408]) {
        check(&status.to_string(), answers, &[status], false);
        json_error(&answers[0], status);
        assert_eq!(header(&answers[0], "connection"), "close");
    }
    assert_eq!(upstream.request_count(), 0);

    // At the cap, with the one connection busy (its upstream hangs): 503 and a close.
    let capped = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--no-jwt", "--max-connections", "1"],
    );
    let mut busy = TcpStream::connect(capped.addr).unwrap();
    busy.write_all(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    upstream.wait_for_requests(1);
    let all = h11(capped.addr, &json!([get("/x")])).unwrap();
    check("503", &all[0], &[503], false);
    json_error(&all[0][0], 503);
    assert_eq!(header(&all[0][0], "retry-after"), "1");
}

#[test]
fn h11_reads_the_101_of_a_websocket_upgrade() {
    let ory = FakeOry::start();
    let echo = WsEcho::start();
    let proxy = ProxyProcess::start(&echo.url(), &ory.url(), &["--no-jwt"]);
    let cases = json!([{"method": "GET", "target": "/ws", "headers": [
        ["Upgrade", "websocket"], ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="], ["Sec-WebSocket-Version", "13"]]}]);
    let Some(all) = h11(proxy.addr, &cases) else {
        return;
    };
    let answer = &all[0][0];
    assert_eq!(answer["status"], 101, "{answer:#?}");
    assert_eq!(answer["switched"], true, "{answer:#?}");
    assert_eq!(
        header(answer, "sec-websocket-accept"),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}
