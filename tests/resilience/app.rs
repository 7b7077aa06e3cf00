//! An upstream application that serves every kind of traffic the resilience tests send through
//! one proxy: kept-alive small answers, uploads (read to the end, sized or chunked), large
//! downloads generated on the fly, slow answers and WebSocket echoes.
//!
//! - `/big/N` answers N MiB of pattern bytes with a `Content-Length` (stops when the proxy
//!   stops reading or goes away);
//! - `/slow/S` waits S seconds (or until the server is dropped) before a small answer;
//! - a WebSocket handshake gets a 101 and an echo of every frame until a close frame;
//! - anything else: `200 ok <method> <path> <body length>`, kept alive unless asked otherwise.

use crate::util::forwarded::{self, Faults};
use crate::util::message::{self, Framing};
use crate::util::raw::{fill_pattern, RawServer};
use crate::util::server_read;
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
        let server = RawServer::start_strict(move |stream, faults| serve(stream, &c, faults));
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
    framing: Framing,
}

impl Head {
    fn field(&self, name: &str) -> Option<&str> {
        message::one(&self.fields, name)
    }
}

/// The next request head, checked strictly ([`forwarded`]); `None` at the end of the
/// connection or at a fault (recorded: the server's drop reports it).
fn read_head(r: &mut impl BufRead, faults: &Faults) -> Option<Head> {
    let mut found = Vec::new();
    let head = server_read::read_head(r, &mut found);
    found.into_iter().for_each(|f| faults.record(f));
    let head = head.ok()??;
    let (fields, framing) = forwarded::check(&head)
        .map_err(|fault| faults.record(fault))
        .ok()?;
    let first = String::from_utf8_lossy(&head).lines().next()?.to_owned();
    let mut parts = first.split(' ');
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    Some(Head {
        method,
        path,
        fields,
        framing,
    })
}

/// Reads and discards the body (chunked framing decoded strictly); returns its length.
fn read_body(r: &mut impl BufRead, head: &Head, faults: &Faults) -> Option<u64> {
    match head.framing {
        Framing::Chunked => match server_read::read_chunked(r).ok()? {
            Ok(body) => Some(body.len() as u64),
            Err(fault) => {
                faults.record(format!(
                    "the proxy forwarded a faulty chunked body to {} {}: {fault}",
                    head.method, head.path
                ));
                None
            }
        },
        Framing::Length(n) => {
            (std::io::copy(&mut r.take(n), &mut std::io::sink()).ok()? == n).then_some(n)
        }
        Framing::None | Framing::ToClose => Some(0),
    }
}

/// Serves one connection, then closes it for good (the [`RawServer`] keeps a clone of every
/// stream to shut it down on drop, so returning alone would leave the socket open).
fn serve(stream: TcpStream, counts: &Counts, faults: &Faults) {
    let _ = stream.set_nodelay(true);
    if let Ok(read_half) = stream.try_clone() {
        serve_requests(BufReader::new(read_half), &stream, counts, faults);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn serve_requests(
    mut r: BufReader<TcpStream>,
    stream: &TcpStream,
    counts: &Counts,
    faults: &Faults,
) {
    let mut w = stream;
    while let Some(head) = read_head(&mut r, faults) {
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
        let Some(len) = read_body(&mut r, &head, faults) else {
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
