//! The listening sockets, the accept loop and the process's life: start, serve, shut down.
//!
//! Each accepted connection gets its own thread ([`crate::http::conn`]) with a small stack;
//! `--max-connections` bounds how many are open ([`crate::http::limit`]). The default address is
//! dual-stack `[::]` (on Linux it accepts IPv4 too), falling back to `0.0.0.0` where IPv6 is
//! missing; `--bind localhost` listens on `127.0.0.1` and, when the host has it, `[::1]`.
//!
//! Shutdown: once `stopping` counts a signal (SIGTERM or SIGINT, see [`crate::serve`]), the
//! listeners stop (new connections are refused); requests in progress finish, and requests that
//! arrive on connections already open are still served, every answer now saying
//! `Connection: close`, until nothing is in flight or `--shutdown-grace` has passed; then
//! [`serve`] returns. A second signal ends the wait at once.

use crate::http::conn::{Conn, Handler};
use crate::http::error::Error;
use crate::http::limit::{Admission, Registry};
use crate::http::tls::LiveTls;
use crate::obs::logger;
use crate::sys;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stack of a connection thread: the request path (TLS to Ory, signing, JSON) fits with room
/// to spare, and only the pages a thread touches cost memory.
pub const CONNECTION_STACK: usize = 1024 * 1024;
/// How long a connection refused for being over the cap may take to send its head.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds the listening sockets for `--bind` (see the module documentation).
pub fn bind(bind: &str, port: u16) -> io::Result<Vec<TcpListener>> {
    let listen = |ip: IpAddr, port: u16| {
        let addr = SocketAddr::new(ip, port);
        TcpListener::bind(addr).map_err(|e| {
            let way_out = if e.kind() == io::ErrorKind::AddrInUse {
                in_use(port)
            } else {
                String::new()
            };
            io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}{way_out}"))
        })
    };
    if bind == "localhost" {
        let first = listen(Ipv4Addr::LOCALHOST.into(), port)?;
        let port = first.local_addr()?.port();
        let mut all = vec![first];
        // Where IPv6 is missing, IPv4 loopback alone serves `localhost`.
        if let Ok(v6) = listen(Ipv6Addr::LOCALHOST.into(), port) {
            all.push(v6);
        }
        return Ok(all);
    }
    let ip: IpAddr = bind
        .parse()
        .map_err(|_| io::Error::other(format!("invalid listen address '{bind}'")))?;
    match listen(ip, port) {
        Err(e)
            if ip == IpAddr::V6(Ipv6Addr::UNSPECIFIED) && e.kind() != io::ErrorKind::AddrInUse =>
        {
            Ok(vec![listen(Ipv4Addr::UNSPECIFIED.into(), port)?])
        }
        other => Ok(vec![other?]),
    }
}

/// What to do about a taken port: who holds it when the system says, and another `--port`.
fn in_use(port: u16) -> String {
    let who = crate::http::holder::holder_of(port).unwrap_or_else(|| "another program".to_owned());
    let next = port.checked_add(1).filter(|p| *p != 0).unwrap_or(4000);
    format!(
        " — port {port} is taken by {who}: stop it, or choose another port with --port {next} \
         (--port 0 picks a free one)"
    )
}

/// What the listener needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `--client-timeout`: idle keep-alive, whole head, each body read and write.
    pub client_timeout: Duration,
    /// `--max-connections`.
    pub max_connections: usize,
    /// `--min-data-rate`, bytes per second (0: off).
    pub min_data_rate: u64,
    /// `--shutdown-grace`.
    pub shutdown_grace: Duration,
}

/// Serves connections on `listeners` with `handler` until `stopping` counts a signal, then
/// shuts down gracefully (see the module documentation) and returns.
pub fn serve(
    listeners: Vec<TcpListener>,
    handler: Arc<dyn Handler>,
    limits: Limits,
    tls: Option<Arc<LiveTls>>,
    stopping: &AtomicUsize,
) -> io::Result<()> {
    let registry = Arc::new(Registry::new(limits.max_connections));
    let closed = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for listener in listeners {
        handles.push(listener.try_clone()?);
        let (handler, registry, closed, tls) = (
            Arc::clone(&handler),
            Arc::clone(&registry),
            Arc::clone(&closed),
            tls.clone(),
        );
        std::thread::Builder::new()
            .name("ory-proxy-accept".into())
            .spawn(move || {
                let accepting = Accepting {
                    handler: &handler,
                    limits,
                    registry: &registry,
                    closed: &closed,
                    tls: tls.as_deref(),
                };
                accept_loop(&listener, &accepting)
            })?;
    }

    while stopping.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stop accepting, let requests in progress finish (and serve what arrives on connections
    // already open): every answer now says `Connection: close` (the connections share `closed`),
    // so clients stop sending on them.
    closed.store(true, Ordering::SeqCst);
    for listener in &handles {
        if let Err(e) = sys::stop_listening(listener) {
            logger::error(&format!("cannot stop listening: {e}"));
        }
    }
    let deadline = Instant::now() + limits.shutdown_grace;
    logger::info(&format!(
        "shutting down: {} request(s) in flight, waiting up to {:?}",
        registry.busy(),
        limits.shutdown_grace
    ));
    while Instant::now() < deadline && stopping.load(Ordering::SeqCst) < 2 && registry.busy() > 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    match registry.busy() {
        0 => logger::info("shut down cleanly"),
        n => logger::error(&format!(
            "shutdown grace period over: {n} request(s) cut off"
        )),
    }
    Ok(())
}

/// What an accept loop hands each new connection.
struct Accepting<'a> {
    handler: &'a Arc<dyn Handler>,
    limits: Limits,
    registry: &'a Arc<Registry>,
    /// The listener's shutdown flag, shared by its connections.
    closed: &'a Arc<AtomicBool>,
    /// `--tls-cert`: each connection takes the certificate live when it is accepted.
    tls: Option<&'a LiveTls>,
}

/// Accepts connections until the listener is stopped.
fn accept_loop(listener: &TcpListener, accepting: &Accepting<'_>) {
    let closed = accepting.closed;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => admit(stream, peer, accepting),
            Err(_) if closed.load(Ordering::SeqCst) => return,
            Err(e) => {
                // Out of descriptors or memory: back off rather than spin.
                logger::error(&format!("accepting a connection failed: {e}"));
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Starts the thread of a new connection, or refuses it when over the cap.
fn admit(stream: TcpStream, peer: SocketAddr, accepting: &Accepting<'_>) {
    let Accepting {
        handler,
        limits,
        registry,
        closed,
        tls,
    } = *accepting;
    let tls = tls.map(LiveTls::current);
    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
    let timeout = limits.client_timeout;
    let _ = stream.set_nodelay(true);
    // With a minimum data rate, writes wake up to check it (see `rate`).
    let write_timeout = match limits.min_data_rate {
        0 => timeout,
        _ => crate::http::rate::wake(timeout),
    };
    if stream.set_write_timeout(Some(write_timeout)).is_err() {
        return;
    }
    let stream = Arc::new(stream);
    let (conn, slot) = match registry.admit(&stream) {
        Admission::Admitted(slot) => {
            let conn = Conn::new(stream, peer, timeout, Arc::clone(&slot), Arc::clone(closed))
                .pacing(limits.min_data_rate);
            (with_tls(conn, tls), Some(slot))
        }
        Admission::Refused => {
            crate::obs::metrics::connection_refused();
            // Answered 503 by a short-lived thread, unless too many are already: then closed.
            let Some(guard) = registry.refusing() else {
                return;
            };
            let _ = stream.set_write_timeout(Some(REFUSAL_TIMEOUT));
            let slot = registry.detached(&stream);
            let conn = Conn::new(stream, peer, REFUSAL_TIMEOUT, slot, Arc::clone(closed))
                .refusing(Error::Overloaded);
            let conn = with_tls(conn, tls);
            let handler = Arc::clone(handler);
            let spawned = std::thread::Builder::new()
                .name("ory-proxy-refusal".into())
                .stack_size(CONNECTION_STACK)
                .spawn(move || {
                    conn.run(&*handler);
                    drop(guard);
                });
            if let Err(e) = spawned {
                logger::error(&format!("cannot start a connection thread: {e}"));
            }
            return;
        }
    };
    let handler = Arc::clone(handler);
    let slot = slot.expect("admitted");
    let spawned = std::thread::Builder::new()
        .name("ory-proxy-conn".into())
        .stack_size(CONNECTION_STACK)
        .spawn({
            let slot = Arc::clone(&slot);
            let registry = Arc::clone(registry);
            move || {
                let _open = crate::obs::metrics::connection_opened();
                conn.run(&*handler);
                registry.leave(&slot);
            }
        });
    if let Err(e) = spawned {
        registry.leave(&slot);
        logger::error(&format!("cannot start a connection thread: {e}"));
    }
}

/// The connection speaks TLS when the port does.
fn with_tls(conn: Conn, tls: Option<Arc<rustls::ServerConfig>>) -> Conn {
    match tls {
        Some(config) => conn.tls(config),
        None => conn,
    }
}
