//! A small threaded HTTP/1.1 server for tests: the base of the fake identity server and the echo
//! upstream.
//!
//! It binds `127.0.0.1:0`, records every request it receives exactly as it arrived (method, raw
//! target, headers in order with duplicates, the de-framed body), asks a handler what to do, and
//! stops when dropped: the accept loop ends and every open connection is shut down, so a test
//! never leaves a thread or a socket behind. Connections are kept alive like a real server's, so
//! the proxy's connection pool is exercised too.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The raw request-target, never decoded.
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Every header line in arrival order, duplicates kept, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body with chunked framing removed.
    pub body: Vec<u8>,
    /// Whether the body came chunked.
    pub chunked: bool,
    /// The TCP peer (the proxy).
    pub peer: SocketAddr,
}

impl Recorded {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        all_headers(&self.headers, name)
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// The query (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// A query parameter's raw (undecoded) value.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// A cookie's value from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header_all("cookie")
            .into_iter()
            .flat_map(|h| h.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The body as (lossy) text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the server does with a request.
pub enum Action {
    Reply(Reply),
    /// Close the connection without a byte of answer.
    Close,
    /// Never answer; hold the connection until the server is dropped.
    Hang,
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Wait this long before writing the response head.
    pub delay: Duration,
}

/// A response body and its framing.
#[derive(Debug, Clone)]
pub enum Body {
    /// Sent with `Content-Length` (unless the reply sets framing headers itself).
    Full(Vec<u8>),
    /// Sent chunked, one chunk per piece, waiting `pause` before each piece.
    Chunked {
        pieces: Vec<Vec<u8>>,
        pause: Duration,
    },
    /// No framing header: the body ends when the connection closes.
    UntilClose(Vec<u8>),
    /// Declares `Content-Length: declared`, sends `sent`, then closes the connection.
    Truncated { declared: u64, sent: Vec<u8> },
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Full(Vec::new()),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::Full(body.into());
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, value: &serde_json::Value) -> Reply {
        self.header("Content-Type", "application/json")
            .body(value.to_string())
    }

    pub fn chunked(mut self, pieces: Vec<Vec<u8>>, pause: Duration) -> Reply {
        self.body = Body::Chunked { pieces, pause };
        self
    }

    pub fn until_close(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::UntilClose(body.into());
        self
    }

    pub fn truncated(mut self, declared: u64, sent: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::Truncated {
            declared,
            sent: sent.into(),
        };
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

impl From<Reply> for Action {
    fn from(r: Reply) -> Action {
        Action::Reply(r)
    }
}

/// Decides what to do with a request.
pub type Handler = Arc<dyn Fn(&Recorded) -> Action + Send + Sync>;

struct Shared {
    stop: AtomicBool,
    requests: Mutex<Vec<Recorded>>,
    /// Open connections by id, shut down on drop (each removes itself when it ends).
    connections: Mutex<HashMap<usize, TcpStream>>,
    accepted: AtomicUsize,
    /// Connections that carried at least one request.
    used: AtomicUsize,
    /// How many requests are kept for [`TestServer::requests`], the oldest dropped first
    /// (unlimited for tests; the fake-ory example keeps running for days).
    record_limit: AtomicUsize,
    handler: Handler,
}

/// A running test server; dropping it stops it.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds `127.0.0.1:0`; `make_handler` gets the bound address (for servers that name their
    /// own origin in their answers).
    pub fn start(make_handler: impl FnOnce(SocketAddr) -> Handler) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        TestServer::start_on(listener, make_handler)
    }

    /// Serves on a listener bound by the caller (the fake-ory example's fixed port).
    pub fn start_on(
        listener: TcpListener,
        make_handler: impl FnOnce(SocketAddr) -> Handler,
    ) -> TestServer {
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            connections: Mutex::new(HashMap::new()),
            accepted: AtomicUsize::new(0),
            used: AtomicUsize::new(0),
            record_limit: AtomicUsize::new(usize::MAX),
            handler: make_handler(addr),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("test-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn accept thread");
        TestServer {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// TCP connections that carried at least one request so far (a bare connect, such as the
    /// proxy's start-up reachability check, does not count).
    pub fn connection_count(&self) -> usize {
        self.shared.used.load(Ordering::SeqCst)
    }

    /// Keeps at most `n` requests for [`TestServer::requests`], dropping the oldest.
    pub fn limit_records(&self, n: usize) {
        self.shared.record_limit.store(n, Ordering::Relaxed);
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// Waits (generously) until at least `n` requests arrived; panics with what did arrive.
    pub fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {n} requests at {}, got {}: {:#?}",
                    self.addr,
                    requests.len(),
                    requests
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        for (_, c) in self.shared.connections.lock().unwrap().drain() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.accepted.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            shared.connections.lock().unwrap().insert(id, clone);
        }
        let shared = Arc::clone(&shared);
        let _ = thread::Builder::new()
            .name("test-server-conn".into())
            .spawn(move || {
                serve_connection(stream, &shared);
                shared.connections.lock().unwrap().remove(&id);
            });
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let Ok(peer) = stream.peer_addr() else { return };
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let mut first = true;
    loop {
        let request = match read_request(&mut reader, &mut writer, peer) {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => return,
        };
        if std::mem::take(&mut first) {
            shared.used.fetch_add(1, Ordering::SeqCst);
        }
        {
            let mut requests = shared.requests.lock().unwrap();
            let limit = shared.record_limit.load(Ordering::Relaxed).max(1);
            let len = requests.len();
            if len >= limit {
                requests.drain(..len + 1 - limit);
            }
            requests.push(request.clone());
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let close_after = request.version == "HTTP/1.0"
            || request
                .header_all("connection")
                .iter()
                .any(|v| v.to_ascii_lowercase().contains("close"));
        match (shared.handler)(&request) {
            Action::Close => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Action::Hang => {
                while !shared.stop.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Action::Reply(reply) => match write_reply(&mut writer, &request, reply, shared) {
                Ok(true) if !close_after => {}
                _ => {
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
            },
        }
    }
}

fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    peer: SocketAddr,
) -> io::Result<Option<Recorded>> {
    let mut line = String::new();
    while line.is_empty() {
        match read_line(reader)? {
            Some(l) => line = l,
            None => return Ok(None),
        }
    }
    let mut parts = line.splitn(3, ' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let Some(l) = read_line(reader)? else {
            return Ok(None);
        };
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
    }
    let mut request = Recorded {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
        chunked: false,
        peer,
    };
    if request
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = request
        .header_all("transfer-encoding")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        request.chunked = true;
        request.body = read_chunked(reader)?;
    } else if let Some(len) = request.header("content-length") {
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| io::Error::other("bad content-length"))?;
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(Some(request))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| io::Error::other("eof in chunk size"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| io::Error::other("chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while read_line(reader)?.is_some_and(|l| !l.is_empty()) {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

/// Writes a reply; returns whether the connection may be reused.
fn write_reply(
    writer: &mut TcpStream,
    request: &Recorded,
    reply: Reply,
    shared: &Shared,
) -> io::Result<bool> {
    sleep_unless_stopped(reply.delay, shared);
    let bodiless = request.method == "HEAD"
        || (100..200).contains(&reply.status)
        || reply.status == 204
        || reply.status == 304;
    let own_framing = reply.headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (n, v) in &reply.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    let framing = |head: &mut String, line: String| {
        if !own_framing {
            head.push_str(&line);
        }
    };
    let mut reusable = true;
    match &reply.body {
        Body::Full(b) if reply.status != 304 && !(reply.status < 200 || reply.status == 204) => {
            framing(&mut head, format!("Content-Length: {}\r\n", b.len()))
        }
        Body::Full(_) => {}
        Body::Chunked { .. } if !bodiless => {
            framing(&mut head, "Transfer-Encoding: chunked\r\n".into())
        }
        Body::Chunked { .. } => {}
        Body::UntilClose(_) => {
            head.push_str("Connection: close\r\n");
            reusable = false;
        }
        Body::Truncated { declared, .. } => {
            head.push_str(&format!("Content-Length: {declared}\r\n"));
            reusable = false;
        }
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.flush()?;
    if bodiless {
        return Ok(reusable);
    }
    match reply.body {
        Body::Full(b) | Body::UntilClose(b) => writer.write_all(&b)?,
        Body::Truncated { sent, .. } => writer.write_all(&sent)?,
        Body::Chunked { pieces, pause } => {
            for piece in pieces.iter().filter(|p| !p.is_empty()) {
                sleep_unless_stopped(pause, shared);
                writer.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                writer.write_all(piece)?;
                writer.write_all(b"\r\n")?;
                writer.flush()?;
            }
            writer.write_all(b"0\r\n\r\n")?;
        }
    }
    writer.flush()?;
    Ok(reusable)
}

fn sleep_unless_stopped(d: Duration, shared: &Shared) {
    let until = Instant::now() + d;
    while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
        thread::sleep(
            Duration::from_millis(10).min(until.saturating_duration_since(Instant::now())),
        );
    }
}

/// The reason phrase the test servers write for `status`.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// The first value of a header in a name/value list (case-insensitive name).
pub fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of a header in a name/value list, in order.
pub fn all_headers<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}
