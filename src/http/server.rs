//! The listening socket, the `tiny_http` server and the worker pool.
//!
//! `tiny_http` gives every connection its own thread and queues parsed requests; one dispatcher
//! thread (the caller of [`run`]) pops them and hands each to a fixed pool of workers. The pool
//! bounds how many requests are handled at once, and the dispatcher refuses work with 503 once
//! too many are waiting, so a burst never grows an unbounded queue.
//!
//! Client connections get `--client-timeout` as socket receive and send timeouts, set on the
//! listening socket and inherited by every accepted socket (`tiny_http` has no timeouts of its
//! own): an idle keep-alive connection, a stalled head or body, or a client that stops reading
//! is disconnected, so slow clients cannot pile up forever.
//!
//! Two flaws of `tiny_http` 0.12 are worked around by [`keep_accepting`], which opens an empty
//! connection to our own listener (closed at once) now and then:
//! - The listening socket's receive timeout also applies to `accept` (Linux), and `tiny_http`'s
//!   accept thread gives up for good on its first error: after `--client-timeout` without a new
//!   connection the proxy would stop accepting. A poke at least every half timeout prevents it.
//! - Its connection thread pool decides between "hand to an idle thread" and "start a thread"
//!   by a count of idle threads that a woken thread only lowers once it runs. A burst of new
//!   connections (a browser opening six, `wrk -c64`) is queued behind the few idle threads,
//!   and a queued connection waits until some kept-alive connection closes: with 64 clients,
//!   60 sat unserved for the whole benchmark. Each poke that arrives while no thread is idle
//!   starts a thread, which serves the poke at once and then the oldest queued connection; so
//!   while requests flow the keeper pokes every [`BUSY_POKE`], and a burst drains in
//!   milliseconds.
//!
//! Shutdown: SIGTERM or SIGINT wakes the dispatcher (`Server::unblock`), which shuts the
//! listening socket down (new connections are refused) but keeps serving requests that arrive on
//! connections already open, each answer now saying `Connection: close`, until nothing is in
//! flight or `--shutdown-grace` has passed; then it returns (exit status 0). A second signal
//! ends the wait at once.

use crate::config::Config;
use crate::error::Error;
use crate::http::response;
use crate::obs::logger;
use crate::proxy::App;
use crate::sys;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Loads the keys, binds, prints the banner and serves until the process ends.
pub fn run(config: Config) -> io::Result<()> {
    logger::init(config.quiet, config.debug, config.log_format);
    // Keys first: a bad key file must stop the start before the port is taken.
    let keys = crate::ory::keys::load(&config)?;
    let addr: SocketAddr = format!("{}:{}", config.bind, config.port)
        .parse()
        .or_else(|_| format!("[{}]:{}", config.bind, config.port).parse())
        .map_err(|_| io::Error::other(format!("invalid listen address '{}'", config.bind)))?;
    let listener = TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    serve_with_keys(listener, config, keys)
}

/// Serves on an already bound listener until the process ends (the playground binds first to
/// learn its port).
pub fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    logger::init(config.quiet, config.debug, config.log_format);
    let keys = crate::ory::keys::load(&config)?;
    serve_with_keys(listener, config, keys)
}

fn serve_with_keys(
    listener: TcpListener,
    mut config: Config,
    keys: crate::ory::keys::Keys,
) -> io::Result<()> {
    crate::obs::metrics::init();
    let bound = listener.local_addr()?;
    if let Err(e) = crate::sys::set_listener_nodelay(&listener) {
        logger::error(&format!("cannot set TCP_NODELAY on the listener: {e}"));
    }
    config.set_bound_port(bound.port());
    sys::set_listener_timeouts(&listener, config.client_timeout)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot set socket timeouts: {e}")))?;
    let signals = sys::install_shutdown_signals()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot install signal handlers: {e}")))?;

    // A second handle on the listening socket, to stop accepting on shutdown while the server
    // (and the connections it already has) keeps going.
    let listening = listener
        .try_clone()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start server: {e}")))?;
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| io::Error::other(format!("cannot start server: {e}")))?;
    let server = Arc::new(server);
    keep_accepting(bound, config.client_timeout, Arc::downgrade(&server));
    let dispatched = &DISPATCHED;
    let stopping = Arc::new(AtomicUsize::new(0));
    watch_signals(signals, Arc::downgrade(&server), Arc::clone(&stopping));

    crate::obs::banner::print(&config, bound);
    for (warning, note) in &keys.notes {
        if *warning {
            logger::warn(note);
        } else {
            logger::info(note);
        }
    }
    if config.open {
        crate::obs::banner::open_browser(&config.public.origin);
    }

    let app = Arc::new(App::new(config, keys.set));
    crate::http::watchdog::spawn(
        app.config.port,
        Arc::clone(&app.activity),
        app.config.client_timeout,
        app.config.max_connections,
    );
    let pool = crate::http::workers::Workers::new(app.config.workers, "ory-proxy-worker")
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start workers: {e}")))?;
    let dispatch = |request: tiny_http::Request| {
        // The head is checked here, in arrival order, so a refused request poisons its
        // connection before anything tiny_http parsed behind it reaches a worker.
        let checked = app.precheck(&request);
        if pool.queued_count() >= app.config.max_queue {
            if matches!(checked, crate::proxy::Precheck::Checked(_)) {
                let started = std::time::Instant::now();
                let method = request.method().as_str().to_owned();
                let target = request.url().to_owned();
                let status = app.answer_error(request, &method, &target, Error::Overloaded);
                crate::obs::metrics::request_rejected();
                crate::obs::metrics::request_finished(
                    crate::obs::metrics::RouteKind::Local,
                    status,
                    started.elapsed(),
                );
            } else {
                // Dropped or refused without a worker's help (and never dropped unsafely).
                app.handle_checked(request, checked);
            }
            return;
        }
        let active = app.activity.enter(request.remote_addr().copied());
        let app = Arc::clone(&app);
        crate::obs::metrics::request_queued();
        dispatched.fetch_add(1, Ordering::Relaxed);
        pool.execute(move || {
            let _in_flight = crate::obs::metrics::request_started();
            app.handle_checked(request, checked);
            drop(active);
        });
    };
    loop {
        match server.recv() {
            Ok(request) => dispatch(request),
            // The wake-up of a shutdown signal: everything queued before it was dispatched.
            Err(_) if stopping.load(Ordering::SeqCst) > 0 => break,
            Err(e) => logger::error(&format!("accepting a request failed: {e}")),
        }
    }

    // Stop accepting new connections (the listening socket is shut down), but keep serving
    // what arrives on connections already open until the in-flight work is done: every answer
    // now says `Connection: close`, so clients stop sending on them.
    response::close_connections_after_responses();
    if let Err(e) = sys::stop_listening(&listening) {
        logger::error(&format!("cannot stop listening: {e}"));
    }
    let deadline = Instant::now() + app.config.shutdown_grace;
    let in_flight = || pool.active_count() + pool.queued_count();
    logger::info(&format!(
        "shutting down: {} request(s) in flight, waiting up to {:?}",
        in_flight(),
        app.config.shutdown_grace
    ));
    while Instant::now() < deadline && stopping.load(Ordering::SeqCst) < 2 {
        match server.recv_timeout(Duration::from_millis(20)) {
            Ok(Some(request)) => dispatch(request),
            Ok(None) if in_flight() == 0 => break,
            // Nothing new, or the accept thread reporting the stopped listener.
            Ok(None) | Err(_) => {}
        }
    }
    if in_flight() > 0 {
        logger::error(&format!(
            "shutdown grace period over: {} request(s) cut off",
            in_flight()
        ));
    } else {
        logger::info("shut down cleanly");
    }
    Ok(())
}

/// Requests handed to the workers so far (read by [`keep_accepting`] to tell busy from idle).
static DISPATCHED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// The keeper's period while requests flow.
pub const BUSY_POKE: Duration = Duration::from_millis(5);
/// The keeper's longest period when idle (shorter when `--client-timeout` is shorter).
pub const IDLE_POKE: Duration = Duration::from_millis(250);

/// Opens and closes an empty connection to our own listener (see the module documentation):
/// every [`BUSY_POKE`] while requests are dispatched, else every [`IDLE_POKE`] or half
/// `--client-timeout`, whichever is shorter; until the server is gone.
fn keep_accepting(
    bound: SocketAddr,
    timeout: Duration,
    server: std::sync::Weak<tiny_http::Server>,
) {
    let mut target = bound;
    if target.ip().is_unspecified() {
        target.set_ip(match target {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let idle = (timeout / 2).clamp(Duration::from_millis(100), IDLE_POKE);
    let spawned = std::thread::Builder::new()
        .name("ory-proxy-accept-keeper".into())
        .spawn(move || {
            let mut seen = DISPATCHED.load(Ordering::Relaxed);
            loop {
                let now = DISPATCHED.load(Ordering::Relaxed);
                let period = if now != seen { BUSY_POKE } else { idle };
                seen = now;
                std::thread::sleep(period);
                if server.strong_count() == 0 {
                    return;
                }
                // tiny_http reads end-of-stream at once and forgets the connection.
                let _ = std::net::TcpStream::connect_timeout(&target, idle);
            }
        });
    if let Err(e) = spawned {
        logger::error(&format!("cannot start the accept keeper: {e}"));
    }
}

/// Counts shutdown signals in `stopping` and wakes the dispatcher on the first.
fn watch_signals(
    mut signals: std::fs::File,
    server: std::sync::Weak<tiny_http::Server>,
    stopping: Arc<AtomicUsize>,
) {
    let spawned = std::thread::Builder::new()
        .name("ory-proxy-signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            loop {
                match signals.read(&mut byte) {
                    Ok(1) => {
                        if stopping.fetch_add(1, Ordering::SeqCst) == 0 {
                            if let Some(server) = server.upgrade() {
                                server.unblock();
                            }
                        }
                    }
                    Ok(_) => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                }
            }
        });
    if let Err(e) = spawned {
        logger::error(&format!("cannot watch for shutdown signals: {e}"));
    }
}
