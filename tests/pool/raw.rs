//! An upstream written byte by byte, keep-alive, that answers every request with a JSON echo
//! (`path`, `authorization`) and misbehaves on request, chosen by the path's first segment:
//!
//! - `/late/…`: the answer, then 50 ms later a whole second response on the same connection;
//! - `/long/…`: one write whose body is longer than its `Content-Length`: the echo, then a
//!   whole second response with a `Set-Cookie` (Node's `Content-Length` of a non-ASCII string);
//! - `/408/…`: the answer, then 50 ms later `408` and a close, as some servers do to an idle
//!   connection;
//! - `/no-content/…`: `204` and a stray response in the same write;
//! - `/not-modified/…`: `304`, and 20 ms later a stray response;
//! - any `HEAD`: the head (with the `Content-Length` a GET would have) and then a body anyway;
//! - `/sleep/<ms>/…`: the answer after `ms` milliseconds;
//! - `/idle-close/…`: the answer, then 50 ms later a quiet close (Node's keep-alive timeout);
//! - `/drop-next/…`: the answer; the next request on this connection is read and the
//!   connection closed without a word (a close that crossed the request on the wire);
//! - `/always-drop/…`: read, then the connection closed without a word;
//! - `/half/…`: half a status line, then a close;
//! - `/chunked/…`: the echo, well-formed, in two chunks;
//! - anything else: the echo.
//!
//! Every request is recorded with the connection it came on ([`Seen`]).

use super::STRAY_RESPONSE;
use crate::util::forwarded::{self, Faults};
use crate::util::message::Framing;
use crate::util::raw::RawServer;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the upstream read it.
#[derive(Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    /// Which accepted connection (0, 1, …) it came on.
    pub conn: usize,
}

impl std::fmt::Debug for Seen {
    /// Short: a token's first characters are enough to tell two apart in a failure message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = self
            .authorization
            .as_deref()
            .map(|a| &a[a.len().min(20)..a.len().min(40)]);
        write!(
            f,
            "{} {} on #{} auth {auth:?}",
            self.method, self.path, self.conn
        )
    }
}

pub struct RawUpstream {
    server: RawServer,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RawUpstream {
    pub fn start() -> RawUpstream {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let log = Arc::clone(&seen);
        let server = RawServer::start_strict(move |stream, faults| {
            let conn = connections.fetch_add(1, Ordering::SeqCst);
            serve(stream, conn, &log, faults);
        });
        RawUpstream { server, seen }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every request so far; panics when one was faulty ([`forwarded`]).
    pub fn seen(&self) -> Vec<Seen> {
        self.server.assert_no_faults();
        self.seen.lock().unwrap().clone()
    }

    /// How many requests for `path` arrived.
    pub fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

/// The echo an ordinary answer carries.
pub fn echo_body(path: &str, authorization: Option<&str>) -> Vec<u8> {
    json!({ "path": path, "authorization": authorization })
        .to_string()
        .into_bytes()
}

pub fn answer(body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn serve(mut stream: TcpStream, conn: usize, seen: &Mutex<Vec<Seen>>, faults: &Faults) {
    let mut buf = Vec::new();
    let mut drop_next = false;
    while let Some(req) = next_request(&mut stream, &mut buf, faults) {
        let authorization = req.header("authorization").map(str::to_owned);
        let (method, path) = (req.method, req.path);
        seen.lock().unwrap().push(Seen {
            method: method.clone(),
            path: path.clone(),
            authorization: authorization.clone(),
            conn,
        });
        let body = echo_body(&path, authorization.as_deref());
        let first = path.split('/').nth(1).unwrap_or_default();
        if drop_next || first == "always-drop" {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let ok = match (method.as_str(), first) {
            ("HEAD", _) => {
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    STRAY_RESPONSE.len()
                )
                .into_bytes();
                out.extend_from_slice(STRAY_RESPONSE.as_bytes());
                stream.write_all(&out)
            }
            (_, "late") => stream.write_all(&answer(&body)).and_then(|()| {
                thread::sleep(Duration::from_millis(50));
                stream.write_all(STRAY_RESPONSE.as_bytes())
            }),
            (_, "long") => {
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                out.extend_from_slice(&body);
                out.extend_from_slice(STRAY_RESPONSE.as_bytes());
                stream.write_all(&out)
            }
            (_, "408") => {
                let _ = stream.write_all(&answer(&body));
                thread::sleep(Duration::from_millis(50));
                let _ = stream.write_all(
                    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 8\r\n\r\nINJECTED",
                );
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            (_, "no-content") => {
                let mut out = b"HTTP/1.1 204 No Content\r\n\r\n".to_vec();
                out.extend_from_slice(STRAY_RESPONSE.as_bytes());
                stream.write_all(&out)
            }
            (_, "not-modified") => stream
                .write_all(b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
                .and_then(|()| {
                    thread::sleep(Duration::from_millis(20));
                    stream.write_all(STRAY_RESPONSE.as_bytes())
                }),
            (_, "sleep") => {
                let ms = path
                    .split('/')
                    .nth(2)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                thread::sleep(Duration::from_millis(ms));
                stream.write_all(&answer(&body))
            }
            (_, "idle-close") => {
                let _ = stream.write_all(&answer(&body));
                thread::sleep(Duration::from_millis(50));
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            (_, "drop-next") => {
                drop_next = true;
                stream.write_all(&answer(&body))
            }
            (_, "chunked") => {
                let (a, b) = body.split_at(body.len() / 2);
                let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                                Transfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
                for piece in [a, b] {
                    out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
                stream.write_all(&out)
            }
            (_, "half") => {
                let _ = stream.write_all(b"HTTP/1.1 20");
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            _ => stream.write_all(&answer(&body)),
        };
        if ok.is_err() {
            return;
        }
    }
}

/// A request head as read off the wire.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the next request head (requests here have no body), keeping what was read past it in
/// `buf`; `None` at the end of the connection. The head is checked strictly ([`forwarded`]): a
/// fault is recorded in `faults` and the head still read, leniently.
pub fn next_request(stream: &mut TcpStream, buf: &mut Vec<u8>, faults: &Faults) -> Option<Request> {
    let end = loop {
        if let Some(end) = forwarded::head_end(buf) {
            break end;
        }
        if buf.len() > forwarded::MAX_HEAD {
            faults.record(forwarded::check(buf).err()?);
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head: Vec<u8> = buf.drain(..end).collect();
    match forwarded::check(&head) {
        Ok((_, Framing::None | Framing::Length(0))) => {}
        Ok((_, framing)) => faults.record(format!(
            "a request with a body ({framing:?}) at an upstream that reads none: \"{}\"",
            head.escape_ascii()
        )),
        Err(fault) => faults.record(fault),
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.lines();
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        path,
        headers,
    })
}
