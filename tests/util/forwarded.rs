//! What a request the proxy forwards (to the upstream or to Ory) must look like, checked by the
//! fakes that receive it ([`super::server_read`], the raw upstreams of the pool and resilience
//! tests). The proxy is the sender: a fault is the proxy's, never something to read around.
//!
//! On top of [`super::message::checked_head`] (CRLF line ends, token field names with the colon
//! right after, `Content-Length` digits only and at most once, `Transfer-Encoding` exactly
//! `chunked`, never both):
//!
//! - the request line is `METHOD target HTTP/1.1` (the proxy always forwards HTTP/1.1);
//! - the head ends in CRLF CRLF and nothing (no empty line) comes before the request line;
//! - exactly one `Host`, not empty;
//! - no hop-by-hop field the proxy must drop (SPEC §3): `Keep-Alive`, `Proxy-Connection`,
//!   `Proxy-Authorization`, `Trailer`, `TE` other than `trailers`, `Upgrade` except with the
//!   proxy's own `Connection: Upgrade` of a WebSocket upgrade; a `Connection` is the proxy's
//!   own (`Upgrade` for that upgrade, or `close`), so it names no field that is sent;
//! - no field name with `_` (SPEC §9: dropped).
//!
//! Only std and the two std-only readers it builds on: the examples compile it too.

use super::message::{self, Fields, Framing};
use std::sync::{Arc, Mutex};

/// The faults a fake's connection threads found, shared with the fake's owner, which reports
/// them (a panic in a connection thread would only end that thread, and the test would fail on
/// the 502 or the timeout it causes instead of on the fault).
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<String>>>);

impl Faults {
    /// Keeps a fault and prints it at once (so it shows even when the test fails first on
    /// something it caused).
    pub fn record(&self, fault: String) {
        eprintln!("{fault}");
        self.0.lock().unwrap().push(fault);
    }

    /// Panics with every fault so far, if any.
    pub fn assert_none(&self, who: &str) {
        let faults = self.0.lock().unwrap().clone();
        if !faults.is_empty() {
            panic!(
                "{who} received {} faulty request(s):\n{}",
                faults.len(),
                faults.join("\n")
            );
        }
    }

    /// [`Faults::assert_none`] unless the thread is already panicking (a second panic aborts;
    /// the faults were printed as they came): for a fake's `Drop`.
    pub fn assert_none_on_drop(&self, who: &str) {
        if !std::thread::panicking() {
            self.assert_none(who);
        }
    }
}

/// The longest head a fake reads (the proxy accepts 64 KiB from a client and adds a few fields).
pub const MAX_HEAD: usize = 128 * 1024;

/// The length of the head at the start of `buf`, the empty line that ends it included, once it
/// is all there: the first LF followed by an empty line, however its lines end (so a head with
/// bare LFs is read, and refused by [`check`], rather than waited for until a timeout).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| {
        if buf[i] != b'\n' {
            return None;
        }
        match &buf[i + 1..] {
            [b'\n', ..] => Some(i + 2),
            [b'\r', b'\n', ..] => Some(i + 3),
            _ => None,
        }
    })
}

/// Checks a whole request head as sent, the empty line that ends it included; returns its
/// fields and framing, or the first fault with the head's bytes escaped (`\r`, `\n` shown).
pub fn check(head: &[u8]) -> Result<(Fields, Framing), String> {
    check_bare(head).map_err(|fault| {
        format!(
            "the proxy forwarded a faulty request head: {fault}; the head as sent: \"{}\"",
            head.escape_ascii()
        )
    })
}

fn check_bare(head: &[u8]) -> Result<(Fields, Framing), String> {
    if head.len() > MAX_HEAD {
        return Err(format!("a head longer than {MAX_HEAD} bytes"));
    }
    if head.starts_with(b"\r\n") || head.starts_with(b"\n") {
        return Err("an empty line before the request line".into());
    }
    let inner = head
        .strip_suffix(b"\r\n\r\n")
        .ok_or("the head does not end in CRLF CRLF")?;
    let (first, fields, framing) = message::checked_head(inner, "HTTP/1.1")?;
    message::request_line(&first)?;
    match message::all(&fields, "host")[..] {
        [h] if !h.is_empty() => {}
        [_] => return Err("an empty Host".into()),
        ref hosts => return Err(format!("Host sent {} times: {hosts:?}", hosts.len())),
    }
    hop_by_hop(&fields)?;
    if let Some((name, _)) = fields.iter().find(|(n, _)| n.contains('_')) {
        return Err(format!(
            "a field name with `_` (SPEC §9 drops it): {name:?}"
        ));
    }
    Ok((fields, framing))
}

/// The hop-by-hop fields of SPEC §3.
fn hop_by_hop(fields: &Fields) -> Result<(), String> {
    for name in [
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "trailer",
    ] {
        if let Some(v) = message::all(fields, name).first() {
            return Err(format!("the hop-by-hop field {name}: {v:?}"));
        }
    }
    if let Some(te) = message::all(fields, "te")
        .into_iter()
        .find(|v| !v.eq_ignore_ascii_case("trailers"))
    {
        return Err(format!("TE other than trailers: {te:?}"));
    }
    let connection = message::all(fields, "connection");
    let upgrade = message::all(fields, "upgrade");
    match (&connection[..], &upgrade[..]) {
        ([], []) => Ok(()),
        ([c], []) if c.eq_ignore_ascii_case("close") => Ok(()),
        ([c], [u]) if c.eq_ignore_ascii_case("upgrade") && u.eq_ignore_ascii_case("websocket") => {
            Ok(())
        }
        ([], _) => Err(format!(
            "Upgrade without the proxy's Connection: Upgrade: {upgrade:?}"
        )),
        _ => Err(format!(
            "Connection {connection:?} (with Upgrade {upgrade:?}): only the proxy's own \
             `Connection: close`, or `Connection: Upgrade` with `Upgrade: websocket`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_what_the_proxy_sends_and_refuses_each_fault() {
        let ok = "GET /a HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(check(ok.as_bytes()).unwrap().1, Framing::Length(3));
        let ws = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert!(check(ws.as_bytes()).is_ok());
        assert!(check(b"GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n").is_ok());
        assert_eq!(head_end(ok.as_bytes()), Some(ok.len()));
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: a\n\nX"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
        for bad in [
            "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
            "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\n\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-A\r\nX-A: 1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nTE: gzip\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX_A: 1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n",
        ] {
            assert!(check(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
