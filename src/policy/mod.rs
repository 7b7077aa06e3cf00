//! Decisions that are pure functions of configuration and headers: CORS, hop-by-hop and
//! forwarding headers, trusted proxies, origins, protected routes, and identity headers.

pub mod cors;
pub mod forwarded;
pub mod headers;
pub mod identity;
pub mod origin;
pub mod origin_pattern;
pub mod paths;
pub mod protect;
