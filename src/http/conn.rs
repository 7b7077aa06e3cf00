//! One client connection, on its own thread, from accept to close.
//!
//! The connection is a small state machine ([`State`]), in the spirit of hyper's
//! `proto/h1/conn.rs`: everything that decides whether it can be kept (the client's keep-alive
//! wish, an unread body, an answer delimited by closing, a refusal, a shutdown) lives on the one
//! [`Conn`] value, not in maps keyed by address.
//!
//! ```text
//! Idle ──first byte──► ReadingHead ──head──► ReadingBody/Writing (the handler) ──┬─► Idle
//!   ▲                  (deadline)                                               ├─► Closing
//!   └──────── unread body drained (≤ DRAIN_LIMIT) ◄─────────────────────────────┴─► Upgraded
//! ```
//!
//! The thread is the worker: the handler runs on it, blocks on the network, and writes the
//! answer; nothing is queued behind another connection. Pipelined requests are served in order
//! because the next head is only read after the answer to the previous one.
//!
//! With `--min-data-rate` on, the body is read and the answer written under a meter
//! ([`crate::http::rate`]), and the socket timeouts are wake-ups of at most the rate's grace:
//! waiting for a request loops on them until `--client-timeout`.

use crate::http::body::BodyState;
use crate::http::error::{is_timeout, Error};
use crate::http::head::{self, Request, MAX_HEAD_BYTES};
use crate::http::input::Input;
use crate::http::limit::Slot;
use crate::http::rate::{self, Pacer};
use crate::http::stream::Opening;
use rustls::ServerConfig;
use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod exchange;
pub use exchange::Exchange;

/// An unread request body up to this many bytes is read and dropped to keep the connection;
/// a larger one closes it.
pub const DRAIN_LIMIT: u64 = 64 * 1024;
/// How long a closing connection keeps reading (and dropping) what the client still sends, so
/// the answer is not lost to a reset.
const LINGER: Duration = Duration::from_secs(2);
/// At most this much is read while lingering.
const LINGER_BYTES: usize = 256 * 1024;

/// What runs each request: it must answer through the [`Exchange`] (or upgrade it).
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, exchange: Exchange<'_>);
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the first byte of a request (fresh or kept alive); may be shed.
    Idle,
    /// Collecting a head that must be whole by the deadline (`--client-timeout` from its
    /// first byte).
    ReadingHead { deadline: Instant },
    /// The handler has the request and may read its body.
    ReadingBody,
    /// The handler is writing the answer.
    Writing,
    /// Ending: stop writing, drop what the client still sends for a moment, close.
    Closing,
    /// The socket went to a WebSocket relay; this thread is done with it.
    Upgraded,
}

/// A client connection.
pub struct Conn {
    /// The listener's flag, set when a graceful shutdown begins: no answer keeps its
    /// connection from then on.
    closing: Arc<AtomicBool>,
    input: Input,
    state: State,
    timeout: Duration,
    peer: SocketAddr,
    slot: Arc<Slot>,
    /// Answer every request on this connection with this error (connections over the cap).
    refuse_with: Option<Error>,
    // The current exchange.
    body: BodyState,
    keep: bool,
    responded: bool,
    /// The socket timeout each wait uses: `timeout`, or less when pacing (see `rate`).
    wake: Duration,
    /// The write timeout in force on the socket (set to `wake` when the connection was
    /// accepted).
    write_timeout: Option<Duration>,
    /// The client read below the rate: close with a reset, dropping what is still queued.
    abort: bool,
    /// The proxy's HTTPS port: the handshake comes first.
    tls: Option<Arc<ServerConfig>>,
}

impl Conn {
    pub fn new(
        stream: Arc<TcpStream>,
        peer: SocketAddr,
        timeout: Duration,
        slot: Arc<Slot>,
        closing: Arc<AtomicBool>,
    ) -> Conn {
        Conn {
            closing,
            input: Input::new(stream),
            state: State::Idle,
            timeout,
            peer,
            slot,
            refuse_with: None,
            body: BodyState::new(crate::http::framing::BodyFraming::None, false),
            keep: false,
            responded: false,
            wake: timeout,
            write_timeout: Some(timeout),
            abort: false,
            tls: None,
        }
    }

    /// Holds bodies and answers to `rate` bytes/s (`--min-data-rate`; 0: off). The socket's
    /// write timeout must be [`rate::wake`] of the timeout.
    pub fn pacing(mut self, rate: u64) -> Conn {
        if rate > 0 {
            self.wake = rate::wake(self.timeout);
            self.write_timeout = Some(self.wake);
            self.input.pace(Pacer {
                rate,
                idle: self.timeout,
                slot: Arc::clone(&self.slot),
            });
        }
        self
    }

    /// Speaks TLS with `config` (the proxy's HTTPS port).
    pub fn tls(mut self, config: Arc<ServerConfig>) -> Conn {
        self.tls = Some(config);
        self
    }

    /// Answers the first request with `error`, then closes.
    pub fn refusing(mut self, error: Error) -> Conn {
        self.refuse_with = Some(error);
        self
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Serves requests until the connection closes or is upgraded.
    pub fn run(mut self, handler: &dyn Handler) {
        self.slot.set_idle();
        if let Some(config) = self.tls.take() {
            self.state = self.accept_tls(config, handler);
        }
        loop {
            self.state = match self.state {
                State::Idle => self.await_request(),
                State::ReadingHead { deadline } => match self.read_head(deadline) {
                    // Shed while its head arrived (see `limit`): nothing was started yet.
                    _ if !self.slot.set_busy() => State::Closing,
                    Ok(request) => self.exchange(request, handler),
                    Err(None) => State::Closing,
                    Err(Some(error)) => {
                        let request = Request::unparsable(self.peer, error);
                        self.exchange(request, handler)
                    }
                },
                State::ReadingBody | State::Writing => State::Closing,
                State::Closing => {
                    self.slot.set_idle();
                    if self.abort {
                        let _ = crate::sys::reset_on_close(self.input.stream());
                    } else {
                        self.input.stream_mut().close_notify();
                        self.linger();
                    }
                    return;
                }
                State::Upgraded => return,
            };
        }
    }

    /// The TLS handshake, whole by `--client-timeout` from the accept (like a head). Plain HTTP
    /// on this port is answered `400` in plain HTTP and the connection closes; a handshake
    /// that fails, stalls or trickles ends the connection (rustls sends its alert).
    fn accept_tls(&mut self, config: Arc<ServerConfig>, handler: &dyn Handler) -> State {
        let deadline = Instant::now() + self.timeout;
        match self.input.accept_tls(config, deadline) {
            Ok(Opening::Tls) => State::Idle,
            Ok(Opening::Plain) => {
                if !self.slot.set_busy() {
                    return State::Closing;
                }
                let request = Request::unparsable(self.peer, plain_http_on_tls());
                self.exchange(request, handler)
            }
            Err(_) => State::Closing,
        }
    }

    /// Waits up to `--client-timeout` for a request's first byte. Until a whole head is in,
    /// the connection counts as idle for the cap (a slowloris gives way to a new connection).
    fn await_request(&mut self) -> State {
        let began = Instant::now();
        while self.input.buffered().is_empty() {
            let left = self.timeout.saturating_sub(began.elapsed());
            if left.is_zero() || self.input.set_timeout(left.min(self.wake)).is_err() {
                return State::Closing;
            }
            match self.input.fill(MAX_HEAD_BYTES) {
                Ok(n) if n > 0 => {}
                // A wake-up (pacing): wait on until --client-timeout.
                Err(e) if is_timeout(&e) && self.wake < self.timeout => {}
                // Closed, timed out or shed: an idle connection ends without an answer.
                _ => return State::Closing,
            }
        }
        State::ReadingHead {
            deadline: Instant::now() + self.timeout,
        }
    }

    /// Reads until the head is complete; `Err(None)` ends the connection without an answer.
    fn read_head(&mut self, deadline: Instant) -> Result<Request, Option<Error>> {
        let mut searched = 0;
        loop {
            let buffered = self.input.buffered();
            if let Some(end) = head::head_end(buffered, searched) {
                if end > MAX_HEAD_BYTES {
                    return Err(Some(too_large()));
                }
                let request = head::parse(&buffered[..end], self.peer);
                self.input.consume(end);
                return Ok(request);
            }
            if head::refused_early(buffered) {
                let request = head::parse(buffered, self.peer);
                if request.refusal.is_some() {
                    self.input.consume(buffered.len());
                    return Ok(request);
                }
            }
            searched = buffered.len();
            if searched > MAX_HEAD_BYTES {
                return Err(Some(too_large()));
            }
            if self.input.set_deadline(deadline).is_err() {
                return Err(Some(Error::HeadTimedOut));
            }
            match self.input.fill(MAX_HEAD_BYTES + 1) {
                Ok(0) => return Err(None),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(Some(Error::HeadTimedOut)),
                Err(_) => return Err(None),
            }
        }
    }

    /// Hands one request to the handler, then decides what comes next.
    fn exchange(&mut self, mut request: Request, handler: &dyn Handler) -> State {
        if request.refusal.is_none() {
            request.refusal = self.refuse_with.take();
        }
        self.body = BodyState::new(request.framing, request.expects_continue);
        self.keep = request.keep_alive && request.refusal.is_none() && self.refuse_with.is_none();
        self.responded = false;
        self.state = State::ReadingBody;
        if self.input.set_timeout(self.wake).is_err() {
            return State::Closing;
        }
        self.input.start_body();
        let exchange = Exchange {
            request,
            conn: &mut *self,
        };
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.handle(exchange);
        }));
        let next = self.after(handled.is_ok());
        self.input.end_body();
        next
    }

    /// What follows a handled request.
    fn after(&mut self, handled: bool) -> State {
        if self.state == State::Upgraded {
            return State::Upgraded;
        }
        if !handled || !self.responded || !self.keep {
            return State::Closing;
        }
        if !self.body.done() && !self.drain() {
            return State::Closing;
        }
        self.slot.set_idle();
        if self.input.buffered().is_empty() {
            State::Idle
        } else {
            // A pipelined request is already here.
            State::ReadingHead {
                deadline: Instant::now() + self.timeout,
            }
        }
    }

    /// Whether the body can still be read and dropped within [`DRAIN_LIMIT`] (decided before
    /// the answer, so that it can say `Connection: close` otherwise).
    fn drainable(&self) -> bool {
        self.body.done()
            || (!self.body.never_asked()
                && self.body.error.is_none()
                && self.body.length_left().is_some_and(|n| n <= DRAIN_LIMIT))
    }

    /// Reads and drops the rest of the body; false when that failed.
    fn drain(&mut self) -> bool {
        let deadline = Instant::now() + self.timeout;
        let metered = self.input.body_deadline(deadline);
        let mut sink = [0u8; 8192];
        while !self.body.done() {
            if !metered && self.input.set_deadline(deadline).is_err() {
                return false;
            }
            match self.body.read(&mut self.input, &mut sink) {
                Ok(0) => return self.body.done(),
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Half-closes, then reads and drops what the client still sends (bounded), so that the
    /// answer just written is not destroyed by a reset; the socket closes when dropped.
    fn linger(&mut self) {
        let stream = self.input.stream();
        let _ = stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + LINGER;
        let mut dropped = 0;
        let mut sink = [0u8; 8192];
        while dropped < LINGER_BYTES && self.input.set_deadline(deadline).is_ok() {
            match self.input.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
    }
}

/// The answer to plain HTTP on the HTTPS port (nginx answers 497 there; a standard 400 here).
fn plain_http_on_tls() -> Error {
    Error::BadHead("this port speaks HTTPS: plain HTTP was sent to it, use an https:// URL".into())
}

fn too_large() -> Error {
    Error::HeadTooLarge(format!("request head larger than {MAX_HEAD_BYTES} bytes"))
}
