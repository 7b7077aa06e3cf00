//! ory-proxy: a reverse proxy that puts a web application and Ory on one origin.
//!
//! The crate is a library with a thin binary on top (`src/main.rs`), so that every piece can be
//! unit-tested and the integration tests can drive the real binary.
//!
//! The folders show the architecture; arrows point down this list and nothing imports upwards:
//! - [`http`]: the wire — listener, connections, heads, bodies, writing responses;
//! - [`proxy`]: what happens to one request — route it, answer it locally (JWKS, health,
//!   metrics, CORS preflights) or identify the client and forward it, then pass the answer back;
//!   upgrades are relayed;
//! - [`ory`]: sessions (whoami, cache), tokens (ES256 JWT, reuse) and signing keys;
//! - [`rewrite`]: `Set-Cookie`, `Location` and Ory bodies on the way back;
//! - [`policy`]: CORS, hop-by-hop and forwarding headers, origins;
//! - [`obs`]: logs, metrics and health checks.
//!
//! [`cli`] parses the command line into raw fields ([`help`] is its text, [`compat`] the Go
//! command's habits and "did you mean"); [`config`] validates them into a [`config::Config`]
//! ([`mode`]: proxy or tunnel mode and the session options; [`deploy`]: key reload polling,
//! trusted proxies, the metrics address);
//! [`serve`] starts the proxy. Every failure of a request is one [`error::Error`], answered in
//! one place; [`error_text`] puts it in words that name the hop and the fix (log line, HTML
//! page). All `unsafe` code lives in [`sys`].
#![deny(unsafe_code)]

pub mod cli;
pub mod compat;
pub mod config;
pub mod error;
pub mod error_text;
pub mod help;
pub mod http;
mod locks;
pub mod obs;
pub mod ory;
pub mod policy;
pub mod proxy;
pub mod random;
pub mod rewrite;
pub mod serve;
pub mod status;
pub mod sys;
