//! A client connection's byte stream: the plain socket, or TLS over it (`--tls-cert`).
//!
//! Everything above (reading heads and bodies, writing answers, handing a WebSocket over) goes
//! through [`Stream`]; the plain case calls the socket exactly as before (same system calls,
//! vectored writes included), the TLS case feeds the `rustls` server state.
//!
//! The handshake is run here step by step rather than by `rustls`'s blocking helpers, which
//! keep reading as long as bytes trickle in: each socket read waits only for what is left of
//! the whole-head deadline (`--client-timeout`), so a handshake sent a byte at a time is cut
//! like a head sent a byte at a time. Its first byte is peeked: a TLS record starts with
//! [`HANDSHAKE_RECORD`]; anything else is plain HTTP, answered `400` in plain HTTP.

use crate::http::tls::HANDSHAKE_RECORD;
use rustls::{ServerConfig, ServerConnection};
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the first bytes of a connection to the TLS port were.
#[derive(Debug, PartialEq, Eq)]
pub enum Opening {
    /// A TLS handshake, completed.
    Tls,
    /// Plain HTTP (or anything not TLS): the stream is plain now, for the answer.
    Plain,
}

/// A TLS connection: the `rustls` state and its socket.
pub struct Tls {
    pub conn: ServerConnection,
    pub sock: Arc<TcpStream>,
    /// The socket's read timeout as last set through [`Stream::set_read_timeout`]: one read
    /// of plaintext may take several socket reads (a record trickled in pieces), and together
    /// they get no longer than one timeout.
    read_timeout: Option<Duration>,
}

/// The client's stream.
pub enum Stream {
    Plain(Arc<TcpStream>),
    Tls(Box<Tls>),
}

impl Stream {
    /// The socket underneath (timeouts, shutdown).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }

    /// The shared socket.
    pub fn socket(&self) -> &Arc<TcpStream> {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }

    /// Sets the socket's read timeout (and remembers it for TLS reads).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)?;
        if let Stream::Tls(t) = self {
            t.read_timeout = timeout;
        }
        Ok(())
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Starts TLS on a plain stream and runs the handshake until `deadline`; `set_deadline`
    /// sets the socket's read timeout to what is left (an error once it passed). An error
    /// ends the connection without an answer (an alert is sent when `rustls` has one).
    pub fn accept_tls(
        &mut self,
        config: Arc<ServerConfig>,
        deadline: Instant,
        set_deadline: &mut dyn FnMut(Instant) -> io::Result<()>,
    ) -> io::Result<Opening> {
        let sock = Arc::clone(self.socket());
        set_deadline(deadline)?;
        let mut first = [0u8; 1];
        let n = loop {
            match sock.peek(&mut first) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if first[0] != HANDSHAKE_RECORD {
            *self = Stream::Plain(sock);
            return Ok(Opening::Plain);
        }
        let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
        while conn.is_handshaking() {
            if conn.wants_write() {
                conn.write_tls(&mut &*sock)?;
                continue;
            }
            set_deadline(deadline)?;
            if conn.read_tls(&mut &*sock)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if let Err(e) = conn.process_new_packets() {
                // The alert that says why, best effort.
                let _ = conn.write_tls(&mut &*sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        while conn.wants_write() {
            conn.write_tls(&mut &*sock)?;
        }
        *self = Stream::Tls(Box::new(Tls {
            conn,
            sock,
            read_timeout: None,
        }));
        Ok(Opening::Tls)
    }

    /// Sends TLS's `close_notify` (best effort; nothing for a plain stream).
    pub fn close_notify(&mut self) {
        if let Stream::Tls(t) = self {
            t.conn.send_close_notify();
            while t.conn.wants_write() && t.conn.write_tls(&mut &*t.sock).is_ok() {}
        }
    }
}

impl Tls {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let began = Instant::now();
        let mut first = true;
        loop {
            match self.conn.reader().read(out) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The client closed TCP without close_notify: an end like any other here
                // (requests are framed, a cut body is noticed by its framing).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Each socket read waits at most the timeout; a record trickled in pieces is cut
            // once the pieces together took longer.
            if !first && self.read_timeout.is_some_and(|t| began.elapsed() >= t) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "a TLS record arrived too slowly",
                ));
            }
            first = false;
            if self.conn.read_tls(&mut &*self.sock)? == 0 {
                return Ok(0);
            }
            if let Err(e) = self.conn.process_new_packets() {
                let _ = self.conn.write_tls(&mut &*self.sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            while self.conn.wants_write() {
                self.conn.write_tls(&mut &*self.sock)?;
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        while self.conn.wants_write() {
            self.conn.write_tls(&mut &*self.sock)?;
        }
        Ok(n)
    }
}

impl Read for Stream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => (&**s).read(out),
            Stream::Tls(t) => t.read(out),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => (&**s).write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => (&**s).write_vectored(bufs),
            // One record per call would split a head from its body; rustls takes the slices
            // into one plaintext buffer.
            Stream::Tls(t) => {
                let n = t.conn.writer().write_vectored(bufs)?;
                while t.conn.wants_write() {
                    t.conn.write_tls(&mut &*t.sock)?;
                }
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
