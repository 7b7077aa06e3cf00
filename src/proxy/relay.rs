//! Upgraded (WebSocket) connections, relayed in both directions at once.
//!
//! `ureq` cannot hand over its socket after a `101 Switching Protocols`, so the upstream side is
//! a hand-written HTTP/1.1 handshake ([`crate::proxy::heads`]) over a `TcpStream` (with TLS from [`crate::proxy::tls`]
//! for an `https://` next hop, relayed there); the client side is the
//! connection's own socket, handed over with the bytes already read after its head
//! ([`crate::http::conn::Exchange::switch_protocols`]). Both are split with `try_clone()` and copied by
//! two dedicated threads; when either side is TLS (an `https://` upstream, or the client on the
//! proxy's own HTTPS port), [`crate::proxy::tls::relay`] shares each `rustls` state between
//! the two threads.
//!
//! At most [`MAX_TUNNELS`] relays run at once; beyond that an upgrade is refused with 503.

use crate::http::head::Request;
use crate::http::stream::Stream;
use crate::proxy::tls::{End, TlsStream, LINGER};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Upgraded connections relayed at once.
pub const MAX_TUNNELS: usize = 1024;
/// Copy buffer per direction.
const BUFFER: usize = 16 * 1024;

/// The relays of one proxy: how many run, bounded by [`MAX_TUNNELS`].
#[derive(Debug, Default)]
pub struct Tunnels {
    open: Arc<AtomicUsize>,
}

impl Tunnels {
    /// Reserves a slot, or `None` when [`MAX_TUNNELS`] relays are running.
    pub fn reserve(&self) -> Option<Slot> {
        let mut current = self.open.load(Ordering::Relaxed);
        loop {
            if current >= MAX_TUNNELS {
                return None;
            }
            match self.open.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Slot(Arc::clone(&self.open))),
                Err(now) => current = now,
            }
        }
    }

    /// Relays currently open.
    pub fn open_count(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// A reserved relay slot; released on drop.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether the request's first `Connection` header mentions "upgrade" (such a request never
/// has its connection kept: see `proxy::forward`).
pub fn connection_mentions_upgrade(request: &Request) -> bool {
    request
        .header("connection")
        .is_some_and(|v| v.to_ascii_lowercase().contains("upgrade"))
}

/// The `Upgrade` header's value when the request asks for one properly (`Connection: upgrade`
/// as a token and a non-empty `Upgrade`).
pub fn requested_protocol(request: &Request) -> Option<String> {
    let mut token = false;
    let mut protocol = None;
    for (name, value) in request.header_pairs() {
        if name.eq_ignore_ascii_case("connection") {
            token |= value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
        } else if name.eq_ignore_ascii_case("upgrade") && !value.trim().is_empty() {
            protocol = Some(value.trim().to_owned());
        }
    }
    protocol.filter(|_| token)
}

/// The connection to the next hop of an upgrade: plain TCP or TLS (`https://`).
pub enum NextHop {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

impl NextHop {
    fn socket(&self) -> &TcpStream {
        match self {
            NextHop::Plain(s) => s,
            NextHop::Tls(t) => &t.sock,
        }
    }

    /// Ends the connection at once.
    pub fn shutdown(&self) {
        let _ = self.socket().shutdown(Shutdown::Both);
    }

    pub fn set_write_timeout(&self, t: Duration) -> io::Result<()> {
        self.socket().set_write_timeout(Some(t))
    }
}

impl Read for NextHop {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            NextHop::Plain(s) => s.read(buf),
            NextHop::Tls(t) => t.read(buf),
        }
    }
}

impl Write for NextHop {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            NextHop::Plain(s) => s.write(buf),
            NextHop::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            NextHop::Plain(s) => s.flush(),
            NextHop::Tls(t) => t.flush(),
        }
    }
}

/// Both ends of an upgraded connection, ready to relay.
pub struct Relay {
    /// The client's stream (plain, or TLS on the proxy's HTTPS port).
    pub client: Stream,
    pub upstream: NextHop,
    /// Client bytes that arrived with the handshake (sent to the upstream first).
    pub client_pending: Vec<u8>,
    /// Upstream bytes that arrived right after its 101 (sent to the client first).
    pub upstream_pending: Vec<u8>,
    pub slot: Slot,
}

/// Starts the two copy threads and returns at once.
pub fn spawn(relay: Relay) -> io::Result<()> {
    let Relay {
        client,
        upstream,
        client_pending,
        upstream_pending,
        slot,
    } = relay;
    // Idle WebSockets are normal: no read timeout while both directions are open; keepalive
    // probes find peers that disappeared without closing.
    client.tcp().set_read_timeout(None)?;
    upstream.socket().set_read_timeout(None)?;
    let _ = crate::sys::set_keepalive(client.tcp());
    let _ = crate::sys::set_keepalive(upstream.socket());
    let (client, upstream) = match (client, upstream) {
        (Stream::Plain(c), NextHop::Plain(u)) => (c.try_clone()?, u),
        (client, upstream) => {
            // TLS on either side: the shared-state relay of `tls`.
            let client = match client {
                Stream::Plain(c) => End::Plain(c.try_clone()?),
                Stream::Tls(t) => End::tls(t.conn, t.sock.try_clone()?),
            };
            let upstream = match upstream {
                NextHop::Plain(u) => End::Plain(u),
                NextHop::Tls(t) => End::tls(t.conn, t.sock),
            };
            std::thread::Builder::new()
                .name("ory-proxy-relay".into())
                .spawn(move || {
                    let _open = crate::obs::metrics::websocket_opened();
                    let _ = crate::proxy::tls::relay(
                        client,
                        upstream,
                        client_pending,
                        upstream_pending,
                    );
                    drop(slot);
                })?;
            return Ok(());
        }
    };
    let client_reader = client.try_clone()?;
    let upstream_writer = upstream.try_clone()?;
    std::thread::Builder::new()
        .name("ory-proxy-relay".into())
        .spawn(move || {
            // Counted in `ory_proxy_websockets_open` for as long as the relay runs.
            let _open = crate::obs::metrics::websocket_opened();
            let up = std::thread::Builder::new()
                .name("ory-proxy-relay".into())
                .spawn(move || copy_half(client_reader, upstream_writer, client_pending));
            copy_half(upstream, client, upstream_pending);
            if let Ok(handle) = up {
                let _ = handle.join();
            }
            drop(slot);
        })?;
    Ok(())
}

/// Copies `from` to `to` until end of stream, then half-closes `to`; on an error closes both.
fn copy_half(mut from: TcpStream, mut to: TcpStream, pending: Vec<u8>) {
    let result = (|| -> io::Result<()> {
        if !pending.is_empty() {
            to.write_all(&pending)?;
        }
        let mut buf = vec![0u8; BUFFER];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            to.write_all(&buf[..n])?;
        }
    })();
    match result {
        Ok(()) => {
            let _ = to.shutdown(Shutdown::Write);
            // The other direction may finish on its own; do not wait for it forever.
            let _ = to.set_read_timeout(Some(LINGER));
        }
        Err(_) => {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_released() {
        let tunnels = Tunnels::default();
        let slots: Vec<Slot> = (0..MAX_TUNNELS)
            .map(|_| tunnels.reserve().unwrap())
            .collect();
        assert_eq!(tunnels.open_count(), MAX_TUNNELS);
        assert!(tunnels.reserve().is_none());
        drop(slots);
        assert_eq!(tunnels.open_count(), 0);
        assert!(tunnels.reserve().is_some());
    }
}
