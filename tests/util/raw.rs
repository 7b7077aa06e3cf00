//! A raw TCP test server (one thread per connection, the test writes the protocol itself) and
//! helpers for the stream tests: reading a response head off a socket, sampling a process's RSS.
//!
//! Used where the recording server of [`super::server`] would get in the way: bodies of hundreds
//! of MiB generated on the fly, WebSocket upgrades, precise control of what hits the wire.

use super::forwarded::Faults;
use super::message::{self, Framing};
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A server that hands every accepted connection to `serve` on its own thread.
pub struct RawServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    accept_thread: Option<JoinHandle<()>>,
    /// What [`RawServer::start_strict`]'s connections found wrong in the requests the proxy
    /// forwarded ([`super::forwarded`]): the drop panics with them.
    faults: Faults,
}

impl RawServer {
    pub fn start(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> RawServer {
        RawServer::start_strict(move |stream, _| serve(stream))
    }

    /// A server whose `serve` checks the requests it reads ([`super::forwarded`]) and records
    /// each fault: the server's drop (or [`RawServer::assert_no_faults`]) panics with them.
    pub fn start_strict(serve: impl Fn(TcpStream, &Faults) + Send + Sync + 'static) -> RawServer {
        let faults = Faults::default();
        let serve_faults = faults.clone();
        let serve = move |stream| serve(stream, &serve_faults);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let serve = Arc::new(serve);
        let (s, c) = (Arc::clone(&stop), Arc::clone(&connections));
        let accept_thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Ok(clone) = stream.try_clone() {
                    c.lock().unwrap().push(clone);
                }
                let serve = Arc::clone(&serve);
                thread::spawn(move || serve(stream));
            }
        });
        RawServer {
            addr,
            stop,
            connections,
            accept_thread: Some(accept_thread),
            faults,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Panics with the faults of the requests received so far, if any.
    pub fn assert_no_faults(&self) {
        self.faults
            .assert_none(&format!("the raw server at {}", self.addr));
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        for c in self.connections.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        self.faults
            .assert_none_on_drop(&format!("the raw server at {}", self.addr));
    }
}

/// A request or response head read off a socket, checked strictly ([`super::message`]): its
/// start line, its fields, and the bytes read past it.
#[derive(Debug)]
pub struct Head {
    /// The first line (request line or status line).
    pub first: String,
    /// `(name, value)`, names as sent, duplicates kept in order.
    pub headers: Vec<(String, String)>,
    /// How the body is framed (the framing fields checked).
    pub framing: Framing,
    /// Bytes that arrived after the blank line.
    pub rest: Vec<u8>,
}

impl Head {
    /// The value of a field sent at most once; panics when it was sent more than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        message::one(&self.headers, name)
    }

    /// Every value of a field, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        message::all(&self.headers, name)
    }

    /// The status code of a response head.
    pub fn status(&self) -> u16 {
        message::status_line(&self.first, "HTTP/1.1")
            .unwrap_or_else(|e| panic!("not a response head: {e}"))
    }
}

/// Reads up to the end of a head (at most 1 MiB) and checks it strictly: a status line
/// `HTTP/1.1 NNN reason` or a request line `METHOD target HTTP/1.1`, field lines, framing
/// fields ([`super::message`]).
///
/// An `Err` is the end of the stream (or a read error) before a whole head; a head that breaks
/// the rules panics (whoever sent it, the proxy, is at fault), so no caller can take it for a
/// close.
pub fn read_head(stream: &mut impl Read) -> io::Result<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "eof before the end of a head: {:?}",
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let (first, headers, framing) = message::checked_head(&buf[..end], "HTTP/1.1")
                .unwrap_or_else(|e| {
                    panic!(
                        "{e} in the head {:?}",
                        String::from_utf8_lossy(&buf[..end + 4])
                    )
                });
            return Ok(Head {
                first,
                headers,
                framing,
                rest: buf[end + 4..].to_vec(),
            });
        }
        if buf.len() > 1 << 20 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
    }
}

/// Reads exactly `n` body bytes, starting with `already` (bytes read with the head).
pub fn read_exact_body(stream: &mut impl Read, already: Vec<u8>, n: usize) -> Vec<u8> {
    let mut body = already;
    while body.len() < n {
        let mut chunk = vec![0u8; (n - body.len()).min(64 * 1024)];
        let got = stream.read(&mut chunk).expect("read body");
        assert!(got > 0, "eof after {} of {n} body bytes", body.len());
        body.extend_from_slice(&chunk[..got]);
    }
    body.truncate(n);
    body
}

/// The resident set size of a process in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples a process's RSS every 20 ms in the background; [`RssSampler::stop`] returns the
/// largest value seen, in KiB.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut max = 0;
            while !s.load(Ordering::SeqCst) {
                if let Some(v) = rss_kib(pid) {
                    max = max.max(v);
                }
                thread::sleep(Duration::from_millis(20));
            }
            max
        });
        RssSampler { stop, thread }
    }

    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("sampler")
    }
}

/// A deterministic byte pattern with a prime period (so it never lines up with buffer sizes),
/// so streamed bodies can be checked without storing them.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// Fills `buf` with the pattern starting at offset `at`.
pub fn fill_pattern(buf: &mut [u8], at: u64) {
    let cycle: Vec<u8> = (0..251u8).collect();
    let mut offset = (at % 251) as usize;
    let mut filled = 0;
    while filled < buf.len() {
        let n = (251 - offset).min(buf.len() - filled);
        buf[filled..filled + n].copy_from_slice(&cycle[offset..offset + n]);
        filled += n;
        offset = 0;
    }
}

/// Whether `buf` holds the pattern starting at offset `at`.
pub fn is_pattern(buf: &[u8], at: u64) -> bool {
    let mut expected = vec![0u8; buf.len()];
    fill_pattern(&mut expected, at);
    expected == buf
}

/// A number from `/proc/PID/status`: `proc_status(pid, "Threads")`, `"VmRSS"` (KiB)…
pub fn proc_status(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The open file descriptors of a process (entries of `/proc/PID/fd`).
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}
