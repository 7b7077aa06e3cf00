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
//! ([`relay_tls`]) shares the `rustls` state behind a mutex and does the blocking socket reads
//! outside it: the lock is only held to feed received bytes in, take plaintext out, or encrypt.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

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

fn lock(conn: &Mutex<ClientConnection>) -> MutexGuard<'_, ClientConnection> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

/// Relays `client` ⇄ `upstream` (TLS) until either side ends; `pending` are client bytes
/// already read, `upstream_pending` plaintext already received from the upstream. Blocks:
/// run it on the relay's thread (it starts one more for the client → upstream direction).
pub fn relay_tls(
    client: TcpStream,
    upstream: TlsStream,
    client_pending: Vec<u8>,
    upstream_pending: Vec<u8>,
) -> io::Result<()> {
    let StreamOwned { conn, sock } = upstream;
    let conn = Arc::new(Mutex::new(conn));
    let (sock_in, sock_out) = (sock.try_clone()?, sock);
    let (client_in, client_out) = (client.try_clone()?, client);
    let up = {
        let conn = Arc::clone(&conn);
        std::thread::Builder::new()
            .name("ory-proxy-relay".into())
            .spawn(move || to_upstream(client_in, &conn, sock_out, client_pending))?
    };
    let down = to_client(sock_in, &conn, client_out, upstream_pending);
    let _ = up.join();
    down
}

/// Client plaintext → encrypted to the upstream.
fn to_upstream(
    mut client: TcpStream,
    conn: &Mutex<ClientConnection>,
    mut sock: TcpStream,
    pending: Vec<u8>,
) {
    let send = |data: &[u8], sock: &mut TcpStream| -> io::Result<()> {
        let mut c = lock(conn);
        c.writer().write_all(data)?;
        while c.wants_write() {
            c.write_tls(sock)?;
        }
        Ok(())
    };
    let result = (|| -> io::Result<()> {
        if !pending.is_empty() {
            send(&pending, &mut sock)?;
        }
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            send(&buf[..n], &mut sock)?;
        }
    })();
    if result.is_ok() {
        let mut c = lock(conn);
        c.send_close_notify();
        while c.wants_write() && c.write_tls(&mut sock).is_ok() {}
        let _ = sock.shutdown(Shutdown::Write);
    } else {
        let _ = sock.shutdown(Shutdown::Both);
        let _ = client.shutdown(Shutdown::Both);
    }
}

/// Upstream TLS records → plaintext to the client.
fn to_client(
    mut sock: TcpStream,
    conn: &Mutex<ClientConnection>,
    mut client: TcpStream,
    pending: Vec<u8>,
) -> io::Result<()> {
    let result = (|| -> io::Result<()> {
        client.write_all(&pending)?;
        let mut raw = vec![0u8; 16 * 1024];
        let mut plain = Vec::with_capacity(16 * 1024);
        let mut sock_out = sock.try_clone()?;
        loop {
            // Plaintext already decrypted (with the handshake's last read) goes out first.
            let ended = {
                let mut c = lock(conn);
                let ended = take_plaintext(&mut c, &mut plain)?;
                while c.wants_write() {
                    c.write_tls(&mut sock_out)?;
                }
                ended
            };
            client.write_all(&plain)?;
            plain.clear();
            if ended {
                return Ok(());
            }
            let n = match sock.read(&mut raw) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut c = lock(conn);
            let mut received = &raw[..n];
            while !received.is_empty() {
                c.read_tls(&mut received)?;
                c.process_new_packets().map_err(io::Error::other)?;
                if take_plaintext(&mut c, &mut plain)? {
                    break;
                }
            }
        }
    })();
    match &result {
        Ok(()) => {
            let _ = client.shutdown(Shutdown::Write);
        }
        Err(_) => {
            let _ = sock.shutdown(Shutdown::Both);
            let _ = client.shutdown(Shutdown::Both);
        }
    }
    result
}

/// Moves decrypted bytes into `out`; true when the upstream closed its side (close_notify).
fn take_plaintext(c: &mut ClientConnection, out: &mut Vec<u8>) -> io::Result<bool> {
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
