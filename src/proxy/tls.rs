//! TLS to the next hop outside `ureq`: the WebSocket handshake and relay to an `https://`
//! upstream (or Ory), and the roots every `https://` next hop is checked against.
//!
//! `ureq` cannot hand over its socket after a `101`, so an upgrade opens its own connection;
//! over TLS that is a `rustls` client (the same crate and crypto provider `ureq` uses). The
//! trusted roots are Mozilla's (`webpki-roots`, as in `ureq`), or only the certificates of
//! `--ca-file` when it is given (a private CA in front of a self-hosted Kratos or application);
//! `ureq`'s agents get the same roots ([`Roots::ureq`]).
//!
//! A TLS connection cannot be split between two threads like a `TcpStream`, so the relay
//! ([`relay`]) shares the `rustls` state behind a mutex and does the blocking socket reads
//! outside it: the lock is only held to feed received bytes in, take plaintext out, or encrypt.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, RootCertStore, StreamOwned};

/// Once one direction of a relay (plain or TLS) has ended, how long the other may stay silent
/// before the relay closes.
pub const LINGER: Duration = Duration::from_secs(30);

/// The roots every `https://` next hop is verified against.
#[derive(Clone)]
pub struct Roots {
    /// `--ca-file`'s certificates (DER), or `None` for Mozilla's roots.
    custom: Option<Vec<Vec<u8>>>,
    config: Arc<ClientConfig>,
}

impl Roots {
    /// Mozilla's roots, or the PEM certificates in `ca_file`.
    pub fn load(ca_file: Option<&std::path::Path>) -> io::Result<Roots> {
        let custom = match ca_file {
            None => None,
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
                })?;
                let mut certs = Vec::new();
                for item in ureq::tls::parse_pem(&pem) {
                    if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                        certs.push(c.der().to_vec());
                    }
                }
                if certs.is_empty() {
                    return Err(io::Error::other(format!(
                        "{}: no PEM certificate in it",
                        path.display()
                    )));
                }
                Some(certs)
            }
        };
        let mut store = RootCertStore::empty();
        match &custom {
            None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(certs) => {
                for der in certs {
                    store
                        .add(CertificateDer::from(der.clone()))
                        .map_err(|e| io::Error::other(format!("--ca-file: {e}")))?;
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Roots {
            custom,
            config: Arc::new(config),
        })
    }

    /// The same roots for a `ureq` agent.
    pub fn ureq(&self) -> ureq::tls::RootCerts {
        match &self.custom {
            None => ureq::tls::RootCerts::WebPki,
            Some(certs) => {
                let certs: Vec<ureq::tls::Certificate<'static>> = certs
                    .iter()
                    .map(|d| ureq::tls::Certificate::from_der(d).to_owned())
                    .collect();
                ureq::tls::RootCerts::new_with_certs(&certs)
            }
        }
    }

    /// Opens TLS over `socket` to `host` (certificate checked, handshake done on first use).
    pub fn connect(&self, host: &str, socket: TcpStream) -> io::Result<TlsStream> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn =
            ClientConnection::new(Arc::clone(&self.config), name).map_err(io::Error::other)?;
        Ok(StreamOwned::new(conn, socket))
    }
}

/// A TLS connection to the next hop.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

/// One end of a relay: a plain socket, or TLS (the upstream's `https://`, or the client's on
/// the proxy's own HTTPS port) whose `rustls` state both directions share.
pub enum End {
    Plain(TcpStream),
    Tls(Arc<Mutex<Connection>>, TcpStream),
}

impl End {
    /// An end over TLS.
    pub fn tls(conn: impl Into<Connection>, sock: TcpStream) -> End {
        End::Tls(Arc::new(Mutex::new(conn.into())), sock)
    }

    pub fn socket(&self) -> &TcpStream {
        match self {
            End::Plain(s) | End::Tls(_, s) => s,
        }
    }

    /// A second handle for the other direction.
    pub fn try_clone(&self) -> io::Result<End> {
        Ok(match self {
            End::Plain(s) => End::Plain(s.try_clone()?),
            End::Tls(c, s) => End::Tls(Arc::clone(c), s.try_clone()?),
        })
    }

    /// Waits for more data and appends it to `out`; true once the peer ended its side.
    fn receive(&mut self, raw: &mut [u8], out: &mut Vec<u8>) -> io::Result<bool> {
        let (conn, sock) = match self {
            End::Plain(s) => {
                let n = s.read(raw)?;
                out.extend_from_slice(&raw[..n]);
                return Ok(n == 0);
            }
            End::Tls(c, s) => (c, s),
        };
        loop {
            {
                // Plaintext already decrypted (with the handshake's last read) comes first.
                let mut c = lock(conn);
                let ended = take_plaintext(&mut c, out)?;
                while c.wants_write() {
                    c.write_tls(&mut &*sock)?;
                }
                if ended || !out.is_empty() {
                    return Ok(ended);
                }
            }
            // The blocking read happens outside the lock.
            let n = sock.read(raw)?;
            if n == 0 {
                return Ok(true);
            }
            let mut c = lock(conn);
            let mut received = &raw[..n];
            while !received.is_empty() {
                c.read_tls(&mut received)?;
                c.process_new_packets().map_err(io::Error::other)?;
                if take_plaintext(&mut c, out)? {
                    return Ok(true);
                }
            }
        }
    }

    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            End::Plain(s) => s.write_all(data),
            End::Tls(c, s) => {
                let mut c = lock(c);
                c.writer().write_all(data)?;
                while c.wants_write() {
                    c.write_tls(&mut &*s)?;
                }
                Ok(())
            }
        }
    }

    /// Ends this side's sending half (TLS: `close_notify` first).
    fn finish(&mut self) {
        if let End::Tls(c, s) = self {
            let mut c = lock(c);
            c.send_close_notify();
            while c.wants_write() && c.write_tls(&mut &*s).is_ok() {}
        }
        let _ = self.socket().shutdown(Shutdown::Write);
    }
}

/// Relays `a` ⇄ `b` until either side ends, when one of them is TLS; `a_pending` are bytes of
/// `a` already read (sent to `b` first), `b_pending` of `b`. Blocks: run it on the relay's
/// thread (it starts one more for the `a` → `b` direction).
pub fn relay(a: End, b: End, a_pending: Vec<u8>, b_pending: Vec<u8>) -> io::Result<()> {
    let (a_in, b_out) = (a.try_clone()?, b.try_clone()?);
    let up = std::thread::Builder::new()
        .name("ory-proxy-relay".into())
        .spawn(move || copy(a_in, b_out, a_pending))?;
    copy(b, a, b_pending);
    let _ = up.join();
    Ok(())
}

/// Copies plaintext `from` → `to` until `from` ends (then ends `to`'s sending half); on an
/// error closes both.
fn copy(mut from: End, mut to: End, pending: Vec<u8>) {
    let result = (|| -> io::Result<()> {
        to.send(&pending)?;
        let mut raw = vec![0u8; 16 * 1024];
        let mut plain = Vec::with_capacity(16 * 1024);
        loop {
            let ended = match from.receive(&mut raw, &mut plain) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => other?,
            };
            to.send(&plain)?;
            plain.clear();
            if ended {
                return Ok(());
            }
        }
    })();
    match result {
        Ok(()) => {
            to.finish();
            // The other direction may finish on its own; do not wait for it forever.
            let _ = to.socket().set_read_timeout(Some(LINGER));
        }
        Err(_) => {
            let _ = from.socket().shutdown(Shutdown::Both);
            let _ = to.socket().shutdown(Shutdown::Both);
        }
    }
}

/// Moves decrypted bytes into `out`; true when the peer closed its side (close_notify).
fn take_plaintext(c: &mut Connection, out: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 8192];
    loop {
        match c.reader().read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}
