//! ory-proxy: a reverse proxy that puts a web application and Ory on one origin.
//!
//! The crate is a library with a thin binary on top (`src/main.rs`), so that every piece can be
//! unit-tested and the integration tests can drive the real binary.
//!
//! The folders show the architecture; imports point one way (CONTRIBUTING.md, "Layers"), top
//! to bottom:
//! - `main.rs` parses ([`cli`], which only parses: [`help`] is its text, [`compat`] the Go
//!   command's habits), runs ([`serve`]: keys, listeners, signals, banner, start-up probe) and
//!   turns the outcome into an exit code;
//! - [`proxy`]: what happens to one request — route it, answer it locally (JWKS, health,
//!   metrics, CORS preflights) or identify the client and forward it, then pass the answer back;
//!   upgrades are relayed. Every step returns its failure as one [`error::Error`], answered in
//!   one place; [`error_text`] puts it in words that name the hop and the fix;
//! - [`ory`]: sessions (whoami, cache), tokens (ES256 JWT, reuse) and signing keys;
//! - [`http`]: the wire — listener, connections, heads, bodies, writing responses; its own
//!   error type, nothing of Ory;
//! - [`rewrite`]: `Set-Cookie`, `Location` and Ory bodies on the way back;
//! - [`obs`]: logs, metrics and health checks;
//! - [`config`]: raw flags validated into a [`config::Config`] and its small types;
//! - [`policy`]: CORS, hop-by-hop and forwarding headers, origins, protected paths (pure);
//! - at the bottom [`error`], [`status`], [`random`], `locks`, and [`sys`], where all `unsafe`
//!   code lives.
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
