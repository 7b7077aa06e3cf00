//! Decisions that are pure functions of configuration and headers: CORS, hop-by-hop and
//! forwarding headers, and origins.

pub mod cors;
pub mod headers;
pub mod origin;
