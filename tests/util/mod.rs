//! The shared integration-test harness.
//!
//! - [`server`]: a small recording HTTP/1.1 server, the base of the two doubles below;
//! - [`ids`]: random ids and timestamps for the fakes;
//! - [`ory`]: a fake identity server that behaves like Kratos on the wire (SPEC §6);
//! - [`upstream`]: an echo application that records what it receives and can be told to answer
//!   anything (status, headers, slow or streamed bodies, a closed connection);
//! - [`proxy`]: starts the real `ory-proxy` binary on a free loopback port and kills it on drop,
//!   or runs it to completion for command-line tests;
//! - [`client`]: a plain HTTP client (no redirects, no proxy) and raw-TCP helpers;
//! - [`usage`]: a run of the binary that must end in a usage error;
//! - [`navigate`]: a browser's page navigation (Chromium's `Accept`) through a [`Stack`];
//! - [`login_flow`]: the fake's login flow over plain HTTP (cookies, CSRF token, sign-in);
//! - [`conn`]: a raw client connection reading whole answers (pipelining, close detection), and
//!   [`raw_response`]: an answer read from raw bytes, both strictly;
//! - [`message`]: strict reading of the heads and the framing the proxy sends;
//! - [`chunked`]: a strict, incremental decoder of chunked framing;
//! - [`forwarded`]: what a request the proxy forwards must look like, checked by every fake
//!   that receives one ([`server_read`] for the recording server);
//! - [`head_request`]: `HEAD` checked against `GET` on one connection;
//! - [`prometheus`]: a strict reader of the Prometheus text format;
//! - [`jwt`]: verifies a token with the JWKS the proxy serves;
//! - [`files`]: a temporary directory removed on drop (key files, nginx configurations);
//! - [`nginx`]: nginx as a round-robin load balancer, configured from `examples/`;
//! - [`external`]: Python, Node and curl clients and servers the project did not write, and
//!   [`flask`]: a Flask application on Werkzeug's server or `wsgiref`;
//! - [`webdriver`]: headless Chromium over WebDriver, and [`netlog`]: what its own network log
//!   says it received (every response, wherever it came from; the walks assert no 404), and
//!   [`browser_login`]: signing in on the fake's pages in it.
//!
//! Everything binds `127.0.0.1:0` and stops by itself; nothing talks to anything but loopback.
//!
//! `server`, `server_wire`, `server_read`, `forwarded`, `message`, `chunked`, `ory`,
//! `ory_flows`, `ory_pages`, `ory_second_factor` and `ids` depend only on std, serde_json and
//! each other (through `super::`), so the examples include the very same fake identity server
//! (`examples/fake-ory/modules.rs`).
//!
//! Not every test module uses every helper.
#![allow(dead_code)]

pub mod browser_login;
pub mod certs;
pub mod chunked;
pub mod client;
pub mod conn;
pub mod external;
pub mod files;
pub mod flask;
pub mod forwarded;
pub mod head_request;
pub mod ids;
pub mod jwt;
pub mod login_flow;
pub mod message;
pub mod navigate;
pub mod netlog;
pub mod nginx;
pub mod ory;
pub mod ory_flows;
pub mod ory_pages;
pub mod ory_second_factor;
pub mod prometheus;
pub mod proxy;
pub mod raw;
pub mod raw_response;
pub mod server;
pub mod server_read;
pub mod server_wire;
pub mod sha1;
pub mod upstream;
pub mod usage;
pub mod webdriver;
pub mod ws;

#[allow(unused_imports)]
pub use client::{raw_exchange, Req, Resp};
#[allow(unused_imports)]
pub use ory::{FakeOry, TestSession, Whoami};
#[allow(unused_imports)]
pub use proxy::{run_cli, ProxyProcess};
#[allow(unused_imports)]
pub use server::{Action, Recorded, Reply};
#[allow(unused_imports)]
pub use upstream::Upstream;

#[allow(unused_imports)]
pub use ids::{random_hex, random_u64, rfc3339, unix_now, uuid};
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some` or a generous deadline passes (then panics with `what`).
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The usual stage of an integration test: a fake identity server, an echo upstream and the
/// real proxy in front of both (stopped on drop, the fakes first).
pub struct Stack {
    pub ory: FakeOry,
    pub upstream: Upstream,
    pub proxy: ProxyProcess,
}

impl Stack {
    /// Starts the three with `extra` flags for the proxy.
    pub fn start(extra: &[&str]) -> Stack {
        Stack::start_with(extra, |_| {})
    }

    /// Like [`Stack::start`]; `prepare` configures the fake (hooks, switches) before the proxy
    /// starts.
    pub fn start_with(extra: &[&str], prepare: impl FnOnce(&FakeOry)) -> Stack {
        let ory = FakeOry::start();
        prepare(&ory);
        let upstream = Upstream::start();
        let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), extra);
        Stack {
            ory,
            upstream,
            proxy,
        }
    }
}
