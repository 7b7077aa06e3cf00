//! The refusal paths of `src/proxy/upgrade.rs`, with a raw upstream that answers a WebSocket
//! upgrade the way a broken or hostile application can: a `101` that names no `websocket`, a
//! `101` with a wrong or missing `Sec-WebSocket-Accept`, or a plain refusal (403, 400); and
//! what of a good `101` reaches the client (its WebSocket fields, not its hop-by-hop ones).
//!
//! After its answer the upstream sends the bytes of a switched protocol at once (a WebSocket
//! frame carrying [`SWITCHED`]); whatever the proxy answers, none of them may reach the client.
//! A bad `101` is a 502 (docs/behaviour.md, "WebSockets"), a refusal is passed back as an
//! ordinary response.

use crate::util::client::{raw_exchange, RawResponse};
use crate::util::raw::{read_head, RawServer};
use crate::util::ws::{accept_key, write_frame, WsClient, TEXT};
use crate::util::{external, FakeOry, ProxyProcess};
use std::io::{Read, Write};
use std::time::Duration;

/// What the upstream sends after its answer: a frame of the switched protocol.
const SWITCHED: &[u8] = b"SWITCHED-PROTOCOL-BYTES";
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An upstream that answers every request with `answer(key)` followed in the same write by a
/// WebSocket frame, then waits for the proxy to close the connection.
fn raw_upstream(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> RawServer {
    RawServer::start(move |mut stream| {
        let Ok(head) = read_head(&mut stream) else {
            return;
        };
        let key = head.header("sec-websocket-key").unwrap_or_default();
        let mut bytes = answer(key).into_bytes();
        write_frame(&mut bytes, TEXT, SWITCHED, None).unwrap();
        let _ = stream.write_all(&bytes);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = stream.read(&mut [0u8; 64]);
    })
}

/// A WebSocket handshake through the proxy with [`KEY`]; every byte the client got.
fn handshake(proxy: &ProxyProcess) -> (RawResponse, Vec<u8>) {
    let request = format!(
        "GET /socket HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        proxy.addr
    );
    let bytes = raw_exchange(proxy.addr, request.as_bytes());
    (RawResponse::parse(&bytes), bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts a 502 with the proxy's JSON error naming `why`, and no switched bytes.
fn assert_bad_gateway(upstream: &RawServer, why: &str) {
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let (r, bytes) = handshake(&proxy);
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(r.status, 502, "{text}");
    assert!(
        !contains(&bytes, SWITCHED),
        "switched bytes reached the client: {text}"
    );
    assert_eq!(r.header("upgrade"), None, "{text}");
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        message,
        format!("the upstream answered the WebSocket upgrade {why}"),
        "{text}"
    );
    proxy.wait_for_log(|l| l.contains("GET /socket 502") && l.contains(why));
}

#[test]
fn a_101_without_upgrade_websocket_is_a_502() {
    let missing = raw_upstream(|key| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        )
    });
    assert_bad_gateway(&missing, "without 'Upgrade: websocket'");
    let other = raw_upstream(|key| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        )
    });
    assert_bad_gateway(&other, "without 'Upgrade: websocket'");
}

#[test]
fn a_101_with_a_wrong_or_missing_accept_is_a_502() {
    let wrong = raw_upstream(|_| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key("c29tZSBvdGhlciBrZXkhIQ==")
        )
    });
    assert_bad_gateway(
        &wrong,
        "with a Sec-WebSocket-Accept that does not match the request's key",
    );
    let missing = raw_upstream(|_| {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            .to_owned()
    });
    assert_bad_gateway(&missing, "without Sec-WebSocket-Accept");

    // A real client sees the 502 as a refused handshake, not as an open socket.
    let Some(mut python) = external::python() else {
        return;
    };
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&wrong.url(), &ory.url(), &["--no-jwt"]);
    let url = proxy.url("/socket").replacen("http://", "ws://", 1);
    python
        .arg("-c")
        .arg(crate::websocket_clients::PY_CLIENT)
        .arg(url);
    let out = external::run(python, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the client accepted the socket");
    assert!(stderr.contains("HTTP 502"), "{stderr}");
}

#[test]
fn an_upstream_refusal_is_passed_back_as_an_ordinary_response() {
    for (status, reason) in [(403, "Forbidden"), (400, "Bad Request")] {
        let upstream = raw_upstream(move |_| {
            format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nX-App: refused\r\n\
                 Content-Length: 11\r\n\r\nnot for you"
            )
        });
        let ory = FakeOry::start();
        let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
        let (r, bytes) = handshake(&proxy);
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(r.status, status, "{text}");
        assert_eq!(r.header("x-app"), Some("refused"), "{text}");
        assert_eq!(r.header("content-length"), Some("11"), "{text}");
        // The body, then the end of the connection: the frame after it never comes through.
        assert_eq!(r.body, b"not for you", "{text}");
        assert_eq!(r.header("upgrade"), None, "{text}");
        proxy.wait_for_log(|l| l.contains(&format!("GET /socket {status}")));
    }
}

#[test]
fn a_good_101_passes_its_websocket_fields_and_none_of_its_hop_by_hop_ones() {
    let upstream = raw_upstream(|key| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\
             Connection: Upgrade, X-Secret\r\nKeep-Alive: timeout=5\r\nX-Secret: 1\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: chat.v1\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\n\
             Set-Cookie: app=1; Path=/; Domain=127.0.0.1\r\n\r\n",
            accept_key(key)
        )
    });
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let mut ws = WsClient::connect(proxy.addr, "/socket", &[])
        .unwrap_or_else(|head| panic!("no 101: {head:?}\n{}", proxy.stderr()));
    let mut fields: Vec<(String, String)> = ws
        .head
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| n != "sec-websocket-accept")
        .collect();
    fields.sort();
    let want = [
        ("connection", "Upgrade"),
        ("sec-websocket-extensions", "permessage-deflate"),
        ("sec-websocket-protocol", "chat.v1"),
        ("set-cookie", "app=1; Path=/"),
        ("upgrade", "websocket"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(fields, want, "{:?}", ws.head);
    // The frame that came with the 101 is the socket's first message.
    assert_eq!(ws.read_text().as_bytes(), SWITCHED);
}
