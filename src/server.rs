//! The listening socket, the `tiny_http` server and the worker pool.
//!
//! `tiny_http` gives every connection its own thread and queues parsed requests; one dispatcher
//! thread (the caller of [`run`]) pops them and hands each to a fixed pool of workers. The pool
//! bounds how many requests are handled at once, and the dispatcher refuses work with 503 once
//! too many are waiting, so a burst never grows an unbounded queue.

use crate::config::Config;
use crate::error::Error;
use crate::jwt::KeySet;
use crate::logger;
use crate::proxy::App;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

/// Binds, prints the banner and serves until the process ends.
pub fn run(mut config: Config) -> io::Result<()> {
    logger::init(config.quiet, config.debug);
    let addr: SocketAddr = format!("{}:{}", config.bind, config.port)
        .parse()
        .or_else(|_| format!("[{}]:{}", config.bind, config.port).parse())
        .map_err(|_| io::Error::other(format!("invalid listen address '{}'", config.bind)))?;
    let listener = TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    if let Err(e) = crate::sys::set_listener_nodelay(&listener) {
        logger::error(&format!("cannot set TCP_NODELAY on the listener: {e}"));
    }
    config.set_bound_port(bound.port());

    let keys = if config.jwt {
        Some(KeySet::generate()?)
    } else {
        None
    };
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| io::Error::other(format!("cannot start server: {e}")))?;

    eprintln_banner(&config, bound);
    if config.open {
        open_browser(&config.public.origin);
    }

    let app = Arc::new(App::new(config, keys));
    let pool = threadpool::Builder::new()
        .num_threads(app.config.workers)
        .thread_name("ory-proxy-worker".into())
        .build();
    loop {
        let request = match server.recv() {
            Ok(r) => r,
            Err(e) => {
                logger::error(&format!("accepting a request failed: {e}"));
                continue;
            }
        };
        if pool.queued_count() >= app.config.max_queue {
            let method = request.method().as_str().to_owned();
            let target = request.url().to_owned();
            app.answer_error(request, &method, &target, Error::Overloaded);
            continue;
        }
        let app = Arc::clone(&app);
        pool.execute(move || app.handle(request));
    }
}

fn eprintln_banner(config: &Config, bound: SocketAddr) {
    // The first line is stable: tests and scripts read the bound address from it.
    let mut text = format!("ory-proxy listening on {bound}\n");
    text.push_str(&format!(
        "  open your application at  {}\n",
        config.public.origin
    ));
    text.push_str(&format!(
        "  Ory is reachable at       {}/.ory\n",
        config.public.origin
    ));
    if config.jwt {
        text.push_str(&format!(
            "  token keys (JWKS) at      {}/.ory/jwks.json\n",
            config.public.origin
        ));
    } else {
        text.push_str("  --no-jwt: no session lookup, no token\n");
    }
    text.push_str(&format!(
        "  upstream {}  ·  Ory {}{}\n",
        config.upstream.origin, config.sdk.origin, config.sdk_path
    ));
    logger::banner(&text);
}

/// Opens `url` in the default browser; a failure is one line, never fatal.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            // Reap it in the background so it does not linger as a zombie.
            std::thread::spawn(move || {
                if let Ok(status) = child.wait() {
                    if !status.success() {
                        logger::error(&format!(
                            "could not open a browser ({program} {status}); open {} yourself",
                            "the URL above"
                        ));
                    }
                }
            });
        }
        Err(e) => logger::error(&format!(
            "could not open a browser ({program}: {e}); open the URL above yourself"
        )),
    }
}
