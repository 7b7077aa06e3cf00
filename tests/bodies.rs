//! Bodies in both directions (SPEC §3): multi-megabyte uploads arrive intact with either
//! framing, downloads stream, HEAD/204/304 carry no body and leave the connection usable, and
//! a streamed answer reaches the client piece by piece.

use crate::util::chunked::Chunked;
use crate::util::client::{raw_exchange, read_until_close, RawResponse};
use crate::util::raw::read_head;
use crate::util::{FakeOry, ProxyProcess, Reply, Req, Upstream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn setup() -> (FakeOry, Upstream, ProxyProcess) {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    (ory, upstream, proxy)
}

/// `len` bytes of a pattern that shifts, so a lost, duplicated or reordered block shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[(i / 4093) % 4])
        .collect()
}

#[test]
fn multi_megabyte_post_with_content_length_arrives_intact() {
    let (_ory, upstream, proxy) = setup();
    let body = pattern(6 * 1024 * 1024 + 123);
    let r = Req::post(&proxy.url("/upload?kind=sized"))
        .header("Content-Type", "application/octet-stream")
        .body(body.clone())
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body_len"], body.len());
    let got = upstream.last_request();
    assert_eq!(
        got.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert!(!got.chunked);
    assert!(got.body == body, "upload corrupted");
}

#[test]
fn multi_megabyte_chunked_post_arrives_intact() {
    let (ory, upstream, proxy) = setup();
    let session = ory.create_session("upload@example.org");
    let body = pattern(5 * 1024 * 1024 + 7);
    let r = Req::post(&proxy.url("/upload?kind=chunked"))
        .header("Cookie", &session.cookie())
        .chunked_body(std::io::Cursor::new(body.clone()))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let got = upstream.last_request();
    assert!(got.chunked, "an unknown length stays chunked");
    assert!(!got.has_header("content-length"));
    assert!(got.body == body, "upload corrupted");
    assert!(
        got.header("authorization").is_some(),
        "signed in while uploading"
    );
}

#[test]
fn upload_to_ory_arrives_intact() {
    let (ory, _upstream, proxy) = setup();
    ory.set_hook(|_| Some(Reply::new(200).body("ok").into()));
    let body = pattern(3 * 1024 * 1024);
    let r = Req::post(&proxy.url("/.ory/self-service/settings"))
        .body(body.clone())
        .send();
    assert_eq!(r.status, 200);
    assert!(ory.last_request().body == body);
}

#[test]
fn expect_100_continue_upload() {
    let (_ory, upstream, proxy) = setup();
    let body = pattern(256 * 1024);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    let head = format!(
        "PUT /put HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut first = [0u8; 25];
    s.read_exact(&mut first).unwrap();
    assert!(
        first.starts_with(b"HTTP/1.1 100"),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
    s.write_all(&body).unwrap();
    let rest = read_until_close(&mut s, Duration::from_secs(30));
    let text = String::from_utf8_lossy(&rest);
    assert!(text.contains("HTTP/1.1 200"), "{text}");
    assert!(upstream.last_request().body == body);
}

#[test]
fn large_downloads_stream_with_either_framing() {
    let (_ory, upstream, proxy) = setup();
    let big = pattern(12 * 1024 * 1024);
    upstream.always(Reply::new(200).body(big.clone()));
    let r = Req::get(&proxy.url("/big")).send();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-length"),
        Some(big.len().to_string().as_str())
    );
    assert!(r.body == big, "sized download corrupted");

    let pieces: Vec<Vec<u8>> = big.chunks(700_001).map(<[u8]>::to_vec).collect();
    upstream.always(Reply::new(200).chunked(pieces, Duration::ZERO));
    let r = Req::get(&proxy.url("/big-chunked")).send();
    assert_eq!(r.status, 200);
    assert!(r.header("content-length").is_none());
    assert!(r.body == big, "chunked download corrupted");
}

/// Sends two requests on one connection (pipelined); the second only parses if the first
/// answer's framing was exact (the answer to a `HEAD` read as one: no body).
fn two_on_one_connection(proxy: &ProxyProcess, first: &str) -> (RawResponse, RawResponse) {
    let req = format!(
        "{first} HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    );
    let bytes = raw_exchange(proxy.addr, req.as_bytes());
    let reading = if first.starts_with("HEAD ") {
        RawResponse::reading().to_head()
    } else {
        RawResponse::reading()
    };
    let (one, after) = reading.parse_first(&bytes);
    let two = RawResponse::parse(&after);
    (one, two)
}

#[test]
fn head_has_no_body_and_keeps_the_connection_usable() {
    let (_ory, upstream, proxy) = setup();
    upstream
        .set_hook(|r| (r.path() == "/doc").then(|| Reply::new(200).body(vec![b'x'; 1234]).into()));
    let (head, after) = two_on_one_connection(&proxy, "HEAD /doc");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some("1234"),
        "HEAD mirrors GET"
    );
    assert!(
        head.after_head.starts_with(b"HTTP/1.1 200"),
        "HEAD response carried a body"
    );
    assert_eq!(after.json()["target"], "/after");
    // Pipelined requests may be handled concurrently: compare without order.
    let mut methods: Vec<String> = upstream
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    methods.sort();
    assert_eq!(methods, ["GET /after", "HEAD /doc"]);
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    let (_ory, upstream, proxy) = setup();
    upstream.set_hook(|r| match r.path() {
        "/204" => Some(Reply::new(204).header("X-Done", "1").into()),
        "/304" => Some(Reply::new(304).header("ETag", "\"v1\"").into()),
        _ => None,
    });
    for (target, status) in [("GET /204", 204), ("DELETE /204", 204), ("GET /304", 304)] {
        let (one, after) = two_on_one_connection(&proxy, target);
        assert_eq!(one.status, status, "{target}");
        assert!(
            one.header("transfer-encoding").is_none(),
            "{target}: {:?}",
            one.headers
        );
        assert!(
            one.after_head.starts_with(b"HTTP/1.1 200"),
            "{target}: body after a {status}"
        );
        assert_eq!(after.json()["target"], "/after");
    }
}

#[test]
fn streamed_answers_arrive_piece_by_piece() {
    let (_ory, upstream, proxy) = setup();
    let pause = Duration::from_secs(2);
    upstream.always(
        Reply::new(200)
            .header("Content-Type", "text/event-stream")
            .chunked(
                vec![b"data: one\n\n".to_vec(), b"data: two\n\n".to_vec()],
                pause,
            ),
    );
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = read_head(&mut s).unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    // The framing is decoded strictly as it arrives; the events are compared decoded.
    let mut framing = Chunked::new();
    let mut body = framing.feed(&head.rest).expect("chunked framing");
    let mut buf = [0u8; 4096];
    while body.len() < b"data: one\n\n".len() {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the first event");
        body.extend(framing.feed(&buf[..n]).expect("chunked framing"));
    }
    let first_at = Instant::now();
    assert_eq!(
        String::from_utf8_lossy(&body),
        "data: one\n\n",
        "the first event alone"
    );
    assert!(!framing.is_done());
    let rest = read_until_close(&mut s, Duration::from_secs(30));
    let done_at = Instant::now();
    body.extend(framing.feed(&rest).expect("chunked framing"));
    assert!(framing.is_done(), "no last chunk before the close");
    assert_eq!(framing.rest(), b"", "bytes after the last chunk");
    assert_eq!(String::from_utf8_lossy(&body), "data: one\n\ndata: two\n\n");
    assert!(
        done_at - first_at >= pause / 2,
        "the first event waited for the second"
    );
}

#[test]
fn chunked_upload_cut_inside_a_chunk_is_never_forwarded_as_complete() {
    // The client promises 10 bytes in a chunk, sends 3 and closes its side. The upstream must
    // not receive a well-formed body ("abc" and a last chunk) it would act on as the whole
    // upload; the client gets a 400.
    let (_ory, upstream, proxy) = setup();
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let answer = read_until_close(&mut s, Duration::from_secs(30));
    let r = RawResponse::parse(&answer);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(r.json()["error"]["code"], 400);
    // The upstream never saw a complete request (its recorder keeps only whole bodies).
    assert_eq!(
        upstream.request_count(),
        0,
        "the cut upload was forwarded as complete"
    );
}
