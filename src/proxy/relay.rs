//! Upgraded (WebSocket) connections, relayed in both directions at once.
//!
//! `ureq` cannot hand over its socket after a `101 Switching Protocols`, so the upstream side is
//! a hand-written HTTP/1.1 handshake over a `TcpStream` (with TLS from [`crate::proxy::tls`]
//! for an `https://` next hop, relayed there); the client side is the
//! connection's own socket, handed over with the bytes already read after its head
//! ([`crate::http::conn::Exchange::upgrade`]). Both are split with `try_clone()` and copied by
//! two dedicated threads.
//!
//! At most [`MAX_TUNNELS`] relays run at once; beyond that an upgrade is refused with 503.

use crate::http::head::Request;
use crate::proxy::tls::TlsStream;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Upgraded connections relayed at once.
pub const MAX_TUNNELS: usize = 1024;
/// Largest upstream response head read during the handshake.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Copy buffer per direction.
const BUFFER: usize = 16 * 1024;
/// Once one direction has ended, how long the other may stay silent before the relay closes.
const LINGER: Duration = Duration::from_secs(30);

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

/// An upstream response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// Names as received; values trimmed.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first value of a header (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `HTTP/1.x SP status [SP reason] CRLF *(field CRLF)` (without the final empty line).
pub fn parse_response_head(head: &[u8]) -> Result<ResponseHead, String> {
    let text = std::str::from_utf8(head).map_err(|_| "response head is not UTF-8".to_owned())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err("malformed status line".into());
    }
    let code = parts.next().unwrap_or("");
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err("malformed status code".into());
    }
    let status: u16 = code.parse().map_err(|_| "malformed status code")?;
    if !(100..=599).contains(&status) {
        return Err("status code out of range".into());
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| "malformed header line".to_owned())?;
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err("malformed header name".into());
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err("malformed header value".into());
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(ResponseHead { status, headers })
}

/// Reads a response head (up to the empty line) and whatever arrived after it.
pub fn read_response_head(stream: &mut impl Read) -> io::Result<(ResponseHead, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed before its response head",
            ));
        }
        let search_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_head_end(&buf[search_from..]) {
            let end = search_from + end;
            let head = parse_response_head(&buf[..end - 4])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            return Ok((head, buf[end..].to_vec()));
        }
        if buf.len() > MAX_RESPONSE_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "upstream response head larger than 64 KiB",
            ));
        }
    }
}

/// Index just past the first `\r\n\r\n`.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Serialises a request head for the upstream; `Connection`/`Upgrade` are appended here.
pub fn request_head(
    method: &str,
    path: &str,
    headers: &ureq::http::HeaderMap,
    protocol: &str,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(1024);
    head.extend_from_slice(format!("{method} {path} HTTP/1.1\r\n").as_bytes());
    for (name, value) in headers {
        crate::http::response::push_field(&mut head, name.as_str().as_bytes(), value.as_bytes());
    }
    head.extend_from_slice(b"Connection: Upgrade\r\nUpgrade: ");
    head.extend_from_slice(protocol.as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    head
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
    pub client: TcpStream,
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
    client.set_read_timeout(None)?;
    upstream.socket().set_read_timeout(None)?;
    let _ = crate::sys::set_keepalive(&client);
    let _ = crate::sys::set_keepalive(upstream.socket());
    let upstream = match upstream {
        NextHop::Plain(s) => s,
        NextHop::Tls(tls) => {
            std::thread::Builder::new()
                .name("ory-proxy-relay".into())
                .spawn(move || {
                    let _open = crate::obs::metrics::websocket_opened();
                    let _ = crate::proxy::tls::relay_tls(
                        client,
                        *tls,
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
    fn parses_a_101_head() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        let h = parse_response_head(head).unwrap();
        assert_eq!(h.status, 101);
        assert_eq!(h.get("upgrade"), Some("websocket"));
        assert_eq!(
            h.get("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
    }

    #[test]
    fn rejects_malformed_heads() {
        for bad in [
            &b"HTTP/2 101 x"[..],
            b"HTTP/1.1 1010 x",
            b"HTTP/1.1 abc x",
            b"HTTP/1.1 099 x",
            b"HTTP/1.1 101 x\r\nno colon",
            b"HTTP/1.1 101 x\r\nbad name: v",
            b"HTTP/1.1 101 x\r\n: v",
            b"\xff",
        ] {
            assert!(parse_response_head(bad).is_err(), "{bad:?}");
        }
        assert!(parse_response_head(b"HTTP/1.0 404").is_ok());
    }

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

    #[test]
    fn head_end() {
        assert_eq!(find_head_end(b"a\r\n\r\nb"), Some(5));
        assert_eq!(find_head_end(b"a\r\n\r"), None);
    }
}
