//! The cap on open client connections (`--max-connections`), and how many are busy (what a
//! graceful shutdown waits for).
//!
//! Every accepted connection gets a [`Slot`]: its socket (shared, so another thread can shut it
//! down) and whether it is idle (waiting for a request, or for the rest of its head) or busy (a
//! whole head was read; the request is being handled). At the cap, a
//! new connection takes the place of the connection idle the longest, which is shut down; when
//! none is idle, the new connection is refused ([`Admission::Refused`]: answered 503 with
//! `Retry-After` by a short-lived thread, at most [`MAX_REFUSING`] at once, else closed at once).
//! A connection in the middle of a request is shed only while it waits on a client that sends
//! its body, or reads its answer, below `--min-data-rate` ([`crate::http::rate`]): after the idle
//! ones, the one furthest behind first.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Connections being answered with 503 at once; beyond it, refused ones are closed unanswered.
pub const MAX_REFUSING: usize = 64;

const IDLE: u8 = 0;
const BUSY: u8 = 1;
const SHED: u8 = 2;
/// Handed to a WebSocket relay: no longer counted (relays have their own cap).
const UPGRADED: u8 = 3;

/// One open connection, as the registry sees it.
pub struct Slot {
    id: u64,
    stream: Arc<TcpStream>,
    state: AtomicU8,
    /// Milliseconds since the registry's start when the connection last became idle.
    idle_since: AtomicU64,
    /// Milliseconds since the registry's start from which the client it waits on is below
    /// `--min-data-rate` (`u64::MAX`: not waiting on the client).
    behind_at: AtomicU64,
    epoch: Instant,
}

impl Slot {
    /// The connection waits for a request: it may be shed from now on.
    pub fn set_idle(&self) {
        self.idle_since
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        let _ = self
            .state
            .compare_exchange(BUSY, IDLE, Ordering::AcqRel, Ordering::Acquire);
    }

    /// A request began; false when the connection was shed just before (it must close).
    pub fn set_busy(&self) -> bool {
        self.state
            .compare_exchange(IDLE, BUSY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            || self.state.load(Ordering::Acquire) == BUSY
    }

    /// The socket went to a WebSocket relay: the connection no longer counts toward the cap.
    pub fn set_upgraded(&self) {
        self.state.store(UPGRADED, Ordering::Release);
    }

    /// The connection blocks on its client; from `behind` on, the client is below the rate.
    pub fn waiting(&self, behind: Instant) {
        let at = behind.saturating_duration_since(self.epoch).as_millis() as u64;
        self.behind_at.store(at, Ordering::Relaxed);
    }

    /// The connection no longer blocks on its client.
    pub fn done_waiting(&self) {
        self.behind_at.store(u64::MAX, Ordering::Relaxed);
    }

    /// Whether the registry closed this connection to make room at the cap.
    pub fn was_shed(&self) -> bool {
        self.state.load(Ordering::Acquire) == SHED
    }

    /// Shuts the socket down if the connection is still in state `from` (its thread then sees
    /// the end and exits).
    fn shed_if(&self, from: u8) -> bool {
        let shed = self
            .state
            .compare_exchange(from, SHED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if shed {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
        shed
    }
}

/// What [`Registry::admit`] decided for a new connection.
pub enum Admission {
    Admitted(Arc<Slot>),
    /// Over the cap with nothing idle to shed.
    Refused,
}

/// The open connections.
pub struct Registry {
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    next: AtomicU64,
    max: usize,
    epoch: Instant,
    refusing: AtomicUsize,
}

impl Registry {
    pub fn new(max: usize) -> Registry {
        Registry {
            slots: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            max: max.max(1),
            epoch: Instant::now(),
            refusing: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection (busy: it is about to read its first request), shedding the
    /// longest-idle connection when at the cap.
    pub fn admit(&self, stream: &Arc<TcpStream>) -> Admission {
        let mut slots = self.lock();
        if slots.len() >= self.max {
            // Upgraded connections left the count when they switched (their threads may not
            // have ended yet).
            slots.retain(|_, s| s.state.load(Ordering::Acquire) != UPGRADED);
        }
        if slots.len() >= self.max {
            match self.shed_one(&slots) {
                Some((id, idle)) => {
                    slots.remove(&id);
                    // A busy connection's own access line says it was closed and why
                    // ([`crate::http::rate::paced`]): one line for one event.
                    if idle {
                        crate::obs::logger::error(&format!(
                            "{} client connections open (--max-connections {}): closed the longest idle one",
                            self.max, self.max
                        ));
                    }
                    crate::obs::metrics::connection_shed();
                }
                None => return Admission::Refused,
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id,
            stream: Arc::clone(stream),
            state: AtomicU8::new(BUSY),
            idle_since: AtomicU64::new(0),
            behind_at: AtomicU64::new(u64::MAX),
            epoch: self.epoch,
        });
        slots.insert(id, Arc::clone(&slot));
        Admission::Admitted(slot)
    }

    /// Sheds the connection idle the longest, else the busy one furthest below
    /// `--min-data-rate`; its id and whether it was idle.
    fn shed_one(&self, slots: &HashMap<u64, Arc<Slot>>) -> Option<(u64, bool)> {
        let mut idle: Vec<&Arc<Slot>> = slots
            .values()
            .filter(|s| s.state.load(Ordering::Acquire) == IDLE)
            .collect();
        idle.sort_by_key(|s| s.idle_since.load(Ordering::Relaxed));
        if let Some(s) = idle.into_iter().find(|s| s.shed_if(IDLE)) {
            return Some((s.id, true));
        }
        let now = self.epoch.elapsed().as_millis() as u64;
        let mut slow: Vec<&Arc<Slot>> = slots
            .values()
            .filter(|s| {
                s.state.load(Ordering::Acquire) == BUSY
                    && s.behind_at.load(Ordering::Relaxed) <= now
            })
            .collect();
        slow.sort_by_key(|s| s.behind_at.load(Ordering::Relaxed));
        let s = slow.into_iter().find(|s| s.shed_if(BUSY))?;
        Some((s.id, false))
    }

    /// A slot outside the registry, for a connection being refused (never counted or shed).
    pub fn detached(&self, stream: &Arc<TcpStream>) -> Arc<Slot> {
        Arc::new(Slot {
            id: u64::MAX,
            stream: Arc::clone(stream),
            state: AtomicU8::new(BUSY),
            idle_since: AtomicU64::new(0),
            behind_at: AtomicU64::new(u64::MAX),
            epoch: self.epoch,
        })
    }

    /// Forgets a connection whose thread ends.
    pub fn leave(&self, slot: &Slot) {
        self.lock().remove(&slot.id);
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().len()
    }

    /// Connections in the middle of a request now.
    pub fn busy(&self) -> usize {
        self.lock()
            .values()
            .filter(|s| s.state.load(Ordering::Acquire) == BUSY)
            .count()
    }

    /// Takes a place among the connections being refused with an answer; `None` when
    /// [`MAX_REFUSING`] are already.
    pub fn refusing(self: &Arc<Self>) -> Option<RefusingGuard> {
        let n = self.refusing.fetch_add(1, Ordering::AcqRel);
        let guard = RefusingGuard(Arc::clone(self));
        (n < MAX_REFUSING).then_some(guard)
    }
}

/// See [`Registry::refusing`].
pub struct RefusingGuard(Arc<Registry>);

impl Drop for RefusingGuard {
    fn drop(&mut self) {
        self.0.refusing.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn conn(l: &TcpListener) -> (TcpStream, Arc<TcpStream>) {
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, Arc::new(s))
    }

    #[test]
    fn sheds_the_longest_idle_then_refuses() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let r = Registry::new(2);
        let (mut c1, s1) = conn(&l);
        let (_c2, s2) = conn(&l);
        let Admission::Admitted(a) = r.admit(&s1) else {
            panic!()
        };
        let Admission::Admitted(b) = r.admit(&s2) else {
            panic!()
        };
        a.set_idle();
        std::thread::sleep(std::time::Duration::from_millis(5));
        b.set_idle();
        let (_c3, s3) = conn(&l);
        assert!(matches!(r.admit(&s3), Admission::Admitted(_)));
        // The first (idle longest) was shut down.
        let mut byte = [0u8; 1];
        assert_eq!(c1.read(&mut byte).unwrap(), 0);
        assert!(!a.set_busy());
        assert_eq!(r.open(), 2);
        // b goes busy: nothing idle is left, so the next one is refused.
        assert!(b.set_busy());
        let (_c4, s4) = conn(&l);
        assert!(matches!(r.admit(&s4), Admission::Refused));
        assert_eq!(r.busy(), 2);
    }

    #[test]
    fn upgraded_connections_leave_the_count() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let r = Registry::new(1);
        let (_c1, s1) = conn(&l);
        let Admission::Admitted(a) = r.admit(&s1) else {
            panic!()
        };
        a.set_upgraded();
        let (_c2, s2) = conn(&l);
        assert!(matches!(r.admit(&s2), Admission::Admitted(_)));
        assert_eq!(r.open(), 1);
    }

    #[test]
    fn refusing_is_bounded() {
        let r = Arc::new(Registry::new(1));
        let guards: Vec<_> = (0..MAX_REFUSING).map(|_| r.refusing().unwrap()).collect();
        assert!(r.refusing().is_none());
        drop(guards);
        assert!(r.refusing().is_some());
    }
}
