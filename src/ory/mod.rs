//! Ory: who the user is (`session`, behind the `cache`), and the ES256 token that says so
//! (`jwt`, shaped by `claims`, reused by `token_reuse`, signing keys from `keyfile`, replaced
//! while running by `reload`).

pub mod cache;
mod cache_key;
pub mod claims;
pub mod jwt;
pub mod keyfile;
pub mod keys;
pub mod reload;
pub mod session;
pub(crate) mod token_reuse;
