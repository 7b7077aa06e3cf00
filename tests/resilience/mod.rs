//! Resilience (issue 9): nothing queues behind slow work on other connections, and a long mixed
//! load leaves the process with the threads and file descriptors it started with.
//!
//! Issue 9 measured the old design stalling every route, health and JWKS included, behind 64
//! clients that did not read a download or 64 requests waiting on a slow upstream (a shared
//! 64-worker pool). With one thread per connection, 100 of either must not delay anything else.
//!
//! Each test runs a bounded load (seconds, not minutes) on the debug build; [`mixed`] holds the
//! long mixed run, [`app`] the upstream that serves all of it.

mod app;
mod mixed;

use crate::util::{FakeOry, ProxyProcess, Req};
use app::App;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Clients doing the slow thing at once (more than the old pool's 64 workers).
const STALLED: usize = 100;
/// How long the proxy's own endpoints and an ordinary forward may take meanwhile.
const PROMPT: Duration = Duration::from_secs(2);

/// Opens `n` connections that each send `GET path` and never read.
fn stall(addr: SocketAddr, path: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .expect("write");
            s
        })
        .collect()
}

/// Waits until `counter` reaches `n` (the stalled load has reached the upstream).
fn wait_for(counter: &AtomicUsize, n: usize, what: &str) {
    crate::util::wait_until(what, || (counter.load(Ordering::SeqCst) >= n).then_some(()));
}

/// Health, JWKS and another upstream path each answer 200 within [`PROMPT`].
fn assert_prompt(proxy: &ProxyProcess) {
    for path in ["/.ory/proxy/health/alive", "/.ory/jwks.json", "/other/page"] {
        let started = Instant::now();
        let r = Req::get(&proxy.url(path)).send();
        let took = started.elapsed();
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(took < PROMPT, "{path} took {took:?}");
    }
    let keys = Req::get(&proxy.url("/.ory/jwks.json")).send().json();
    assert!(
        keys["keys"].as_array().is_some_and(|k| !k.is_empty()),
        "{keys}"
    );
}

#[test]
fn a_hundred_unread_downloads_hold_up_nothing() {
    let ory = FakeOry::start();
    let app = App::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &[]);
    // 200 MiB each, never read: each proxy connection is blocked writing to its client.
    let clients = stall(proxy.addr, "/big/200", STALLED);
    wait_for(
        &app.counts.big,
        STALLED,
        "every download to reach the upstream",
    );
    // Let the socket buffers fill, so every forward is really stuck on its client.
    std::thread::sleep(Duration::from_millis(500));
    assert_prompt(&proxy);
    drop(clients);
}

#[test]
fn a_hundred_requests_waiting_on_the_upstream_hold_up_nothing() {
    let ory = FakeOry::start();
    let app = App::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &[]);
    let clients = stall(proxy.addr, "/slow/20", STALLED);
    wait_for(
        &app.counts.slow,
        STALLED,
        "every slow request to reach the upstream",
    );
    assert_prompt(&proxy);
    drop(clients);
}
