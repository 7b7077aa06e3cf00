//! The read side of a client connection: the socket plus the bytes read from it but not yet
//! used (the rest of a head's segment: the start of a body, a pipelined request, the first
//! frames after a WebSocket handshake).
//!
//! One buffer per connection, bounded: it grows only while a head is read (at most
//! [`crate::http::head::MAX_HEAD_BYTES`] plus one read), and bodies larger than what is buffered
//! are read straight into the caller's buffer. Read timeouts are set here, and only when they
//! change, so a whole-head deadline costs no system call while a head arrives in one piece.
//!
//! While a request body is read and `--min-data-rate` is on, every socket read goes through a
//! [`Meter`] ([`crate::http::rate`]): the body is cut when it arrives below the rate.

use crate::http::rate::{self, Meter, Pacer};
use crate::http::stream::{Opening, Stream};
use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes asked of the socket per read while a head is collected.
const READ_CHUNK: usize = 8 * 1024;
/// Buffer capacity a connection keeps between requests.
const KEPT_CAPACITY: usize = 16 * 1024;

/// A client socket with its read-ahead buffer.
pub struct Input {
    /// The socket is shared with the connection registry, which may shut it down (shedding,
    /// shutdown).
    stream: Stream,
    buf: Vec<u8>,
    /// `buf[start..]` is unread.
    start: usize,
    /// The read timeout currently set on the socket.
    timeout: Option<Duration>,
    /// `--min-data-rate` is on.
    pacer: Option<Pacer>,
    /// The body being read (with a pacer).
    meter: Option<Meter>,
}

impl Input {
    pub fn new(stream: Arc<TcpStream>) -> Input {
        Input {
            stream: Stream::Plain(stream),
            buf: Vec::new(),
            start: 0,
            timeout: None,
            pacer: None,
            meter: None,
        }
    }

    /// Holds request bodies to `--min-data-rate` from now on.
    pub fn pace(&mut self, pacer: Pacer) {
        self.pacer = Some(pacer);
    }

    /// The pacing settings, when `--min-data-rate` is on.
    pub fn pacer(&self) -> Option<&Pacer> {
        self.pacer.as_ref()
    }

    /// A request body begins: its reads from the socket are metered (when pacing).
    pub fn start_body(&mut self) {
        self.meter = self.pacer.as_ref().map(|p| Meter::new(p.rate));
    }

    /// The body is over: reads are plain again.
    pub fn end_body(&mut self) {
        self.meter = None;
    }

    /// Gives the body being read a deadline (draining it); false when it is not metered.
    pub fn body_deadline(&mut self, deadline: Instant) -> bool {
        match &mut self.meter {
            Some(m) => {
                m.until = Some(deadline);
                true
            }
            None => false,
        }
    }

    /// The socket (timeouts, shutdown); bytes go through [`Input::stream_mut`].
    pub fn stream(&self) -> &TcpStream {
        self.stream.tcp()
    }

    /// The stream to write answers to (plain or TLS).
    pub fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// The stream to write to, with the pacing settings (borrowed together).
    pub fn writer(&mut self) -> (&mut Stream, Option<&Pacer>) {
        (&mut self.stream, self.pacer.as_ref())
    }

    /// Takes the stream for a WebSocket relay; this input keeps only the socket.
    pub fn take_stream(&mut self) -> Stream {
        let plain = Stream::Plain(Arc::clone(self.stream.socket()));
        std::mem::replace(&mut self.stream, plain)
    }

    /// Runs the TLS handshake by `deadline` (see [`Stream::accept_tls`]).
    pub fn accept_tls(
        &mut self,
        config: Arc<rustls::ServerConfig>,
        deadline: Instant,
    ) -> io::Result<Opening> {
        let tcp = Arc::clone(self.stream.socket());
        let mut timeout = self.timeout;
        let result = self.stream.accept_tls(config, deadline, &mut |deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
            }
            let t = Some(left.max(Duration::from_millis(1)));
            if timeout != t {
                tcp.set_read_timeout(t)?;
                timeout = t;
            }
            Ok(())
        });
        self.timeout = None;
        if let Some(t) = timeout {
            self.set_timeout(t)?;
        }
        result
    }

    /// The bytes read ahead and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Marks `n` buffered bytes as used.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > KEPT_CAPACITY {
                // A large head passed: idle connections keep no more than a small buffer.
                self.buf = Vec::new();
            }
        }
    }

    /// Takes every buffered byte (for a WebSocket hand-over).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.buf.clear();
        self.start = 0;
        rest
    }

    /// The read timeout currently set on the socket (`None`: never set here).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Sets the socket's read timeout (a system call only when it changes).
    pub fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        // Zero means "no timeout" to the kernel: never pass it.
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        if self.timeout != timeout {
            self.stream.set_read_timeout(timeout)?;
            self.timeout = timeout;
        }
        Ok(())
    }

    /// Sets the read timeout to what is left until `deadline`; a deadline already past is a
    /// `TimedOut` error.
    pub fn set_deadline(&mut self, deadline: Instant) -> io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
        }
        // Round up to whole milliseconds so a timeout near the deadline is not re-set often.
        self.set_timeout(left)
    }

    /// Reads more bytes from the socket onto the end of the buffer; returns how many (0: the
    /// client closed its side). Never lets the buffer grow beyond `limit` plus one read.
    pub fn fill(&mut self, limit: usize) -> io::Result<usize> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        if self.start > 0 && self.buf.len() - self.start < limit {
            // Move what is unread to the front rather than grow past the limit.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        let want = READ_CHUNK.min(limit.saturating_sub(old - self.start).max(1));
        self.buf.resize(old + want, 0);
        let result = Self::socket_read(
            &mut self.stream,
            &mut self.timeout,
            self.pacer.as_ref().zip(self.meter.as_mut()),
            &mut self.buf[old..],
        );
        let n = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(old + n);
        result
    }
}

impl Read for Input {
    /// Buffered bytes first, then straight from the socket.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buffered = self.buffered();
        if !buffered.is_empty() {
            let n = buffered.len().min(out.len());
            out[..n].copy_from_slice(&buffered[..n]);
            self.consume(n);
            return Ok(n);
        }
        Self::socket_read(
            &mut self.stream,
            &mut self.timeout,
            self.pacer.as_ref().zip(self.meter.as_mut()),
            out,
        )
    }
}

impl Input {
    /// One read from the socket: plain, or under the body's meter.
    fn socket_read(
        stream: &mut Stream,
        timeout: &mut Option<Duration>,
        paced: Option<(&Pacer, &mut Meter)>,
        out: &mut [u8],
    ) -> io::Result<usize> {
        let Some((pacer, meter)) = paced else {
            return loop {
                match stream.read(out) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
        };
        let tcp = Arc::clone(stream.socket());
        rate::paced(
            pacer,
            meter,
            timeout,
            &|t| tcp.set_read_timeout(Some(t)),
            rate::Slow::Body,
            || stream.read(out),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, Input) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, Input::new(Arc::new(s)))
    }

    #[test]
    fn buffers_then_reads_through() {
        let (mut c, mut input) = pair();
        c.write_all(b"hello world").unwrap();
        while input.buffered().len() < 11 {
            input.fill(64).unwrap();
        }
        input.consume(6);
        let mut out = [0u8; 3];
        assert_eq!(input.read(&mut out).unwrap(), 3);
        assert_eq!(&out, b"wor");
        assert_eq!(input.take_buffered(), b"ld");
        c.write_all(b"!").unwrap();
        assert_eq!(input.read(&mut out).unwrap(), 1);
        assert_eq!(out[0], b'!');
    }

    #[test]
    fn a_passed_deadline_is_a_timeout() {
        let (_c, mut input) = pair();
        let e = input.set_deadline(Instant::now()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        input
            .set_deadline(Instant::now() + Duration::from_millis(50))
            .unwrap();
        let e = input.fill(64).unwrap_err();
        assert!(crate::http::error::is_timeout(&e), "{e:?}");
    }
}
