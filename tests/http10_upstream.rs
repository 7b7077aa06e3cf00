//! An HTTP/1.0 application behind the proxy: Python's `http.server` (the server of
//! `python3 -m http.server`), which answers `HTTP/1.0`, without keep-alive, and closes the
//! connection after every answer. Every other server behind the proxy in this suite answers
//! HTTP/1.1 and keeps connections.
//!
//! On one kept client connection: a file arrives whole with its length, a second and third
//! request are answered too, and a body delimited by the end of the connection (no
//! `Content-Length`) reaches the HTTP/1.1 client chunked and whole. An HTTP/1.0 answer without
//! keep-alive ends its connection's use (RFC 9112 §9.3), so the proxy must not keep it for the
//! next request: the same server is run a second time holding each connection open (and
//! unread) for a while after its answer, where a connection wrongly kept would leave the next
//! request unanswered until `--upstream-timeout`.

use crate::util::chunked::Chunked;
use crate::util::external::{python, ExternalServer};
use crate::util::files::TempDir;
use crate::util::raw::{read_exact_body, read_head, Head};
use crate::util::{FakeOry, ProxyProcess};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `http.server.SimpleHTTPRequestHandler` serving the directory `argv[1]`, quiet, on a
/// loopback port it prints; after each connection's answer it keeps the connection open
/// `argv[2]` seconds before closing it. `/unsized` answers a body with no `Content-Length`
/// (`argv[3]` bytes of `u`), ended by the close, which then comes at once.
const HTTP_SERVER_PY: &str = r#"
import http.server, sys, time
directory, linger, unsized = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=directory, **kwargs)
    def log_message(self, *args):
        pass
    def do_GET(self):
        if self.path == '/unsized':
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.end_headers()
            self.wfile.write(b'u' * unsized)
            return
        super().do_GET()
    def handle(self):
        super().handle()
        if getattr(self, 'path', '') != '/unsized':
            time.sleep(linger)
assert Handler.protocol_version == 'HTTP/1.0'
server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
print('PORT', server.server_port, flush=True)
server.serve_forever()
"#;

const UNSIZED: usize = 100_003;

/// Python's server on a directory holding `file.bin` (`content`), lingering `linger` after
/// each answer; `None` when the Python test clients are missing (skipped).
fn http_server(dir: &TempDir, linger: Duration) -> Option<ExternalServer> {
    let mut cmd = python()?;
    cmd.args([
        "-c",
        HTTP_SERVER_PY,
        dir.path().to_str().expect("utf-8 path"),
        &linger.as_secs_f64().to_string(),
        &UNSIZED.to_string(),
    ]);
    Some(ExternalServer::start(cmd))
}

/// Sends `GET target` on `s` and reads the whole answer: its head, and its body by the
/// framing the head names (a length, read exactly, or chunked, decoded strictly); nothing may
/// follow it.
fn get(s: &mut TcpStream, target: &str) -> (Head, Vec<u8>) {
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n\r\n").as_bytes())
        .unwrap();
    let head = read_head(s).unwrap_or_else(|e| panic!("GET {target}: {e}"));
    assert!(
        head.header("connection").is_none(),
        "GET {target}: {:?}",
        head.headers
    );
    let body = if let Some(n) = head.header("content-length") {
        let n: usize = n.parse().expect("a length");
        assert!(head.rest.len() <= n, "GET {target}: bytes past the body");
        read_exact_body(s, head.rest.clone(), n)
    } else {
        assert_eq!(
            head.header("transfer-encoding"),
            Some("chunked"),
            "GET {target}: neither a length nor chunked: {:?}",
            head.headers
        );
        let mut framing = Chunked::new();
        let mut body = framing.feed(&head.rest).expect("chunked framing");
        let mut buf = [0u8; 16 * 1024];
        while !framing.is_done() {
            let n = std::io::Read::read(s, &mut buf).expect("read body");
            assert!(n > 0, "GET {target}: closed inside the chunked body");
            body.extend(framing.feed(&buf[..n]).expect("chunked framing"));
        }
        assert_eq!(
            framing.rest(),
            b"",
            "GET {target}: bytes past the last chunk"
        );
        body
    };
    (head, body)
}

/// The requests of the module doc, on one client connection; each answered within `within`.
fn one_connection_against(linger: Duration, within: Duration) {
    let dir = TempDir::new("http10");
    let file: Vec<u8> = (0..(700 * 1024 + 13) as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    dir.write("file.bin", &file);
    let Some(app) = http_server(&dir, linger) else {
        return;
    };
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(
        &app.url(),
        &ory.url(),
        &["--no-jwt", "--upstream-timeout", "3s"],
    );
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for (i, target) in ["/file.bin", "/file.bin", "/unsized", "/file.bin"]
        .into_iter()
        .enumerate()
    {
        let started = Instant::now();
        let (head, body) = get(&mut s, target);
        let took = started.elapsed();
        assert_eq!(
            head.status(),
            200,
            "request {i}, {target}: {:?}",
            head.first
        );
        assert!(head.first.starts_with("HTTP/1.1 "), "{:?}", head.first);
        if target == "/unsized" {
            assert_eq!(head.header("content-length"), None);
            assert!(body == vec![b'u'; UNSIZED], "request {i}: unsized body");
        } else {
            assert_eq!(
                head.header("content-length"),
                Some(file.len().to_string().as_str()),
                "request {i}"
            );
            assert!(body == file, "request {i}: the file arrived changed");
        }
        assert!(
            took < within,
            "request {i}, {target}: answered after {took:?}"
        );
    }
}

#[test]
fn python_http_server_answers_every_request_of_a_kept_client_connection() {
    one_connection_against(Duration::ZERO, Duration::from_secs(2));
}

#[test]
fn an_http10_answer_ends_the_upstream_connection_even_when_it_stays_open() {
    // The server holds each connection 5 s after its answer without reading: a request sent
    // on it would wait for the 3 s --upstream-timeout and fail.
    one_connection_against(Duration::from_secs(5), Duration::from_secs(2));
}
