//! The integration tests: one binary (so the harness in `util/` is compiled once), one module per
//! area. Every test starts the real `ory-proxy` binary against the fake identity server and an
//! echo upstream on loopback.

mod util;

mod answers;
mod banner;
mod bodies;
mod browser;
mod browser_beyond;
mod browser_realtime;
mod cache;
mod cli;
mod cli_help;
mod client_tools;
mod connections;
mod cors;
mod data_rate;
mod doubles;
mod edge_cases;
mod error_bodies;
mod errors;
mod fake_ory;
mod forwarding;
mod frameworks;
mod health;
mod identity_headers;
mod interop;
mod jwt_session;
mod key_reload;
mod keys;
mod lifecycle;
mod limits;
mod login;
mod logs;
mod loops;
mod metrics;
mod metrics_address;
mod playground;
mod pool;
mod protected;
mod readme;
mod replicas;
mod resilience;
mod rewrite;
mod routing;
mod session;
mod smoke;
mod streaming;
mod timeouts;
mod trusted_proxies;
mod tunnel;
mod websocket;
mod websocket_clients;
mod websocket_refusals;
mod whoami_failures;
mod wire;
