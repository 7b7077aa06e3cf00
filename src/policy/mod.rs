//! Decisions that are pure functions of configuration and headers: CORS, hop-by-hop and
//! forwarding headers, origins, and protected routes.

pub mod cors;
pub mod headers;
pub mod origin;
pub mod protect;
