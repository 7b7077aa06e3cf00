//! A fake Ory you can keep running: the identity server of the playground and the integration
//! tests, on its own, on a fixed port, so that your own application's proxy can use it without
//! an Ory account.
//!
//! ```text
//! cargo run --release --example fake-ory                  # http://127.0.0.1:4433
//! cargo run --release --example fake-ory -- --port 4434
//! ory-proxy http://localhost:3000 --sdk-url http://127.0.0.1:4433
//! ```
//!
//! It speaks Kratos on the wire where the proxy and a browser meet it: the login and
//! registration flows (HTML pages and JSON), `/sessions/whoami`, logout, and a second factor
//! (`login/browser?aal=aal2`: a six-digit code the page shows, for `--require-aal2`). Any email
//! and password sign in. The code is `tests/util/ory.rs` and its neighbours, included below exactly as the
//! playground includes them, so the fake you keep is the one the tests check. A fixed port
//! (4433, Kratos' public port) rather than a random one: the proxy's `--sdk-url` must not
//! change between runs. Nothing here is for production.

use std::net::TcpListener;

// The fake identity server, included from the integration-test harness (its modules, listed
// once for both examples).
include!("modules.rs");

mod port_arg;

/// Requests kept in memory for inspection (the tests read them; here they only cost memory).
const KEPT_REQUESTS: usize = 100;

fn main() {
    let port = match port_arg::port_from_args(4433) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fake-ory: {e} (usage: fake-ory [--port N], default 4433)");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "fake-ory: cannot listen on 127.0.0.1:{port}: {e}; is one running already? \
                 Else try --port {}",
                port.wrapping_add(1).max(1024)
            );
            std::process::exit(1);
        }
    };
    let ory = ory::FakeOry::start_on(listener);
    ory.server().limit_records(KEPT_REQUESTS);
    let url = ory.url();
    // The first line is stable: the test reads the URL from it.
    println!("fake-ory: an Ory-shaped identity server on {url}");
    println!("  point a proxy at it:  ory-proxy http://localhost:3000 --sdk-url {url}");
    println!(
        "  then open http://localhost:4000 and sign in at \
         http://localhost:4000/.ory/self-service/login/browser"
    );
    println!("  any email and password sign in (e.g. demo@example.org / demo); Ctrl-C stops it");
    loop {
        std::thread::park();
    }
}
