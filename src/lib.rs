//! ory-proxy: a reverse proxy that puts a web application and Ory on one origin.
//!
//! The crate is a library with a thin binary on top (`src/main.rs`), so that every piece can be
//! unit-tested and the integration tests can drive the real binary.
//!
//! How a request travels:
//! - [`server`] owns the listening socket, the `tiny_http` server and the worker pool;
//! - [`proxy`] classifies the request ([`route`]) and either answers it itself (`local`: JWKS,
//!   health, metrics, CORS preflights) or forwards it: `identify` asks Ory who the user is
//!   ([`session`], through the [`cache`]) and mints or reuses a token ([`jwt`], `token_reuse`),
//!   `outgoing` builds the next-hop request with the headers of [`headers`], and `reply` passes
//!   the answer back (cookies, `Location` and Ory bodies through [`rewrite`]), streaming both
//!   bodies through [`response`]; upgrades go through [`upgrade`] and [`tunnel`];
//! - every failure is one [`error::Error`], turned into a JSON answer in one place.
//!
//! [`cli`] parses the command line into raw fields; [`config`] validates them into a [`config::Config`].

mod body_rewrite;
pub mod cache;
mod cache_key;
pub mod cli;
pub mod config;
mod cookie;
pub mod cors;
pub mod error;
pub mod framing;
pub mod headers;
pub mod health;
mod identify;
pub mod intake;
pub mod jwt;
pub mod keyfile;
mod local;
mod location;
pub mod logger;
pub mod metrics;
pub mod origin;
mod outgoing;
pub mod proxy;
pub mod random;
mod reply;
pub mod response;
pub mod rewrite;
pub mod route;
pub mod server;
pub mod session;
pub mod sys;
pub mod timefmt;
mod token_reuse;
pub mod tunnel;
pub mod upgrade;
pub mod watchdog;
pub mod workers;
