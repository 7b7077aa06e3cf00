//! WebSockets (the only `Upgrade` relayed) through the proxy: full duplex, server push first,
//! several at once, clean close, a session token on the handshake, and no request worker held.

use crate::util::ws::{WsClient, WsEcho, CLOSE};
use crate::util::{FakeOry, ProxyProcess, Req};
use std::time::Duration;

#[test]
fn websocket_echo_with_server_push_and_token() {
    let ory = FakeOry::start();
    // Ory refreshes the session cookie on the lookup: the 101 carries it, rewritten for the
    // proxy's origin like on any other answer.
    ory.set_whoami_cookies(&[
        "ory_kratos_session=refreshed; Path=/; Domain=127.0.0.1; Secure; SameSite=None; HttpOnly",
    ]);
    let echo = WsEcho::start();
    let proxy = ProxyProcess::start(&echo.url(), &ory.url(), &[]);
    let session = ory.create_session("ws@example.org");

    // (connect checks the status, Upgrade, Connection and the accept key.)
    let mut ws = WsClient::connect(proxy.addr, "/live?x=1", &[("Cookie", &session.cookie())])
        .unwrap_or_else(|head| panic!("no 101: {head:?}\n{}", proxy.stderr()));
    let cookies: Vec<&str> = ws
        .head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        cookies,
        ["ory_kratos_session=refreshed; Path=/; SameSite=Lax; HttpOnly"]
    );
    // The server speaks first, without the client sending anything.
    assert_eq!(ws.read_text(), "hello 1");
    for i in 0..5 {
        let msg = format!("message {i} {}", "x".repeat(i * 300));
        ws.send_text(&msg);
        assert_eq!(ws.read_text(), msg);
    }
    ws.send_close();
    let f = ws.read().expect("close frame");
    assert_eq!(f.opcode, CLOSE);
    // Then the end of the stream.
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut ws.stream, &mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    crate::util::wait_until("the upstream to see the close", || {
        (echo.closed() == 1).then_some(())
    });

    // The handshake reached the upstream with the WebSocket headers and a token.
    let (first, headers) = echo.handshake(0).expect("handshake");
    assert_eq!(first, "GET /live?x=1 HTTP/1.1");
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("upgrade").as_deref(), Some("websocket"));
    assert!(get("sec-websocket-key").is_some());
    let bearer = get("authorization").expect("authorization on the handshake");
    let token = bearer.strip_prefix("Bearer ").expect("bearer");
    let verified = crate::util::jwt::verify(&proxy, token);
    assert_eq!(verified.claims["sub"], session.identity_id.as_str());
}

#[test]
fn many_sockets_at_once_do_not_hold_connection_places() {
    let ory = FakeOry::start();
    let echo = WsEcho::start();
    // Room for two connections: a relayed socket leaves the connection cap (relays have their
    // own), so eight sockets, then a plain request, all get through.
    let proxy = ProxyProcess::start(
        &echo.url(),
        &ory.url(),
        &["--max-connections", "2", "--no-jwt"],
    );
    let mut sockets: Vec<WsClient> = (0..8)
        .map(|_| {
            WsClient::connect(proxy.addr, "/", &[])
                .unwrap_or_else(|h| panic!("no 101: {h:?}\n{}", proxy.stderr()))
        })
        .collect();
    for ws in &mut sockets {
        assert!(ws.read_text().starts_with("hello "));
    }
    // All open at once; talk on them in reverse order.
    for (i, ws) in sockets.iter_mut().enumerate().rev() {
        ws.send_text(&format!("from {i}"));
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        assert_eq!(ws.read_text(), format!("from {i}"));
    }
    assert_eq!(echo.opened(), 8);
    // Plain requests still pass while the sockets stay open. The upstream answers them with
    // 426 (it only speaks WebSocket), which is what arrives.
    let r = Req::get(&proxy.url("/plain")).send();
    assert_eq!(r.status, 426, "{}", r.text());
    // The client closing its TCP connection ends the upstream side too.
    drop(sockets);
    crate::util::wait_until("all upstream sockets to close", || {
        (echo.closed() == 8).then_some(())
    });
}

#[test]
fn upgrade_refused_by_the_upstream_is_passed_back() {
    let ory = FakeOry::start();
    let echo = WsEcho::start();
    let proxy = ProxyProcess::start(&echo.url(), &ory.url(), &["--no-jwt"]);
    // A WebSocket upgrade (relayed as one) without a key: the echo server refuses it with 426
    // and a body, which comes back as an ordinary answer on a closing connection.
    let mut stream = std::net::TcpStream::connect(proxy.addr).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let bytes = crate::util::client::read_until_close(&mut stream, Duration::from_secs(20));
    let r = crate::util::client::RawResponse::parse(&bytes);
    assert_eq!(r.status, 426, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(r.body, b"websocket");
    // It went the upgrade way: the upstream saw the Upgrade (a plain request has none).
    let (_, headers) = echo.handshake(0).expect("the request reached the upstream");
    assert!(
        headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("upgrade") && v == "websocket"),
        "{headers:?}"
    );
    assert_eq!(echo.opened(), 0);
}

#[test]
fn upgrade_with_a_body_is_refused() {
    let ory = FakeOry::start();
    let echo = WsEcho::start();
    let proxy = ProxyProcess::start(&echo.url(), &ory.url(), &["--no-jwt"]);
    let bytes = crate::util::raw_exchange(
        proxy.addr,
        b"POST /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello",
    );
    let r = crate::util::client::RawResponse::parse(&bytes);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(echo.opened(), 0);
    assert!(echo.handshake(0).is_none());
}

#[test]
fn only_websocket_upgrades_are_relayed() {
    // SPEC §3: Upgrade is hop-by-hop except for a WebSocket upgrade. Relaying h2c would let a
    // client speak HTTP/2 straight to the application through the tunnel, where no request
    // after the first has its Authorization replaced or its X-Forwarded-For set (h2c
    // smuggling). The request goes on as a plain one; the application never sees the Upgrade.
    let ory = FakeOry::start();
    let upstream = crate::util::Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let r = crate::util::client::RawResponse::parse(&crate::util::raw_exchange(
        proxy.addr,
        b"GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
          HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nAuthorization: Bearer forged\r\n\r\n",
    ));
    assert_eq!(r.status, 200);
    let seen = upstream.last_request();
    assert_eq!(seen.path(), "/h2c");
    for name in ["upgrade", "connection", "http2-settings", "authorization"] {
        assert!(!seen.has_header(name), "{name} reached the upstream");
    }
}

/// A test CA and a `localhost` certificate it signs (openssl), as PEM files in `dir`; returns
/// (CA certificate path, leaf certificate PEM, leaf key PEM).
fn test_certificates(dir: &crate::util::files::TempDir) -> (std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let ext = dir.write(
        "leaf.ext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl (ca-certificates depends on it)");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let (ca, ca_key, key, csr, leaf) = (
        p("ca.pem"),
        p("ca.key"),
        p("leaf.key"),
        p("leaf.csr"),
        p("leaf.pem"),
    );
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            &ca_key,
            "-out",
            &ca,
            "-days",
            "2",
            "-subj",
            "/CN=ory-proxy test CA",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"],
    ]
    .concat());
    let ext = ext.to_string_lossy().into_owned();
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-out",
        &leaf,
        "-days",
        "2",
        "-extfile",
        &ext,
    ]);
    (
        ca.into(),
        std::fs::read(&leaf).unwrap(),
        std::fs::read(&key).unwrap(),
    )
}

#[test]
fn websocket_to_an_https_upstream_is_relayed_over_tls() {
    let dir = crate::util::files::TempDir::new("tls");
    let (ca, cert, key) = test_certificates(&dir);
    let ory = FakeOry::start();
    let echo = WsEcho::start_tls(crate::util::ws::tls_server_config(&cert, &key));
    let upstream = format!("https://localhost:{}", echo.addr().port());
    let ca = ca.to_string_lossy().into_owned();
    let proxy = ProxyProcess::start(&upstream, &ory.url(), &["--no-jwt", "--ca-file", &ca]);

    let mut ws = WsClient::connect(proxy.addr, "/tls", &[])
        .unwrap_or_else(|head| panic!("no 101: {head:?}\n{}", proxy.stderr()));
    assert_eq!(ws.read_text(), "hello 1");
    for i in 0..3 {
        let msg = format!("over tls {i} {}", "y".repeat(i * 20_000));
        ws.send_text(&msg);
        assert_eq!(ws.read_text(), msg);
    }
    let (line, _) = echo.handshake(0).expect("handshake reached the upstream");
    assert!(line.starts_with("GET /tls "), "{line}");
    // Plain requests take the same roots (ureq): the upstream answers 426 over TLS.
    let r = Req::get(&proxy.url("/plain")).send();
    assert_eq!(r.status, 426, "{}", r.text());
    ws.send_close();
    assert_eq!(ws.read().expect("close frame").opcode, CLOSE);
    crate::util::wait_until("the upstream side to close", || {
        (echo.closed() == 1).then_some(())
    });
}

#[test]
fn an_https_upstream_with_an_untrusted_certificate_is_502() {
    let dir = crate::util::files::TempDir::new("tls-untrusted");
    let (_ca, cert, key) = test_certificates(&dir);
    let ory = FakeOry::start();
    let echo = WsEcho::start_tls(crate::util::ws::tls_server_config(&cert, &key));
    let upstream = format!("https://localhost:{}", echo.addr().port());
    // No --ca-file: Mozilla's roots do not know the test CA.
    let proxy = ProxyProcess::start(&upstream, &ory.url(), &["--no-jwt"]);
    let head = match WsClient::connect(proxy.addr, "/tls", &[]) {
        Ok(_) => panic!("relayed to an untrusted upstream"),
        Err(head) => head,
    };
    assert_eq!(head.status(), 502, "{head:?}");
    assert_eq!(echo.opened(), 0);
}
