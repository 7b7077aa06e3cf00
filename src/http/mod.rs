//! The wire: the listening sockets, one thread per client connection, request heads and
//! bodies, and writing responses. Knows bytes and sockets only — no Ory, no tokens.
//!
//! [`listener`] accepts and caps connections ([`limit`]); [`conn`] runs one connection's state
//! machine, reading heads ([`head`], [`framing`], [`target`]) through a bounded buffer
//! ([`input`]), bodies ([`body`]), and writing answers ([`response`]). The request path plugs in
//! as a [`conn::Handler`]; what goes wrong on the wire is an [`error::Error`], which the request
//! path maps to its own.

pub mod body;
pub mod conn;
pub mod error;
pub mod framing;
pub mod head;
pub mod holder;
pub mod input;
pub mod limit;
pub mod listener;
pub mod rate;
pub mod response;
pub mod stream;
pub mod target;
pub mod tls;
