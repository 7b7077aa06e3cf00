//! A WebSocket (RFC 6455) echo server and client, small enough to read in one sitting.
//!
//! The server answers the handshake with a correct `Sec-WebSocket-Accept` (SHA-1 written here,
//! tests only), records the handshake request, pushes a text frame `hello <n>` the moment the
//! connection is open (so a test sees the server speak first), then echoes every text or binary
//! frame and answers a close frame with a close frame and a closed socket.

use super::raw::{read_head, Head, RawServer};
use base64::Engine;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use super::sha1::accept_key;

/// One frame: opcode and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

pub const TEXT: u8 = 1;
pub const BINARY: u8 = 2;
pub const CLOSE: u8 = 8;

/// Writes a final frame; clients mask (`mask = Some`), servers do not.
pub fn write_frame(
    w: &mut impl Write,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) -> io::Result<()> {
    let mut out = vec![0x80 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(m) => {
            out.extend_from_slice(&m);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ m[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    w.write_all(&out)?;
    w.flush()
}

/// Reads one frame (unmasking it when masked).
pub fn read_frame(r: &mut impl Read) -> io::Result<Frame> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h)?;
    let opcode = h[0] & 0x0f;
    let masked = h[1] & 0x80 != 0;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut mask = [0u8; 4];
    if masked {
        r.read_exact(&mut mask)?;
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
    }
    Ok(Frame { opcode, payload })
}

/// The echo server.
pub struct WsEcho {
    server: RawServer,
    handshakes: Arc<Mutex<Vec<Head>>>,
    opened: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl WsEcho {
    pub fn start() -> WsEcho {
        WsEcho::start_with(None)
    }

    /// The echo server behind TLS (see [`tls_server_config`]).
    pub fn start_tls(config: Arc<rustls::ServerConfig>) -> WsEcho {
        WsEcho::start_with(Some(config))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> WsEcho {
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let opened = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let (h, o, c) = (
            Arc::clone(&handshakes),
            Arc::clone(&opened),
            Arc::clone(&closed),
        );
        let server = RawServer::start(move |stream| {
            let closer = stream.try_clone();
            let close = move || {
                if let Ok(s) = &closer {
                    let _ = s.shutdown(std::net::Shutdown::Both);
                }
            };
            match &tls {
                None => echo(stream, &h, &o, &c, close),
                Some(config) => {
                    let conn = rustls::ServerConnection::new(Arc::clone(config)).unwrap();
                    echo(rustls::StreamOwned::new(conn, stream), &h, &o, &c, close)
                }
            }
        });
        WsEcho {
            server,
            handshakes,
            opened,
            closed,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Handshake requests received, in order.
    pub fn handshake(&self, i: usize) -> Option<(String, Vec<(String, String)>)> {
        self.handshakes
            .lock()
            .unwrap()
            .get(i)
            .map(|h| (h.first.clone(), h.headers.clone()))
    }

    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    /// Connections that ended (close frame or end of stream).
    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Serves one connection of the echo server (see the module documentation).
fn echo(
    mut stream: impl Read + Write,
    h: &Mutex<Vec<Head>>,
    o: &AtomicUsize,
    c: &AtomicUsize,
    close: impl Fn(),
) {
    let Ok(head) = read_head(&mut stream) else {
        return;
    };
    let key = head.header("sec-websocket-key").map(str::to_owned);
    let upgrade = head
        .header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    h.lock().unwrap().push(head);
    let Some(key) = key.filter(|_| upgrade) else {
        let _ = stream.write_all(
            b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 9\r\nConnection: close\r\n\r\nwebsocket",
        );
        let _ = stream.flush();
        return;
    };
    let n = o.fetch_add(1, Ordering::SeqCst) + 1;
    // Head and first push in one write: the proxy must pass on bytes that arrive
    // together with the 101.
    let mut answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(&key)
    )
    .into_bytes();
    write_frame(&mut answer, TEXT, format!("hello {n}").as_bytes(), None).unwrap();
    if stream
        .write_all(&answer)
        .and_then(|()| stream.flush())
        .is_err()
    {
        return;
    }
    loop {
        match read_frame(&mut stream) {
            Ok(f) if f.opcode == CLOSE => {
                let _ = write_frame(&mut stream, CLOSE, &f.payload, None);
                close();
                c.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(f) => {
                if write_frame(&mut stream, f.opcode, &f.payload, None).is_err() {
                    return;
                }
            }
            Err(_) => {
                c.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// A TLS server configuration for `cert_pem` (a chain, leaf first) and `key_pem` (PKCS#8).
pub fn tls_server_config(cert_pem: &[u8], key_pem: &[u8]) -> Arc<rustls::ServerConfig> {
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> = ureq::tls::parse_pem(cert_pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.der().to_vec().into()),
            _ => None,
        })
        .collect();
    let key = ureq::tls::PrivateKey::from_pem(key_pem).expect("private key");
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.der().to_vec()).expect("key der");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
    Arc::new(config)
}

/// A client connection through `addr` (the proxy) after a successful handshake.
pub struct WsClient {
    pub stream: TcpStream,
    /// The 101 head.
    pub head: Head,
    /// Bytes after the head, not yet consumed by [`WsClient::read`].
    pending: Vec<u8>,
}

impl WsClient {
    /// Opens `GET path` with the WebSocket handshake and `extra` headers; returns the client
    /// when the answer is a 101 with the right accept key, else the raw head as an error.
    pub fn connect(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> Result<WsClient, Head> {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let key = base64::engine::general_purpose::STANDARD
            .encode(super::random_u64().to_be_bytes().repeat(2));
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        );
        for (n, v) in extra {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).expect("write handshake");
        let head = read_head(&mut stream).expect("read handshake answer");
        if head.status() != 101 {
            return Err(head);
        }
        assert_eq!(
            head.header("sec-websocket-accept"),
            Some(accept_key(&key).as_str()),
            "accept key of {head:?}"
        );
        // What every real client checks too (RFC 6455 §4.1): without them Chromium, Python
        // websockets and Node ws all refuse the 101.
        assert!(
            head.header("upgrade")
                .is_some_and(|u| u.eq_ignore_ascii_case("websocket")),
            "no 'Upgrade: websocket' in {head:?}"
        );
        assert!(
            head.header("connection").is_some_and(|c| c
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))),
            "no 'Connection: Upgrade' in {head:?}"
        );
        let pending = head.rest.clone();
        Ok(WsClient {
            stream,
            head,
            pending,
        })
    }

    pub fn send_text(&mut self, text: &str) {
        let mask = super::random_u64().to_be_bytes();
        write_frame(
            &mut self.stream,
            TEXT,
            text.as_bytes(),
            Some([mask[0], mask[1], mask[2], mask[3]]),
        )
        .expect("send frame");
    }

    pub fn send_close(&mut self) {
        write_frame(&mut self.stream, CLOSE, &[3, 232], Some([1, 2, 3, 4])).expect("send close");
    }

    /// Reads the next frame.
    pub fn read(&mut self) -> io::Result<Frame> {
        let pending = std::mem::take(&mut self.pending);
        let mut chained = io::Cursor::new(pending).chain(&mut self.stream);
        let frame = read_frame(&mut chained);
        let (cursor, _) = chained.into_inner();
        let pos = cursor.position() as usize;
        self.pending = cursor.into_inner()[pos..].to_vec();
        frame
    }

    /// Reads the next text frame's payload.
    pub fn read_text(&mut self) -> String {
        let f = self.read().expect("read frame");
        assert_eq!(f.opcode, TEXT, "{f:?}");
        String::from_utf8(f.payload).expect("utf-8")
    }
}
