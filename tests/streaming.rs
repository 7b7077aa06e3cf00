//! Streaming without buffering: server-sent events arrive as produced, large downloads and
//! chunked uploads pass with the proxy's memory flat, and a body that breaks midway ends the
//! client's connection instead of leaving it waiting.

use crate::util::client::read_until_close;
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
            .chunked(events, Duration::from_millis(800)),
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
    let mut seen = head.rest.clone();
    let mut first_event_at = None;
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("event 4") {
        if first_event_at.is_none() && String::from_utf8_lossy(&seen).contains("event 1") {
            first_event_at = Some(started.elapsed());
        }
        let n = s.read(&mut buf).expect("read events");
        assert!(
            n > 0,
            "stream ended early: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let last_event_at = started.elapsed();
    let first = first_event_at.expect("event 1 seen before event 4");
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
        // A POST: the proxy forwards a chunked upload chunked; decode and verify it.
        let mut reader = std::io::BufReader::new(io_chain(head.rest, stream.try_clone().unwrap()));
        let mut total = 0u64;
        let mut ok = true;
        loop {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
                ok = false;
                break;
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .unwrap_or(usize::MAX);
            if size == usize::MAX {
                ok = false;
                break;
            }
            if size == 0 {
                let mut end = String::new();
                let _ = std::io::BufRead::read_line(&mut reader, &mut end);
                break;
            }
            let mut chunk = vec![0u8; size];
            if reader.read_exact(&mut chunk).is_err() {
                ok = false;
                break;
            }
            ok &= is_pattern(&chunk, total);
            total += size as u64;
            let mut crlf = [0u8; 2];
            let _ = reader.read_exact(&mut crlf);
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

fn io_chain(first: Vec<u8>, rest: TcpStream) -> impl Read {
    std::io::Cursor::new(first).chain(rest)
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
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(text.contains("Content-Length: 100000"), "{text}");
    assert!(text.ends_with("0123456789"), "{text}");
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
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(!text.contains("first"), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "a cut body must not look complete: {text}"
    );
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_millis(3500),
        "connection closed after {waited:?}"
    );
}
