//! Request bodies on the wire (SPEC §7): declared lengths the proxy will never accept, the
//! framing shapes that smuggle requests, chunked bodies with trailers or cut short, `Expect`.

use super::capture::CaptureUpstream;
use super::{
    ask, assert_nothing_forwarded, assert_refused_and_closed,
    assert_upstream_got_nothing_after_a_moment, Conn,
};
use crate::util::{FakeOry, ProxyProcess, Stack};
use std::io::Write;
use std::time::{Duration, Instant};

/// A length no proxy accepts (the one of issue 9's crash: 10^15 bytes).
const HUGE: &str = "1000000000000000";

#[test]
fn a_huge_content_length_is_413_before_reading_then_closed() {
    let stack = Stack::start(&["--no-jwt"]);
    for (path, extra) in [
        ("/upload", ""),
        ("/.ory/self-service/settings", ""),
        ("/.ory/proxy/health/alive", ""),
        // Refused before reading: no `100 Continue` first asks for a body never read.
        ("/upload", "Expect: 100-continue\r\n"),
    ] {
        // Not one body byte is sent: the answer must not wait for any.
        let started = Instant::now();
        let request =
            format!("POST {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {HUGE}\r\n\r\n");
        assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 413);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    assert_nothing_forwarded(&stack);
}

#[test]
fn content_length_with_transfer_encoding_is_400_never_forwarded() {
    let stack = Stack::start(&["--no-jwt"]);
    assert_refused_and_closed(
        stack.proxy.addr,
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        400,
    );
    assert_refused_and_closed(
        stack.proxy.addr,
        b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
        400,
    );
    assert_upstream_got_nothing_after_a_moment(&stack);
}

#[test]
fn conflicting_content_lengths_are_400_never_forwarded() {
    let stack = Stack::start(&["--no-jwt"]);
    for lengths in [
        "Content-Length: 4\r\nContent-Length: 30",
        "Content-Length: 4, 30",
        "Content-Length: 4\r\nContent-Length: 4, 5",
    ] {
        let request = format!(
            "POST /a HTTP/1.1\r\nHost: x\r\n{lengths}\r\n\r\nabcdGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 400);
    }
    assert_upstream_got_nothing_after_a_moment(&stack);
}

#[test]
fn bad_chunk_sizes_are_400_never_forwarded() {
    let stack = Stack::start(&["--no-jwt"]);
    for chunks in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        " 5\r\nhello\r\n0\r\n\r\n",
        "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        // No digits at all (httparse reads these as 0: the last chunk).
        "\r\n\r\n",
        ";ext=1\r\nhello\r\n0\r\n\r\n",
        // Data longer than its size line says.
        "3\r\nhello\r\n0\r\n\r\n",
    ] {
        let request = format!(
            "POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}"
        );
        let message = assert_refused_and_closed(stack.proxy.addr, request.as_bytes(), 400);
        assert!(message.contains("chunk"), "{chunks:?}: {message}");
    }
    assert_upstream_got_nothing_after_a_moment(&stack);
}

#[test]
fn chunked_trailer_fields_are_accepted_and_not_forwarded() {
    let ory = FakeOry::start();
    let upstream = CaptureUpstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    let (answer, _) = ask(
        proxy.addr,
        b"POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Trailer-Two: 2\r\n\r\n",
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = upstream.only();
    assert_eq!(seen.body, b"hello world");
    assert!(seen.trailers.is_empty(), "{:?}", seen.trailers);
    let all = [seen.head.as_slice(), seen.wire_body.as_slice()].concat();
    let text = String::from_utf8_lossy(&all).to_ascii_lowercase();
    assert!(
        !text.contains("x-checksum") && !text.contains("x-trailer-two"),
        "{text}"
    );
}

#[test]
fn eof_inside_a_chunk_is_400_and_never_a_complete_body() {
    let ory = FakeOry::start();
    let upstream = CaptureUpstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &["--no-jwt"]);
    for cut in [
        // Inside a chunk's data.
        &b"a\r\nabc"[..],
        // After a whole chunk, before the last one.
        b"3\r\nabc\r\n",
    ] {
        let mut conn = Conn::open(proxy.addr);
        let mut request =
            b"POST /cut HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(cut);
        conn.send(&request);
        conn.stream.shutdown(std::net::Shutdown::Write).unwrap();
        conn.answer().assert_error(400);
        conn.assert_closed(Duration::from_secs(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        upstream.requests().is_empty(),
        "a cut body reached the upstream complete: {:#?}",
        upstream.requests()
    );
}

#[test]
fn expect_100_continue_gets_100_then_the_answer() {
    let stack = Stack::start(&["--no-jwt"]);
    let mut conn = Conn::open(stack.proxy.addr);
    conn.send(
        b"POST /continue HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n",
    );
    // The client waits for the 100 before it sends its body (no body byte is on the wire).
    let interim = conn.answer();
    assert_eq!(interim.status, 100, "{interim:?}");
    assert!(
        interim.first.starts_with("HTTP/1.1 100 "),
        "{}",
        interim.first
    );
    conn.stream.write_all(b"hello world").unwrap();
    let answer = conn.answer();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(stack.upstream.last_request().body, b"hello world");
    // The connection carries on.
    conn.send(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.answer().status, 200);
    assert_eq!(stack.upstream.request_count(), 2);
}

#[test]
fn an_unknown_expectation_is_417_never_forwarded() {
    let stack = Stack::start(&["--no-jwt"]);
    for expect in ["200-ok", "fancy-thing"] {
        let request = format!(
            "POST /expect HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: {expect}\r\nConnection: close\r\n\r\nhi"
        );
        let (answer, _) = ask(stack.proxy.addr, request.as_bytes());
        answer.assert_error(417);
    }
    assert_eq!(stack.upstream.request_count(), 0);
}
