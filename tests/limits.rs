//! Limits and framing safety: oversized heads, many fields, slowloris connections, request
//! smuggling shapes (RFC 9112 §6), the connection cap, and bodiless answers that keep the
//! connection reusable.

use crate::util::client::{read_until_close, RawResponse};
use crate::util::raw::read_head;
use crate::util::{raw_exchange, FakeOry, ProxyProcess, Reply, Req, Upstream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn start(extra: &[&str]) -> (FakeOry, Upstream, ProxyProcess) {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), extra);
    (ory, upstream, proxy)
}

#[test]
fn oversized_heads_get_431_and_many_small_fields_pass() {
    let (_ory, upstream, proxy) = start(&[]);
    let big = "a".repeat(70 * 1024);
    let bytes = raw_exchange(
        proxy.addr,
        format!("GET /big HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    );
    let r = RawResponse::parse(&bytes);
    assert_eq!(r.status, 431, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(r.json()["error"]["code"], 431);
    // 3,000 fields of 24 bytes: over 64 KiB in all.
    let many: String = (0..3000)
        .map(|i| format!("X-Field-{i:05}: value-v\r\n"))
        .collect();
    let bytes = raw_exchange(
        proxy.addr,
        format!("GET /many HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    );
    assert_eq!(RawResponse::parse(&bytes).status, 431);
    assert_eq!(upstream.request_count(), 0);

    // No count cap of its own: 300 short fields are a normal request, and all arrive.
    let fields: String = (0..300).map(|i| format!("X-H{i}: v{i}\r\n")).collect();
    let bytes = raw_exchange(
        proxy.addr,
        format!("GET /fields HTTP/1.1\r\nHost: x\r\n{fields}Connection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(RawResponse::parse(&bytes).status, 200);
    let seen = upstream.last_request();
    for i in 0..300 {
        assert_eq!(
            seen.header(&format!("x-h{i}")),
            Some(format!("v{i}").as_str())
        );
    }
    assert_eq!(Req::get(&proxy.url("/ok")).send().status, 200);
}

#[test]
fn smuggling_shapes_are_refused_with_400_and_a_closed_connection() {
    let (_ory, upstream, proxy) = start(&["--no-jwt"]);
    let cases: &[&str] = &[
        // Both Content-Length and Transfer-Encoding.
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        // Conflicting Content-Lengths.
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 30\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        // A list, even of equal lengths: one number or a refusal.
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd",
        // Not a plain decimal number.
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd",
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\nabcd",
        // A transfer coding other than exactly chunked.
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
    ];
    for case in cases {
        let started = Instant::now();
        let bytes = raw_exchange(proxy.addr, case.as_bytes());
        let r = RawResponse::parse(&bytes);
        assert_eq!(
            r.status,
            400,
            "{case:?}: {}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(r.json()["error"]["code"], 400);
        // Exactly one answer, then the connection closes (raw_exchange reads until close).
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{case:?}: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{case:?} not closed"
        );
    }
    assert_eq!(upstream.request_count(), 0, "{:#?}", upstream.requests());
}

#[test]
fn invalid_chunk_size_is_400_and_never_reaches_the_upstream_whole() {
    let (_ory, upstream, proxy) = start(&["--no-jwt"]);
    let bytes = raw_exchange(
        proxy.addr,
        b"POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    );
    let r = RawResponse::parse(&bytes);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&bytes));
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("chunked"));
    // The upstream may have seen the head, but never a complete request.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(upstream.request_count(), 0, "{:#?}", upstream.requests());
}

#[test]
fn stalled_connections_do_not_stop_normal_requests_and_are_closed() {
    let (_ory, upstream, proxy) = start(&["--client-timeout", "2s", "--no-jwt"]);
    let mut stalled = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(proxy.addr).expect("connect");
        // Half a head, then nothing (slowloris).
        let _ = s.write_all(format!("GET /slow{i} HTTP/1.1\r\nHost: x\r\nX-A: ").as_bytes());
        stalled.push(s);
    }
    let started = Instant::now();
    let r = Req::get(&proxy.url("/normal")).send();
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "normal request took {:?}",
        started.elapsed()
    );
    assert_eq!(upstream.request_count(), 1);
    // The stalled ones are cut after the client timeout (2 s), not kept forever.
    let first = &mut stalled[0];
    let bytes = read_until_close(first, Duration::from_secs(20));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stalled connection lived {:?}",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_client_timeout() {
    let (_ory, _upstream, proxy) = start(&["--client-timeout", "1s", "--no-jwt"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut s).unwrap();
    assert_eq!(head.status(), 200);
    let started = Instant::now();
    // Read the rest of the response, then wait for the proxy to hang up.
    let _ = read_until_close(&mut s, Duration::from_secs(20));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(10),
        "closed after {waited:?}"
    );
}

/// Sends `request` on `stream`, reads one response with no body; returns its head.
fn bodiless_exchange(stream: &mut TcpStream, request: &str) -> crate::util::raw::Head {
    stream.write_all(request.as_bytes()).unwrap();
    let head = read_head(stream).unwrap();
    assert!(
        head.rest.is_empty(),
        "bytes after a bodiless head: {:?}",
        head.rest
    );
    head
}

#[test]
fn head_204_and_304_leave_the_connection_reusable() {
    let ory = FakeOry::start();
    let upstream = Upstream::with(|req| match req.path() {
        "/empty" => Some(Reply::new(204).header("X-Kind", "no-content").into()),
        "/cached" => Some(
            Reply::new(304)
                .header("ETag", "\"v1\"")
                .header("Content-Length", "1234")
                .into(),
        ),
        _ => None,
    });
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();

    let h = bodiless_exchange(&mut s, "HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(h.status(), 200);
    assert!(h.header("content-length").is_some(), "{h:?}");
    let h = bodiless_exchange(&mut s, "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(h.status(), 204);
    assert_eq!(h.header("x-kind"), Some("no-content"));
    assert!(h.header("content-length").is_none() && h.header("transfer-encoding").is_none());
    let h = bodiless_exchange(
        &mut s,
        "GET /cached HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"v1\"\r\n\r\n",
    );
    assert_eq!(h.status(), 304);
    assert_eq!(h.header("etag"), Some("\"v1\""));

    // And the same connection still carries a request with a body.
    s.write_all(b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let r = RawResponse::parse(&rest);
    assert_eq!(r.status, 200);
    assert_eq!(upstream.request_count(), 4);
    assert_eq!(upstream.requests()[3].path(), "/after");
}

#[test]
fn nothing_pipelined_behind_a_broken_chunked_body_is_forwarded() {
    let (_ory, upstream, proxy) = start(&["--no-jwt"]);
    let bytes = raw_exchange(
        proxy.addr,
        b"POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nnope\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        upstream.requests().iter().all(|r| r.path() != "/smuggled"),
        "{:#?}",
        upstream.requests()
    );
}

#[test]
fn an_absurd_content_length_is_413_and_the_proxy_survives() {
    let (_ory, upstream, mut proxy) = start(&["--no-jwt"]);
    // 2^60 bytes: beyond the largest length accepted (1 TiB), refused before reading.
    for path in ["/.ory/proxy/nothing-here", "/upload"] {
        let bytes = raw_exchange(
            proxy.addr,
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1152921504606846976\r\n\r\nabc"
            )
            .as_bytes(),
        );
        let r = RawResponse::parse(&bytes);
        assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(r.json()["error"]["code"], 413);
    }
    assert!(proxy.is_running(), "stderr:\n{}", proxy.stderr());
    assert_eq!(Req::get(&proxy.url("/still-here")).send().status, 200);
    assert_eq!(upstream.request_count(), 1);
}

#[test]
fn an_endless_header_line_is_cut_with_bounded_memory() {
    let (_ory, _upstream, proxy) = start(&["--no-jwt"]);
    let sampler = crate::util::raw::RssSampler::start(proxy.pid());
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        .unwrap();
    let chunk = vec![b'a'; 16 * 1024];
    let started = Instant::now();
    let mut sent = 0usize;
    while started.elapsed() < Duration::from_secs(30) {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let cut_after = started.elapsed();
    let max = sampler.stop();
    eprintln!(
        "endless header: cut after {sent} bytes, {cut_after:?}; proxy RSS peaked at {max} KiB"
    );
    assert!(
        cut_after < Duration::from_secs(20),
        "never cut ({sent} bytes sent)"
    );
    assert!(max < 64 * 1024, "proxy RSS reached {max} KiB");
    assert_eq!(Req::get(&proxy.url("/after")).send().status, 200);
}

#[test]
fn a_trickled_head_is_cut_after_the_client_timeout() {
    let (_ory, upstream, proxy) = start(&["--no-jwt", "--client-timeout", "2s"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let started = Instant::now();
    // One byte every 300 ms: every single read is well within the timeout.
    let head = b"GET /trickle HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed_after = None;
    for b in head.iter() {
        if s.write_all(&[*b]).is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut probe = [0u8; 1024];
        s.set_nonblocking(true).unwrap();
        let r = s.read(&mut probe);
        s.set_nonblocking(false).unwrap();
        if matches!(r, Ok(0)) || matches!(&r, Err(e) if e.kind() != std::io::ErrorKind::WouldBlock)
        {
            closed_after = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let closed_after = closed_after.expect("the trickled head was never cut");
    assert!(
        closed_after >= Duration::from_millis(1500) && closed_after < Duration::from_secs(10),
        "{closed_after:?}"
    );
    assert_eq!(upstream.request_count(), 0);
}
