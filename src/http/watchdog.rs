//! Cuts client connections whose next request head grows too large or takes too long, while
//! `tiny_http` is still reading it.
//!
//! `tiny_http` reads a request head into a buffer with no limit and hands the proxy nothing
//! until the head is complete, so the head checks of [`crate::http::framing`] come too late to bound
//! memory. This thread looks from the outside instead: every [`INTERVAL`] it lists the accepted
//! connections ([`crate::sys::client_sockets`]) and how many bytes the process has read from each
//! ([`crate::sys::bytes_read`]). Bytes read while none of the connection's requests is in the
//! proxy's hands ([`Activity`]) belong to the next head: past [`HEAD_LIMIT`], or not complete
//! within `--client-timeout`, the connection is shut down and `tiny_http` drops its buffer.
//!
//! It also keeps the number of open client connections (each one a `tiny_http` thread) at
//! `--max-connections`: beyond it, connections with no request in progress are closed,
//! unfinished heads first, then connections that never sent a request, then the longest idle.
//!
//! Bounds: a head may overshoot by what arrives in about two intervals before it is cut; a
//! connection whose requests are in progress (bodies, WebSockets) is never judged or closed.

use crate::obs::logger;
use crate::sys;
use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often connections are checked.
pub const INTERVAL: Duration = Duration::from_millis(200);
/// Bytes a connection may send toward its next request head: the 64 KiB head limit plus room
/// for a small body `tiny_http` reads with the head and for pipelined heads not yet dispatched.
pub const HEAD_LIMIT: u64 = 128 * 1024;

/// Which client connections have requests in the proxy's hands right now.
#[derive(Default)]
pub struct Activity {
    /// Peer → (requests in progress, changes so far).
    peers: Mutex<HashMap<SocketAddr, (usize, u64)>>,
}

impl Activity {
    /// Marks a request (or relay) of `peer` as in progress until the guard is dropped.
    pub fn enter(self: &Arc<Self>, peer: Option<SocketAddr>) -> ActiveGuard {
        if let Some(p) = peer {
            let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
            let entry = peers.entry(p).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += 1;
        }
        ActiveGuard {
            activity: Arc::clone(self),
            peer,
        }
    }

    fn get(&self, peer: SocketAddr) -> (usize, u64) {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.get(&peer).copied().unwrap_or((0, 0))
    }

    /// Forgets idle peers that are no longer connected.
    fn retain(&self, connected: &[SocketAddr]) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.retain(|p, (active, _)| *active > 0 || connected.contains(p));
    }
}

/// See [`Activity::enter`].
pub struct ActiveGuard {
    activity: Arc<Activity>,
    peer: Option<SocketAddr>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if let Some(p) = self.peer {
            let mut peers = self
                .activity
                .peers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = peers.get_mut(&p) {
                entry.0 = entry.0.saturating_sub(1);
                entry.1 += 1;
            }
        }
    }
}

/// What the watchdog remembers of one connection.
struct Seen {
    /// Bytes read up to the end of the last request the proxy handled.
    baseline: u64,
    /// [`Activity`]'s change count when `baseline` was taken.
    generation: u64,
    /// When bytes toward the next head were first seen.
    head_since: Option<Instant>,
    /// When the connection last had a request in progress (or was first seen).
    last_active: Instant,
    /// One of its descriptors, as of the last check.
    fd: std::os::fd::RawFd,
    /// Whether it ever had a request handled (a used keep-alive connection).
    served: bool,
}

/// Starts the watchdog thread for connections on `listen_port`.
pub fn spawn(
    listen_port: u16,
    activity: Arc<Activity>,
    head_timeout: Duration,
    max_connections: usize,
) {
    let spawned = std::thread::Builder::new()
        .name("ory-proxy-watchdog".into())
        .spawn(move || {
            let mut seen: HashMap<SocketAddr, Seen> = HashMap::new();
            loop {
                std::thread::sleep(INTERVAL);
                check(listen_port, &activity, head_timeout, &mut seen);
                shed(listen_port, &activity, max_connections, &seen);
            }
        });
    if let Err(e) = spawned {
        logger::error(&format!("cannot start the connection watchdog: {e}"));
    }
}

fn check(
    listen_port: u16,
    activity: &Activity,
    head_timeout: Duration,
    seen: &mut HashMap<SocketAddr, Seen>,
) {
    let sockets = sys::client_sockets(listen_port);
    let now = Instant::now();
    for (fd, peer) in &sockets {
        let Some(read) = sys::bytes_read(*fd) else {
            continue;
        };
        let (active, generation) = activity.get(*peer);
        // First sight: what was read before is unknown history (under load this thread can
        // run seconds late, and a keep-alive connection may have carried hundreds of
        // requests by then), so counting starts now.
        let s = seen.entry(*peer).or_insert(Seen {
            baseline: read,
            generation,
            head_since: None,
            last_active: now,
            fd: *fd,
            // Requests handled before this first look make it a used connection.
            served: generation > 0,
        });
        s.fd = *fd;
        if active > 0 || generation != s.generation {
            s.served = true;
            s.last_active = now;
            s.baseline = read;
            s.generation = generation;
            s.head_since = None;
            continue;
        }
        let pending = read.saturating_sub(s.baseline);
        if pending == 0 {
            // Idle between requests: tiny_http's own read timeout closes it eventually.
            s.head_since = None;
            continue;
        }
        let since = *s.head_since.get_or_insert(now);
        let verdict = if pending > HEAD_LIMIT {
            Some(format!("{pending} bytes of request head (limit 64 KiB)"))
        } else if now.duration_since(since) > head_timeout {
            Some(format!("request head incomplete after {head_timeout:?}"))
        } else {
            None
        };
        if let Some(why) = verdict {
            if let Some(socket) = sys::client_socket_at(*fd, listen_port, *peer) {
                let _ = socket.shutdown(Shutdown::Both);
                logger::error(&format!("closed connection from {}: {why}", peer.ip()));
            }
            s.baseline = read;
            s.head_since = None;
        }
    }
    let connected: Vec<SocketAddr> = sockets.iter().map(|(_, p)| *p).collect();
    seen.retain(|p, _| connected.contains(p));
    activity.retain(&connected);
}

/// Closes connections beyond `max`: only those without a request in progress, unfinished heads
/// (oldest first) before idle keep-alive connections (longest idle first).
fn shed(listen_port: u16, activity: &Activity, max: usize, seen: &HashMap<SocketAddr, Seen>) {
    if seen.len() <= max {
        return;
    }
    // Unfinished heads first, then connections that never sent a request, then used keep-alive
    // connections; older (longer idle) first within each.
    let mut candidates: Vec<(u8, Instant, SocketAddr)> = seen
        .iter()
        .filter(|(peer, _)| activity.get(**peer).0 == 0)
        .map(|(peer, s)| match (s.head_since, s.served) {
            (Some(since), _) => (0, since, *peer),
            (None, false) => (1, s.last_active, *peer),
            (None, true) => (2, s.last_active, *peer),
        })
        .collect();
    candidates.sort();
    let excess = seen.len() - max;
    let mut closed = 0;
    for (_, _, peer) in candidates.into_iter().take(excess) {
        let Some(fd) = seen.get(&peer).map(|s| s.fd) else {
            continue;
        };
        if let Some(socket) = sys::client_socket_at(fd, listen_port, peer) {
            let _ = socket.shutdown(Shutdown::Both);
            closed += 1;
        }
    }
    if closed > 0 {
        logger::error(&format!(
            "{} client connections open (--max-connections {max}): closed {closed} without a request in progress",
            seen.len()
        ));
    }
}
