//! An upstream application that serves every kind of traffic the resilience tests send through
//! one proxy: kept-alive small answers, uploads (read to the end, sized or chunked), large
//! downloads generated on the fly, slow answers and WebSocket echoes.
//!
//! - `/big/N` answers N MiB of pattern bytes with a `Content-Length` (stops when the proxy
//!   stops reading or goes away);
//! - `/slow/S` waits S seconds (or until the server is dropped) before a small answer;
//! - a WebSocket handshake gets a 101 and an echo of every frame until a close frame;
//! - anything else: `200 ok <method> <path> <body length>`, kept alive unless asked otherwise.

use crate::util::raw::{fill_pattern, RawServer};
use crate::util::ws::{accept_key, read_frame, write_frame, CLOSE};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests per kind, for tests that wait until their load has arrived.
#[derive(Default)]
pub struct Counts {
    pub big: AtomicUsize,
    pub slow: AtomicUsize,
    pub other: AtomicUsize,
}

pub struct App {
    pub server: RawServer,
    pub counts: Arc<Counts>,
}

impl App {
    pub fn start() -> App {
        let counts = Arc::new(Counts::default());
        let c = Arc::clone(&counts);
        let server = RawServer::start(move |stream| serve(stream, &c));
        App { server, counts }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }
}

struct Head {
    method: String,
    path: String,
    fields: Vec<(String, String)>,
}

impl Head {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_line(r: &mut impl BufRead) -> Option<String> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line).ok()? == 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&line).trim_end().to_owned())
}

fn read_head(r: &mut impl BufRead) -> Option<Head> {
    let first = read_line(r)?;
    let mut parts = first.split(' ');
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut fields = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            return Some(Head {
                method,
                path,
                fields,
            });
        }
        let (n, v) = line.split_once(':')?;
        fields.push((n.trim().to_owned(), v.trim().to_owned()));
    }
}

/// Reads and discards the body; returns its length.
fn read_body(r: &mut impl BufRead, head: &Head) -> Option<u64> {
    if head
        .field("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        let mut total = 0;
        loop {
            let size = u64::from_str_radix(read_line(r)?.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                while !read_line(r)?.is_empty() {}
                return Some(total);
            }
            std::io::copy(&mut r.take(size), &mut std::io::sink()).ok()?;
            read_line(r)?;
            total += size;
        }
    }
    let n: u64 = head
        .field("content-length")
        .map_or(Some(0), |n| n.parse().ok())?;
    (std::io::copy(&mut r.take(n), &mut std::io::sink()).ok()? == n).then_some(n)
}

/// Serves one connection, then closes it for good (the [`RawServer`] keeps a clone of every
/// stream to shut it down on drop, so returning alone would leave the socket open).
fn serve(stream: TcpStream, counts: &Counts) {
    let _ = stream.set_nodelay(true);
    if let Ok(read_half) = stream.try_clone() {
        serve_requests(BufReader::new(read_half), &stream, counts);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn serve_requests(mut r: BufReader<TcpStream>, stream: &TcpStream, counts: &Counts) {
    let mut w = stream;
    while let Some(head) = read_head(&mut r) {
        if let Some(key) = head.field("sec-websocket-key") {
            let _ = w.write_all(format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(key)
            ).as_bytes());
            while let Ok(f) = read_frame(&mut r) {
                if write_frame(&mut w, f.opcode, &f.payload, None).is_err() || f.opcode == CLOSE {
                    break;
                }
            }
            return;
        }
        let Some(len) = read_body(&mut r, &head) else {
            return;
        };
        let close = head
            .field("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let ok = if let Some(mib) = head.path.strip_prefix("/big/") {
            counts.big.fetch_add(1, Ordering::SeqCst);
            big(w, mib.parse().unwrap_or(1) << 20)
        } else {
            if let Some(s) = head.path.strip_prefix("/slow/") {
                counts.slow.fetch_add(1, Ordering::SeqCst);
                wait(w, Duration::from_secs(s.parse().unwrap_or(1)));
            } else {
                counts.other.fetch_add(1, Ordering::SeqCst);
            }
            // One write per answer: `write!` on a socket is a write per piece (and Nagle).
            let body = format!("ok {} {} {len}", head.method, head.path);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            w.write_all(answer.as_bytes()).is_ok()
        };
        if !ok || close {
            return;
        }
    }
}

fn big(mut w: &TcpStream, len: u64) -> bool {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"
    );
    if w.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        let n = (len - sent).min(buf.len() as u64) as usize;
        fill_pattern(&mut buf[..n], sent);
        if w.write_all(&buf[..n]).is_err() {
            return false;
        }
        sent += n as u64;
    }
    true
}

/// Sleeps `d`, or less when the connection is shut down (the server was dropped).
fn wait(w: &TcpStream, d: Duration) {
    let until = Instant::now() + d;
    let mut probe = [0u8; 1];
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        let _ = w.set_read_timeout(Some(
            left.min(Duration::from_millis(100))
                .max(Duration::from_millis(1)),
        ));
        if let Ok(0) = w.peek(&mut probe) {
            return;
        }
    }
    let _ = w.set_read_timeout(None);
}
