//! Starting the proxy: keys, listening sockets, signals, the banner, the shared [`App`], then
//! the connection layer ([`crate::http::listener`]) until a shutdown signal.
//!
//! Kept apart from [`crate::cli`] (which only parses: `main` calls [`run`]) and from the wire
//! (which knows nothing of keys or Ory). Signals arrive through a self-pipe ([`crate::sys::install_signals`]); the
//! watcher thread learns which signal arrived: SIGTERM/SIGINT stop, SIGHUP reloads the keys
//! ([`crate::ory::reload`]) on the watcher thread, never in a signal handler. What the proxy
//! says once it listens is [`banner`]; the background check that the next hops answer,
//! `probe`.

pub mod banner;
mod probe;

use crate::config::Config;
use crate::http::listener::{self, Limits};
use crate::http::tls::LiveTls;
use crate::obs::logger;
use crate::ory::reload::LiveKeys;
use crate::proxy::App;
use crate::sys::{self, Signal};
use std::io::{self, Read};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Loads the keys, binds, prints the banner and serves until a shutdown signal.
pub fn run(config: Config) -> io::Result<()> {
    logger::init(config.quiet, config.debug, config.log_format);
    // Keys first: a bad key file (or certificate) must stop the start before the port is taken.
    let keys = crate::ory::keys::load(config.jwt, config.jwks_file.as_deref())?;
    let tls = load_tls(&config)?;
    let listeners = listener::bind(&config.bind, config.port)?;
    serve_with_keys(listeners, config, keys, tls)
}

/// Serves on an already bound listener until a shutdown signal (the playground binds first to
/// learn its port).
pub fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    logger::init(config.quiet, config.debug, config.log_format);
    let keys = crate::ory::keys::load(config.jwt, config.jwks_file.as_deref())?;
    let tls = load_tls(&config)?;
    serve_with_keys(vec![listener], config, keys, tls)
}

/// `--tls-cert` and `--tls-key`, read and checked.
fn load_tls(config: &Config) -> io::Result<Option<Arc<LiveTls>>> {
    match &config.tls {
        None => Ok(None),
        Some(files) => LiveTls::load(&files.cert, &files.key)
            .map(|t| Some(Arc::new(t)))
            .map_err(io::Error::other),
    }
}

fn serve_with_keys(
    listeners: Vec<TcpListener>,
    mut config: Config,
    keys: crate::ory::keys::Keys,
    tls: Option<Arc<LiveTls>>,
) -> io::Result<()> {
    crate::obs::metrics::init();
    // Each connection is a descriptor; a low soft limit would refuse connections long before
    // --max-connections.
    match sys::raise_fd_limit() {
        Ok(n) if (n as usize) < config.max_connections => logger::warn(&format!(
            "open-file limit {n} is below --max-connections {}: connections beyond about {} will fail",
            config.max_connections,
            n / 2
        )),
        Ok(_) => {}
        Err(e) => logger::warn(&format!("cannot raise the open-file limit: {e}")),
    }
    let bound = listeners[0].local_addr()?;
    let listening = listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<io::Result<Vec<_>>>()?;
    config.set_bound_port(bound.port());
    // The operator port, bound before the banner so that a taken port stops the start and the
    // banner shows the address really bound (port 0 picks one).
    let ops = match config.deploy.metrics_address {
        Some(addr) => {
            let l = TcpListener::bind(addr).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot listen on {addr} (--metrics-address): {e}"),
                )
            })?;
            config.deploy.metrics_address = Some(l.local_addr()?);
            Some(l)
        }
        None => None,
    };
    let signals = sys::install_signals()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot install signal handlers: {e}")))?;
    let stopping = Arc::new(AtomicUsize::new(0));
    let live = keys
        .set
        .map(|set| Arc::new(LiveKeys::new(set, config.jwks_file.clone())));
    watch_signals(signals, Arc::clone(&stopping), live.clone(), tls.clone());

    banner::print(&config, &listening);
    // Right after the banner, so its warnings follow the URLs they are about.
    probe::warn_on_self_loop(&config, &listening);
    probe::probe_at_start(&config);
    for (warning, note) in &keys.notes {
        if *warning {
            logger::warn(note);
        } else {
            logger::info(note);
        }
    }
    if config.open {
        // In tunnel mode the page to look at is the application's, not Ory's root.
        let url = match config.mode {
            crate::config::Mode::Proxy => &config.public.origin,
            crate::config::Mode::Tunnel => &config.upstream.origin,
        };
        banner::open_browser(url);
    }
    let limits = Limits {
        client_timeout: config.client_timeout,
        max_connections: config.max_connections,
        min_data_rate: config.min_data_rate,
        shutdown_grace: config.shutdown_grace,
    };
    let roots = crate::proxy::tls::Roots::load(config.ca_file.as_deref())?;
    if let (Some(live), Some(interval)) = (&live, config.deploy.jwks_reload_interval) {
        crate::ory::reload::watch(Arc::clone(live), interval)?;
    }
    let app = Arc::new(App::new(config, live, roots));
    if let Some(ops) = ops {
        serve_ops(ops, Arc::clone(&app), limits, Arc::clone(&stopping))?;
    }
    listener::serve(listeners, app, limits, tls, &stopping)
}

/// Serves `--metrics-address` on its own thread with the same connection layer; it stops with
/// the public port (same `stopping` count), and the process ends when the public port is done.
fn serve_ops(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    stopping: Arc<AtomicUsize>,
) -> io::Result<()> {
    let handler = Arc::new(crate::proxy::ops::OpsPort(app));
    std::thread::Builder::new()
        .name("ory-proxy-ops".into())
        .spawn(move || {
            // Operators' port: plain HTTP, also under --tls-cert.
            if let Err(e) = listener::serve(vec![listener], handler, limits, None, &stopping) {
                logger::error(&format!("metrics address: {e}"));
            }
        })
        .map(drop)
}

/// Reads signals from the self-pipe: SIGTERM and SIGINT count in `stopping`; SIGHUP reads the
/// key file and the TLS certificate and key again (one log line each; a broken file keeps the
/// old keys, a broken pair the old certificate).
fn watch_signals(
    mut signals: std::fs::File,
    stopping: Arc<AtomicUsize>,
    keys: Option<Arc<LiveKeys>>,
    tls: Option<Arc<LiveTls>>,
) {
    let spawned = std::thread::Builder::new()
        .name("ory-proxy-signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            loop {
                match signals.read(&mut byte) {
                    Ok(1) => match Signal::from_byte(byte[0]) {
                        Some(Signal::Terminate | Signal::Interrupt) => {
                            stopping.fetch_add(1, Ordering::SeqCst);
                        }
                        Some(Signal::Hangup) => {
                            match &keys {
                                Some(keys) => keys.reload_and_log(),
                                None => logger::info("SIGHUP: no keys to reload under --no-jwt"),
                            }
                            if let Some(tls) = &tls {
                                tls.reload_and_log();
                            }
                        }
                        None => {}
                    },
                    Ok(_) => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                }
            }
        });
    if let Err(e) = spawned {
        logger::error(&format!("cannot watch for signals: {e}"));
    }
}
