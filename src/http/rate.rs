//! The minimum data rate (`--min-data-rate`): a client must send its request body, and read
//! the proxy's answer, at least this many bytes per second, averaged, after a grace period —
//! Kestrel's `MinRequestBodyDataRate`/`MinResponseDataRate`.
//!
//! Why: `--client-timeout` bounds each wait for *some* progress, so a client sending one byte
//! every few seconds holds a connection (and its thread) for as long as it likes; a few hundred
//! of them fill `--max-connections` for about 50 bytes/s of attack traffic.
//!
//! The rule, for one request body or one answer: `bytes >= rate × (waited − GRACE)`, where
//! `waited` is the time spent blocked on this client's socket in reads (body) or writes
//! (answer). Time the proxy spends elsewhere (waiting for the upstream, forwarding) is not the
//! client's and does not count. It is checked around every socket read and write, and enforced
//! with the socket's own timeouts, so a client that sends or reads nothing at all is cut too:
//! no timer thread.
//!
//! The socket timeouts are the wake-ups. While the rate is on, a connection's sockets wait at
//! most [`wake`] (`--client-timeout`, at most [`GRACE`]) per system call, and a client keeping
//! pace always has at least that much budget left, so the timeouts are never changed on the fast
//! path: a timeout is only shortened (one `setsockopt`) for a client already falling behind.
//!
//! For shedding at `--max-connections` ([`crate::http::limit`]), a connection waiting on a
//! client whose average is below the rate — grace or not, after [`SHED_FLOOR`] — can be closed
//! like an idle one: publishing that costs two atomic stores per blocking call.

use crate::http::limit::Slot;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// Waiting allowed before the rate counts (per body, per answer).
pub const GRACE: Duration = Duration::from_secs(5);
/// Waiting on a client before it can be shed for a low average (a body's first segment may
/// simply be in flight).
pub const SHED_FLOOR: Duration = Duration::from_secs(1);
/// Shortest socket timeout set (zero means "none" to the kernel).
const MIN_TIMEOUT: Duration = Duration::from_millis(10);

/// A connection's pacing settings (the rate is on).
#[derive(Clone)]
pub struct Pacer {
    /// `--min-data-rate`, bytes per second, above 0.
    pub rate: u64,
    /// `--client-timeout`: the longest wait without any progress.
    pub idle: Duration,
    /// Where the connection publishes when it falls below the rate (shedding).
    pub slot: std::sync::Arc<Slot>,
}

/// The socket timeout a paced connection waits with between checks.
pub fn wake(idle: Duration) -> Duration {
    idle.min(GRACE)
}

/// The progress of one body or one answer.
#[derive(Debug, Clone)]
pub struct Meter {
    rate: u64,
    bytes: u64,
    waited: Duration,
    /// A deadline for the whole transfer (draining an unread body).
    pub until: Option<Instant>,
}

impl Meter {
    pub fn new(rate: u64) -> Meter {
        Meter {
            rate: rate.max(1),
            bytes: 0,
            waited: Duration::ZERO,
            until: None,
        }
    }

    /// Time the bytes so far pay for at the rate.
    fn earned(&self) -> Duration {
        Duration::from_secs_f64(self.bytes as f64 / self.rate as f64)
    }

    /// Waiting left before the transfer falls below the rate; zero: it has.
    pub fn budget(&self) -> Duration {
        (GRACE + self.earned()).saturating_sub(self.waited)
    }

    /// Waiting left before the average (without grace) falls below the rate.
    fn shed_after(&self) -> Duration {
        self.earned().max(SHED_FLOOR).saturating_sub(self.waited)
    }
}

/// Runs one blocking socket call (`op`, a read or a write returning a byte count) under the
/// meter: retries on a wake-up, fails with a `TimedOut` error when the client fell below the
/// rate (`slow`'s error), when `pacer.idle` passed without progress, or past `meter.until`.
/// `timeout` is the socket timeout in force for this direction, `set` changes it.
pub fn paced(
    pacer: &Pacer,
    meter: &mut Meter,
    timeout: &mut Option<Duration>,
    set: &dyn Fn(Duration) -> io::Result<()>,
    slow: Slow,
    mut op: impl FnMut() -> io::Result<usize>,
) -> io::Result<usize> {
    let began = Instant::now();
    loop {
        let now = Instant::now();
        let budget = meter.budget();
        if budget.is_zero() {
            return Err(slow.error(pacer.rate));
        }
        let mut left = pacer.idle.saturating_sub(now - began);
        if let Some(until) = meter.until {
            left = left.min(until.saturating_duration_since(now));
        }
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no progress within --client-timeout",
            ));
        }
        let target = wake(pacer.idle).min(budget).min(left).max(MIN_TIMEOUT);
        // Shorten when the budget is short; lengthen back only when far below (a past client
        // that fell behind), so a client keeping pace never costs a system call.
        if !timeout.is_some_and(|t| t <= target && t >= target / 2) {
            set(target)?;
            *timeout = Some(target);
        }
        pacer.slot.waiting(now + meter.shed_after());
        let result = op();
        pacer.slot.done_waiting();
        meter.waited += now.elapsed();
        if !matches!(result, Ok(n) if n > 0) && pacer.slot.was_shed() {
            return Err(slow.shed(pacer.rate));
        }
        match result {
            Ok(n) => {
                meter.bytes += n as u64;
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if crate::http::error::is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Which transfer [`paced`] holds to the rate, for its errors.
#[derive(Debug, Clone, Copy)]
pub enum Slow {
    /// The client sends a request body.
    Body,
    /// The client reads an answer.
    Reader,
}

impl Slow {
    /// The error of this transfer below the rate.
    fn error(self, rate: u64) -> io::Error {
        match self {
            Slow::Body => slow_body(rate),
            Slow::Reader => slow_reader(rate),
        }
    }

    /// The error of a connection the registry closed at `--max-connections` while it waited on
    /// this client below the rate (a body is still a 408). The average counts from the start
    /// here, without the grace, so the message says so.
    fn shed(self, rate: u64) -> io::Error {
        let what = match self {
            Slow::Body => crate::http::error::SLOW_BODY,
            Slow::Reader => "the client read the answer slower than --min-data-rate",
        };
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{what} ({rate} bytes/s on average): closed early to make room at --max-connections"
            ),
        )
    }
}

/// The error of a request body below the rate.
pub fn slow_body(rate: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "{} ({rate} bytes/s after the first {} s)",
            crate::http::error::SLOW_BODY,
            GRACE.as_secs()
        ),
    )
}

/// The error of a client reading the answer below the rate.
fn slow_reader(rate: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "the client read the answer slower than --min-data-rate ({rate} bytes/s after the first {} s): closed",
            GRACE.as_secs()
        ),
    )
}

/// Whether a write failed because the client read below the rate.
pub fn is_slow_reader(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::TimedOut && e.to_string().contains("--min-data-rate")
}

/// The client socket as a writer held to the rate (one answer).
pub struct PacedWriter<'a> {
    pub stream: &'a mut crate::http::stream::Stream,
    pub pacer: &'a Pacer,
    pub meter: Meter,
    /// The socket's write timeout in force (kept on the connection).
    pub timeout: &'a mut Option<Duration>,
}

impl Write for PacedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let tcp = std::sync::Arc::clone(self.stream.socket());
        let stream = &mut *self.stream;
        paced(
            self.pacer,
            &mut self.meter,
            self.timeout,
            &|t| tcp.set_write_timeout(Some(t)),
            Slow::Reader,
            || stream.write(buf),
        )
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn the_budget_is_the_grace_plus_what_the_bytes_paid_for() {
        let mut m = Meter::new(100);
        assert_eq!(m.budget(), GRACE);
        m.bytes = 200;
        m.waited = Duration::from_secs(6);
        assert_eq!(m.budget(), Duration::from_secs(1));
        m.waited = Duration::from_secs(7);
        assert!(m.budget().is_zero());
        // For shedding there is no grace: the average is already below the rate.
        m.waited = Duration::from_millis(2500);
        assert!(m.shed_after().is_zero());
        assert_eq!(Meter::new(100).shed_after(), SHED_FLOOR);
    }

    #[test]
    fn wake_ups_never_exceed_the_grace_or_the_idle_timeout() {
        assert_eq!(wake(Duration::from_secs(60)), GRACE);
        assert_eq!(wake(Duration::from_secs(2)), Duration::from_secs(2));
    }

    #[test]
    fn a_silent_peer_is_cut_once_the_budget_is_spent() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let registry = crate::http::limit::Registry::new(4);
        let stream = std::sync::Arc::new(s);
        let crate::http::limit::Admission::Admitted(slot) = registry.admit(&stream) else {
            panic!()
        };
        let pacer = Pacer {
            rate: 1000,
            idle: Duration::from_secs(60),
            slot,
        };
        let mut meter = Meter::new(1000);
        // As if most of the grace had been waited already.
        meter.waited = GRACE - Duration::from_millis(100);
        let mut timeout = None;
        let mut sets = 0;
        let began = Instant::now();
        let e = paced(
            &pacer,
            &mut meter,
            &mut timeout,
            &|t| stream.set_read_timeout(Some(t)),
            Slow::Body,
            || {
                sets += 1;
                io::Read::read(&mut &*stream, &mut [0u8; 8])
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(crate::http::error::SLOW_BODY),
            "{e}"
        );
        assert!(began.elapsed() < Duration::from_secs(5));
        assert!(sets >= 1);
    }
}
