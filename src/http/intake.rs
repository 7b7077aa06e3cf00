//! What comes in from a client before and while it is forwarded: the head check on the
//! dispatcher thread, connections whose framing failed, bodies `tiny_http` cannot drop safely,
//! and how much of a request body the next hop actually read.
//!
//! `tiny_http` reads ahead on a connection (a small body with its head, then the next head) and
//! owns the socket, so a refusal has to do more than answer: the connection is marked
//! [`Poisoned`] (whatever was parsed behind the refused request is dropped unanswered), and the
//! answer is written through [`crate::http::response::write_then_close`] with a second handle on the
//! socket ([`crate::sys::find_client_socket`]) so nothing buffered is read as another request.

use crate::error::Error;
use crate::http::framing::{self, BodyFraming, Refusal};
use crate::obs::logger;
use crate::proxy::{header, header_pairs, App};
use crate::sys;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Instant;

impl App {
    /// Checks a request's head on the dispatcher thread, in arrival order, before any worker
    /// sees it. A refused head marks its connection as poisoned: requests `tiny_http` already
    /// parsed behind it on the same connection (it reads ahead) are dropped, not forwarded,
    /// since where one request ends and the next begins is exactly what cannot be trusted.
    pub fn precheck(&self, request: &tiny_http::Request) -> Precheck {
        let peer = request.remote_addr().copied();
        if let Some(p) = peer {
            if self.poisoned.contains(p) {
                return Precheck::Poisoned;
            }
        }
        let checked = framing::check_request(
            request.method().as_str(),
            request.url(),
            header_pairs(request),
        );
        if checked.is_err() {
            if let Some(p) = peer {
                self.poisoned.insert(p);
            }
        }
        if let Ok(BodyFraming::Length(n)) = checked {
            if !droppable_length(n) {
                if let Some(p) = peer {
                    self.poisoned.insert(p);
                }
                return Precheck::Undroppable;
            }
        }
        Precheck::Checked(checked)
    }

    /// Answers 413 on the raw socket, closes it, and never drops `request`.
    ///
    /// `tiny_http` drains an unread `Content-Length` body when its request is dropped, and
    /// first allocates a buffer of the whole remaining length (`EqualReader::drop` in its
    /// `util/equal_reader.rs`): for a length beyond what the system can allocate, that aborts
    /// the process. Such a request is therefore leaked on purpose (a few hundred bytes and one
    /// parked `tiny_http` connection thread) after a direct answer.
    pub(crate) fn refuse_undroppable(&self, request: tiny_http::Request) {
        let method = request.method().as_str().to_owned();
        let target = request.url().to_owned();
        let error = Error::PayloadTooLarge(format!(
            "content-length {} is larger than this host can handle",
            request.body_length().unwrap_or_default()
        ));
        logger::error(&format!(
            "{method} {}: 413 {error}",
            logger::path_of(&target)
        ));
        if let Some(peer) = request.remote_addr() {
            if let Some(mut socket) = sys::find_client_socket(self.config.port, *peer) {
                let body = error.json_body();
                let head = format!(
                    "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = io::Write::write_all(&mut socket, head.as_bytes());
                let _ = io::Write::write_all(&mut socket, body.as_bytes());
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        std::mem::forget(request);
    }

    /// Stops reading from the client connection of `request` and returns a handle on it, to
    /// close it after the answer ([`response::write_then_close`]): the rest of the body is
    /// discarded at once instead of being drained by `tiny_http` on this thread.
    /// Whatever `tiny_http` parses after this request on the same connection is dropped too.
    pub(crate) fn stop_reading(&self, request: &tiny_http::Request) -> Option<TcpStream> {
        let peer = *request.remote_addr()?;
        self.poisoned.insert(peer);
        let socket = sys::find_client_socket(self.config.port, peer)?;
        let _ = socket.shutdown(Shutdown::Read);
        Some(socket)
    }

    /// Closes a client connection at once (after a broken or close-delimited response).
    pub(crate) fn close_client(&self, peer: Option<SocketAddr>) {
        if let Some(socket) = peer.and_then(|p| sys::find_client_socket(self.config.port, p)) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// Whether `tiny_http` could drop a request with this `Content-Length` and an unread body
/// without aborting: it allocates the remaining length in one piece. Lengths up to 1 GiB are
/// taken as fine; larger ones are probed with a fallible allocation of the same size (virtual
/// memory only; freed at once).
fn droppable_length(n: u64) -> bool {
    const ALWAYS_FINE: u64 = 1 << 30;
    if n <= ALWAYS_FINE {
        return true;
    }
    let Ok(n) = usize::try_from(n) else {
        return false;
    };
    Vec::<u8>::new().try_reserve_exact(n).is_ok()
}

/// The outcome of [`App::precheck`].
pub enum Precheck {
    /// The head was checked: its body framing, or why it is refused.
    Checked(Result<BodyFraming, Refusal>),
    /// It arrived on a connection whose earlier request was refused: drop it unanswered.
    Poisoned,
    /// Its `Content-Length` is too large for `tiny_http` to ever drop it safely.
    Undroppable,
}

/// Client connections (by peer address) whose framing failed, remembered for a short while.
#[derive(Default)]
pub(crate) struct Poisoned {
    peers: std::sync::Mutex<Vec<(SocketAddr, Instant)>>,
}

impl Poisoned {
    /// How long a peer address stays poisoned: long enough for everything `tiny_http` read
    /// ahead on that connection to be dispatched (milliseconds, normally), short enough that a
    /// later connection reusing the client's port is not mistaken for it; the connection
    /// itself is closed at once.
    const TTL: std::time::Duration = std::time::Duration::from_secs(10);
    /// At most this many addresses are remembered (oldest forgotten first).
    const MAX: usize = 4096;

    pub(crate) fn insert(&self, peer: SocketAddr) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.retain(|(_, at)| at.elapsed() < Self::TTL);
        if peers.len() >= Self::MAX {
            peers.remove(0);
        }
        peers.push((peer, Instant::now()));
    }

    pub(crate) fn contains(&self, peer: SocketAddr) -> bool {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        !peers.is_empty()
            && peers
                .iter()
                .any(|(p, at)| *p == peer && at.elapsed() < Self::TTL)
    }
}

/// What became of the client's request body while it was forwarded.
#[derive(Default)]
pub(crate) struct BodyState {
    /// Bytes read so far.
    pub(crate) read: u64,
    /// The body's end was reached.
    pub(crate) eof: bool,
    /// Reading it failed (malformed chunked framing, a stalled or vanished client).
    pub(crate) error: Option<io::Error>,
}

/// The client's body as the next hop reads it, recording how far it got and why it stopped.
pub(crate) struct TrackedBody<'a> {
    pub(crate) inner: &'a mut dyn Read,
    pub(crate) state: &'a mut BodyState,
    /// For a chunked body: whether the client has closed its side of the connection.
    ///
    /// `tiny_http`'s chunked decoder (`chunked_transfer`, behind a fused reader) answers the
    /// socket's end inside a chunk with 0, the same as the real end, so a cut upload would be
    /// forwarded with a last chunk the client never sent. A body that ends while the client's
    /// side is already closed is therefore treated as cut: the next hop gets no last chunk and
    /// the client a 400. (A client that closes its sending side right after a whole chunked
    /// body is refused too; nginx also treats that as an abort.)
    pub(crate) client_closed: Option<&'a dyn Fn() -> bool>,
    /// The declared `Content-Length`, if any. `tiny_http` reports a client that closed before
    /// sending it all as the body's end, and `ureq`, still owed bytes, would then ask again and
    /// again without end (a worker spinning at full CPU); that is an error here instead.
    pub(crate) length: Option<u64>,
}

impl Read for TrackedBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if self.length.is_some_and(|n| self.state.read < n) && !buf.is_empty() => {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "client closed the connection after {} of {} bytes",
                        self.state.read,
                        self.length.unwrap_or_default()
                    ),
                );
                let copy = io::Error::new(e.kind(), e.to_string());
                self.state.error = Some(e);
                Err(copy)
            }
            Ok(0) => {
                if let Some(closed) = self.client_closed.take() {
                    if closed() {
                        let e = io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "client closed the connection inside a chunk",
                        );
                        let copy = io::Error::new(e.kind(), e.to_string());
                        self.state.error = Some(e);
                        return Err(copy);
                    }
                }
                self.state.eof = true;
                Ok(0)
            }
            Ok(n) => {
                self.state.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.state.error = Some(e);
                Err(copy)
            }
        }
    }
}

/// The answer when reading the client's body failed.
pub(crate) fn client_body_error(e: &io::Error) -> Error {
    if crate::error::is_timeout(e) {
        Error::ClientTimeout
    } else if matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
    ) {
        Error::BadRequest(format!("malformed chunked body: {e}"))
    } else {
        Error::BadRequest(format!("request body ended early: {e}"))
    }
}

/// Whether `tiny_http` may still hold unread body bytes of this request (it reads bodies of up
/// to 1 KiB eagerly, unless `Expect: 100-continue`).
pub(crate) fn body_may_be_unread(request: &tiny_http::Request) -> bool {
    let expects = header(request, "expect").is_some();
    let chunked = header(request, "transfer-encoding").is_some();
    chunked
        || request
            .body_length()
            .is_some_and(|n| n > 1024 || (n > 0 && expects))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisoned_peers_are_remembered_and_bounded() {
        let p = Poisoned::default();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:1001".parse().unwrap();
        assert!(!p.contains(a));
        p.insert(a);
        assert!(p.contains(a) && !p.contains(b));
        for port in 2000..2000 + Poisoned::MAX as u16 {
            p.insert(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        // The oldest one was forgotten to make room.
        assert!(!p.contains(a));
    }

    #[test]
    fn droppable_lengths() {
        assert!(droppable_length(0));
        assert!(droppable_length(1 << 30));
        assert!(!droppable_length(u64::MAX));
        assert!(!droppable_length(1 << 62));
    }

    #[test]
    fn body_errors_map_to_client_answers() {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "bad chunk");
        assert_eq!(client_body_error(&e).status(), 400);
        let e = io::Error::new(io::ErrorKind::WouldBlock, "timed out");
        assert_eq!(client_body_error(&e).status(), 408);
    }
}
