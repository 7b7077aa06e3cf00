//! Streaming without buffering: server-sent events arrive as produced, large downloads and
//! chunked uploads pass with the proxy's memory flat, and a body that breaks midway ends the
//! client's connection instead of leaving it waiting.

use crate::util::chunked::Chunked;
use crate::util::client::{read_until_close, RawResponse};
use crate::util::raw::{fill_pattern, is_pattern, read_head, RawServer, RssSampler};
use crate::util::{FakeOry, ProxyProcess, Reply, Upstream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Body size for the memory tests: far above the RSS bound, small enough for a debug build.
const BIG: u64 = 256 * 1024 * 1024;
/// The proxy's RSS must stay under this while BIG bytes pass through.
const RSS_BOUND_KIB: u64 = 64 * 1024;

#[test]
fn server_sent_events_arrive_as_they_are_produced() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let events: Vec<Vec<u8>> = (1..=4)
        .map(|i| format!("data: event {i}\n\n").into_bytes())
        .collect();
    upstream.always(
        Reply::new(200)
            .header("Content-Type", "text/event-stream")
            .header("Cache-Control", "no-cache")
            .chunked(events.clone(), Duration::from_millis(800)),
    );
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = Instant::now();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let head = read_head(&mut s).unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(head.header("content-length"), None);
    // The framing is decoded strictly as it arrives; the events are compared decoded.
    let mut framing = Chunked::new();
    let mut body = framing.feed(&head.rest).expect("chunked framing");
    let mut first_event_at = None;
    let mut buf = [0u8; 4096];
    loop {
        if first_event_at.is_none() && body.starts_with(&events[0]) {
            first_event_at = Some(started.elapsed());
        }
        if framing.is_done() {
            break;
        }
        let n = s.read(&mut buf).expect("read events");
        assert!(
            n > 0,
            "stream ended before its last chunk: {:?}",
            String::from_utf8_lossy(&body)
        );
        body.extend(framing.feed(&buf[..n]).expect("chunked framing"));
    }
    let last_event_at = started.elapsed();
    assert_eq!(
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&events.concat()),
        "the events, decoded"
    );
    assert_eq!(framing.rest(), b"", "bytes after the last chunk");
    let first = first_event_at.expect("event 1 decoded before the end of the stream");
    // The upstream spaces events 800 ms apart: the first must not wait for the last.
    assert!(
        last_event_at - first >= Duration::from_millis(1500),
        "first event at {first:?}, last at {last_event_at:?}: events were held back"
    );
}

/// An upstream that serves `BIG` pattern bytes for GET and counts (and checks) the bytes of a
/// POST body, answering with the count.
fn big_upstream() -> RawServer {
    RawServer::start(|mut stream| {
        let Ok(head) = read_head(&mut stream) else {
            return;
        };
        if head.first.starts_with("GET") {
            let _ = stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
            let mut buf = vec![0u8; 64 * 1024];
            let mut sent = 0u64;
            while sent < BIG {
                let n = (BIG - sent).min(buf.len() as u64) as usize;
                fill_pattern(&mut buf[..n], sent);
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
                sent += n as u64;
            }
            return;
        }
        // A POST: the proxy forwards a chunked upload chunked; decode it strictly and verify
        // the data. `intact` is false on a framing fault, a missing last chunk, a stray byte
        // after it, or data out of pattern.
        let mut framing = Chunked::new();
        let mut total = 0u64;
        let mut ok = true;
        let mut input = head.rest;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match framing.feed(&input) {
                Ok(data) => {
                    ok &= is_pattern(&data, total);
                    total += data.len() as u64;
                }
                Err(e) => {
                    eprintln!("upload framing: {e}");
                    ok = false;
                    break;
                }
            }
            if framing.is_done() {
                ok &= framing.rest().is_empty();
                break;
            }
            match stream.read(&mut buf) {
                Ok(n) if n > 0 => input = buf[..n].to_vec(),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        let body = format!("{{\"received\":{total},\"intact\":{ok}}}");
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    })
}

#[test]
fn large_download_streams_with_flat_memory() {
    let ory = FakeOry::start();
    let upstream = big_upstream();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let sampler = RssSampler::start(proxy.pid());
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let head = read_head(&mut s).unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.header("content-length"),
        Some(BIG.to_string().as_str())
    );
    let mut got = 0u64;
    let mut intact = true;
    let mut check = |bytes: &[u8], got: &mut u64| {
        intact &= is_pattern(bytes, *got);
        *got += bytes.len() as u64;
    };
    check(&head.rest, &mut got);
    let mut buf = vec![0u8; 256 * 1024];
    while got < BIG {
        let n = s.read(&mut buf).expect("read body");
        assert!(n > 0, "body ended after {got} bytes");
        check(&buf[..n], &mut got);
    }
    let max = sampler.stop();
    eprintln!("download of {BIG} bytes: proxy RSS peaked at {max} KiB");
    assert_eq!(got, BIG);
    assert!(intact, "body corrupted");
    assert!(
        max < RSS_BOUND_KIB,
        "proxy RSS reached {max} KiB while streaming {BIG} bytes"
    );
}

#[test]
fn large_chunked_upload_streams_with_flat_memory() {
    let ory = FakeOry::start();
    let upstream = big_upstream();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let sampler = RssSampler::start(proxy.pid());
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut sent = 0u64;
    while sent < BIG {
        let n = (BIG - sent).min(buf.len() as u64) as usize;
        fill_pattern(&mut buf[..n], sent);
        s.write_all(format!("{n:x}\r\n").as_bytes()).unwrap();
        s.write_all(&buf[..n]).unwrap();
        s.write_all(b"\r\n").unwrap();
        sent += n as u64;
    }
    s.write_all(b"0\r\n\r\n").unwrap();
    let head = read_head(&mut s).unwrap();
    let max = sampler.stop();
    eprintln!("chunked upload of {BIG} bytes: proxy RSS peaked at {max} KiB");
    assert_eq!(head.status(), 200);
    let n: usize = head.header("content-length").unwrap().parse().unwrap();
    let body = crate::util::raw::read_exact_body(&mut s, head.rest.clone(), n);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["received"], BIG);
    assert_eq!(v["intact"], true);
    assert!(
        max < RSS_BOUND_KIB,
        "proxy RSS reached {max} KiB while streaming {BIG} bytes"
    );
}

#[test]
fn a_body_that_breaks_midway_closes_the_client_connection() {
    let ory = FakeOry::start();
    let upstream = Upstream::with(|req| match req.path() {
        // Promises 100000 bytes, sends 10, dies.
        "/truncated" => Some(Reply::new(200).truncated(100_000, "0123456789").into()),
        // Chunked: one piece, then the connection dies.
        _ => None,
    });
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    let started = Instant::now();
    s.write_all(b"GET /truncated HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let bytes = read_until_close(&mut s, Duration::from_secs(30));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "client left waiting for {:?}",
        started.elapsed()
    );
    // A body cut short: only the head is read strictly, the rest as it came.
    let r = RawResponse::reading().head_only().parse(&bytes);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some("100000"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.after_head, b"0123456789",
        "the ten bytes the upstream sent, then the close"
    );
}

#[test]
fn a_stalled_upstream_body_is_cut_after_the_upstream_timeout() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    upstream.always(Reply::new(200).chunked(
        vec![b"first".to_vec(), b"never".to_vec()],
        Duration::from_secs(4),
    ));
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &["--no-jwt", "--upstream-timeout", "1s"],
    );
    // The head comes at once, the first piece only after 4 s: each body read may take 1 s.
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    let started = Instant::now();
    s.write_all(b"GET /stalls HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let bytes = read_until_close(&mut s, Duration::from_secs(30));
    let waited = started.elapsed();
    // A body cut short: only the head is read strictly; the framing is checked below.
    let r = RawResponse::reading().head_only().parse(&bytes);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("transfer-encoding"),
        Some("chunked"),
        "{:?}",
        r.headers
    );
    // What came after the head is well-formed framing that carries no data and never ends:
    // a cut body must not look complete.
    let mut framing = Chunked::new();
    let data = framing
        .feed(&r.after_head)
        .unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(&r.after_head)));
    assert_eq!(data, b"", "data of a piece the upstream never sent in time");
    assert!(
        !framing.is_done(),
        "a cut body must not look complete: {:?}",
        String::from_utf8_lossy(&r.after_head)
    );
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_millis(3500),
        "connection closed after {waited:?}"
    );
}
