//! A raw client connection that reads whole answers one after the other: the status line, the
//! fields and the de-framed body, keeping bytes of a pipelined next answer for the next call.
//! For tests that write the protocol themselves and need to know exactly what came back and
//! whether the proxy closed the connection afterwards.
//!
//! Read strictly ([`super::message`], [`super::chunked`]): the head as [`read_head`] checks it,
//! a body framed by a `Content-Length` of digits or by strict chunked framing (never both), and
//! a body framed neither way read to the close only by [`Conn::answer_to_close`], where the test
//! expects exactly that.

use super::chunked::Chunked;
use super::message::{self, Framing};
use super::raw::read_head;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One answer read off a client connection: the status line, the fields, the de-framed body.
#[derive(Debug)]
pub struct Answer {
    pub first: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The value of a field sent at most once; panics when it was sent more than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        message::one(&self.headers, name)
    }

    /// Every value of a field, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        message::all(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {} {}", self.first, self.text()))
    }

    /// Asserts the proxy's JSON error with exactly this status; returns the message.
    pub fn assert_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{} {:?}", self.first, self.text());
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "content-type of a {status}: {:?}",
            self.headers
        );
        let v = self.json();
        let error = v["error"]
            .as_object()
            .unwrap_or_else(|| panic!("no error object: {v}"));
        assert_eq!(v["error"]["code"], status, "{v}");
        assert!(
            v["error"]["status"].as_str().is_some_and(|s| !s.is_empty()),
            "{v}"
        );
        let message = v["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {v}"));
        assert!(!message.is_empty(), "{v}");
        assert!(
            error.keys().all(
                |k| ["code", "status", "message", "reason", "request_id"].contains(&k.as_str())
            ),
            "unexpected fields in {v}"
        );
        message.to_owned()
    }
}

/// A raw client connection that reads answers one after the other (pipelining keeps bytes of
/// the next answer in `pending`).
pub struct Conn {
    pub stream: TcpStream,
    pending: Vec<u8>,
}

impl Conn {
    /// Connects with a 20 s read timeout (a hang fails the test instead of blocking it).
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect to the proxy");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            stream,
            pending: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> &mut Conn {
        self.stream.write_all(bytes).expect("write to the proxy");
        self
    }

    /// Reads the next answer (an interim 1xx has no body); panics when the connection ends
    /// before a whole answer, and when the answer breaks the rules (see the module
    /// documentation), a body framed neither way included.
    pub fn answer(&mut self) -> Answer {
        self.try_answer()
            .unwrap_or_else(|e| panic!("no complete answer: {e}"))
    }

    /// Reads the next answer, whose body (framed neither by a length nor chunked) the test
    /// expects to end at the close; panics when it is framed.
    pub fn answer_to_close(&mut self) -> Answer {
        self.read(true)
            .unwrap_or_else(|e| panic!("no complete answer: {e}"))
    }

    /// Like [`Conn::answer`]; `Err` when the connection ends (or a read fails) before a whole
    /// answer. An answer that breaks the rules panics, never an `Err` a test could take for a
    /// close.
    pub fn try_answer(&mut self) -> Result<Answer, String> {
        self.read(false)
    }

    fn read(&mut self, to_close: bool) -> Result<Answer, String> {
        let pending = std::mem::take(&mut self.pending);
        let mut chained = std::io::Cursor::new(pending).chain(&mut self.stream);
        let head = read_head(&mut chained).map_err(|e| e.to_string())?;
        let (cursor, _) = chained.into_inner();
        let pos = cursor.position() as usize;
        let mut rest = head.rest.clone();
        rest.extend_from_slice(&cursor.into_inner()[pos..]);
        self.pending = rest;
        let status = head.status();
        let shown = || format!("{} {:?}", head.first, head.headers);
        if to_close != (head.framing == Framing::ToClose) {
            panic!(
                "the body is framed {:?}; the test expects {}: {}",
                head.framing,
                if to_close {
                    "it to end at the close"
                } else {
                    "a length or chunked framing"
                },
                shown()
            );
        }
        let body = match head.framing {
            Framing::None => Vec::new(),
            Framing::Length(n) => self.take(n as usize)?,
            Framing::Chunked => self
                .dechunk()
                .map_err(|e| format!("{e} after {}", shown()))?,
            Framing::ToClose => {
                let mut all = std::mem::take(&mut self.pending);
                self.stream
                    .read_to_end(&mut all)
                    .map_err(|e| e.to_string())?;
                all
            }
        };
        Ok(Answer {
            first: head.first.clone(),
            status,
            headers: head.headers,
            body,
        })
    }

    fn fill(&mut self, at_least: usize) -> Result<(), String> {
        let mut buf = [0u8; 16 * 1024];
        while self.pending.len() < at_least {
            self.more(&mut buf)?;
        }
        Ok(())
    }

    /// Reads what the socket has into `pending`; an error at the end of the stream.
    fn more(&mut self, buf: &mut [u8]) -> Result<(), String> {
        let n = self.stream.read(buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!(
                "eof after {:?}",
                String::from_utf8_lossy(&self.pending)
            ));
        }
        self.pending.extend_from_slice(&buf[..n]);
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<Vec<u8>, String> {
        self.fill(n)?;
        let rest = self.pending.split_off(n);
        Ok(std::mem::replace(&mut self.pending, rest))
    }

    /// A chunked body, decoded strictly; a framing fault panics (the proxy framed it).
    fn dechunk(&mut self) -> Result<Vec<u8>, String> {
        let mut framing = Chunked::new();
        let mut body = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let input = std::mem::take(&mut self.pending);
            let data = framing.feed(&input).unwrap_or_else(|e| {
                panic!(
                    "chunked framing: {e} in {:?}",
                    String::from_utf8_lossy(&input)
                )
            });
            body.extend(data);
            if framing.is_done() {
                self.pending = framing.rest().to_vec();
                return Ok(body);
            }
            self.more(&mut buf)?;
        }
    }

    /// Asserts that the proxy closes the connection within `within` and sends nothing more.
    pub fn assert_closed(&mut self, within: Duration) {
        assert!(
            self.pending.is_empty(),
            "bytes after the answer: {:?}",
            String::from_utf8_lossy(&self.pending)
        );
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the connection is still open after {within:?}"
            );
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => panic!(
                    "more bytes instead of a close: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                ),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A reset is a close too.
                Err(_) => return,
            }
        }
    }
}
