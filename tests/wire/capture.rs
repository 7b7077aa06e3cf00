//! An upstream that keeps what it received as raw bytes: the head exactly as written (so a
//! byte ≥ 0x80 is seen as that byte, not as a replacement character) and the body both as it
//! came over the wire and de-framed, with any chunked trailer fields.
//!
//! A request is recorded only once its body is complete, so "nothing recorded" also means
//! "never a complete body". Every answer is `200 ok` with `Connection: close`.

use crate::util::raw::RawServer;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Request line and fields up to and including the blank line, byte-exact.
    pub head: Vec<u8>,
    /// The body as it crossed the wire (chunk framing included).
    pub wire_body: Vec<u8>,
    /// The body without framing.
    pub body: Vec<u8>,
    /// Trailer field lines after a last chunk.
    pub trailers: Vec<Vec<u8>>,
}

impl Captured {
    /// The raw value of the first field named `name` (ASCII case-insensitive).
    pub fn field(&self, name: &str) -> Option<Vec<u8>> {
        self.head
            .split(|b| *b == b'\n')
            .skip(1)
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .find_map(|l| {
                let colon = l.iter().position(|b| *b == b':')?;
                l[..colon]
                    .eq_ignore_ascii_case(name.as_bytes())
                    .then(|| l[colon + 1..].trim_ascii().to_vec())
            })
    }

    pub fn head_text(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }
}

pub struct CaptureUpstream {
    server: RawServer,
    seen: Arc<Mutex<Vec<Captured>>>,
}

impl CaptureUpstream {
    pub fn start() -> CaptureUpstream {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let server = RawServer::start(move |stream| {
            if let Some(c) = capture(&stream) {
                sink.lock().unwrap().push(c);
                let _ = (&stream).write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
        });
        CaptureUpstream { server, seen }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.seen.lock().unwrap().clone()
    }

    /// The one request received; panics unless exactly one arrived.
    pub fn only(&self) -> Captured {
        let seen = self.requests();
        assert_eq!(seen.len(), 1, "{seen:#?}");
        seen[0].clone()
    }
}

fn capture(stream: &TcpStream) -> Option<Captured> {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head).ok()? == 0 {
            return None;
        }
        if matches!(&head[start..], b"\r\n" | b"\n") {
            break;
        }
    }
    let mut c = Captured {
        head,
        wire_body: Vec::new(),
        body: Vec::new(),
        trailers: Vec::new(),
    };
    let chunked = c
        .field("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
    if chunked {
        loop {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line).ok()? == 0 {
                return None;
            }
            c.wire_body.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line);
            let size = usize::from_str_radix(text.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            let mut data = vec![0u8; size + 2];
            reader.read_exact(&mut data).ok()?;
            c.wire_body.extend_from_slice(&data);
            c.body.extend_from_slice(&data[..size]);
        }
        loop {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line).ok()? == 0 {
                return None;
            }
            c.wire_body.extend_from_slice(&line);
            if matches!(line.as_slice(), b"\r\n" | b"\n") {
                break;
            }
            c.trailers.push(line);
        }
    } else if let Some(n) = c.field("content-length") {
        let n: usize = String::from_utf8_lossy(&n).parse().ok()?;
        let mut body = vec![0u8; n];
        reader.read_exact(&mut body).ok()?;
        c.wire_body = body.clone();
        c.body = body;
    }
    Some(c)
}
