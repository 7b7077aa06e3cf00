//! A raw client connection that reads whole answers one after the other: the status line, the
//! fields and the de-framed body (length, chunked or until close), keeping bytes of a pipelined
//! next answer for the next call. For tests that write the protocol themselves and need to know
//! exactly what came back and whether the proxy closed the connection afterwards.

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
    pub fn header(&self, name: &str) -> Option<&str> {
        super::server::first_header(&self.headers, name)
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
    /// before a whole answer.
    pub fn answer(&mut self) -> Answer {
        self.try_answer()
            .unwrap_or_else(|e| panic!("no complete answer: {e}"))
    }

    pub fn try_answer(&mut self) -> Result<Answer, String> {
        let pending = std::mem::take(&mut self.pending);
        let mut chained = std::io::Cursor::new(pending).chain(&mut self.stream);
        let head = read_head(&mut chained).map_err(|e| e.to_string())?;
        let (cursor, _) = chained.into_inner();
        let pos = cursor.position() as usize;
        let mut rest = head.rest.clone();
        rest.extend_from_slice(&cursor.into_inner()[pos..]);
        self.pending = rest;
        let status = head.status();
        let body = if (100..200).contains(&status) || status == 204 || status == 304 {
            Vec::new()
        } else if let Some(n) = head.header("content-length") {
            let n: usize = n.parse().map_err(|_| format!("bad length in {head:?}"))?;
            self.take(n)?
        } else if head
            .header("transfer-encoding")
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
        {
            self.dechunk()?
        } else {
            let mut all = std::mem::take(&mut self.pending);
            self.stream
                .read_to_end(&mut all)
                .map_err(|e| e.to_string())?;
            all
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
            let n = self.stream.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!(
                    "eof after {:?}",
                    String::from_utf8_lossy(&self.pending)
                ));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<Vec<u8>, String> {
        self.fill(n)?;
        let rest = self.pending.split_off(n);
        Ok(std::mem::replace(&mut self.pending, rest))
    }

    fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(i + 2)?;
                return Ok(String::from_utf8_lossy(&line[..i]).into_owned());
            }
            let want = self.pending.len() + 1;
            self.fill(want)?;
        }
    }

    fn dechunk(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let size = self.line()?;
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size {size:?}"))?;
            if size == 0 {
                while !self.line()?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.take(size)?);
            self.line()?;
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
