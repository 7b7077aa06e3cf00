//! Token reuse: a signed token is sent again, instead of a new one minted, while more than half
//! of its lifetime is left.
//!
//! Signing an ES256 token costs more than the rest of a cached request, and an upstream that
//! sees the same token on a page and its assets can cache its own verification. A token is
//! reused only for the very same session: with the session cache on, it lives in the cache
//! entry ([`TokenSlot`]); with the cache off, Ory is asked on every request and the token is
//! remembered by the SHA-256 of the session body Ory answered ([`TokenMemo`]), so any change
//! of the session (a new AAL, traits, expiry) gets a fresh token.
//!
//! A token is also reused only while the key that signed it is still the signing key: after a
//! key reload (SIGHUP) that moves another key first or drops the old one, the next request gets
//! a token the new key signed, so no token signed by a key that may no longer be published is
//! ever handed out again.

use crate::error::Error;
use crate::locks::{lock, read, write};
use crate::ory::cache_key::Key;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// Session bodies whose token is remembered when the session cache is off.
pub const TOKEN_MEMO_ENTRIES: usize = 1024;

/// A minted token, ready to be sent: `Bearer <jwt>`.
#[derive(Debug, Clone)]
struct Minted {
    header: Arc<str>,
    /// `iat` in Unix seconds.
    issued_at: u64,
    /// The signing key's identity ([`crate::ory::jwt::KeySet::signer`]).
    signer: Arc<str>,
}

impl Minted {
    /// A fresh token from `mint(now)`. Signing happens outside any lock; two threads may both
    /// mint at the turn of a half life, and the later token simply wins.
    fn mint(
        now: u64,
        signer: &Arc<str>,
        mint: impl FnOnce(u64) -> Result<String, Error>,
    ) -> Result<Minted, Error> {
        Ok(Minted {
            header: format!("Bearer {}", mint(now)?).into(),
            issued_at: now,
            signer: Arc::clone(signer),
        })
    }

    /// The header while more than half of the token's lifetime is left at `now` and `signer`
    /// is still the key that signed it.
    fn reusable(&self, now: u64, ttl_secs: u64, signer: &str) -> Option<Arc<str>> {
        (still_fresh(self.issued_at, now, ttl_secs) && *self.signer == *signer)
            .then(|| Arc::clone(&self.header))
    }
}

/// Whether a token issued at `issued_at` with lifetime `ttl_secs` has more than half of it left.
pub fn still_fresh(issued_at: u64, now: u64, ttl_secs: u64) -> bool {
    // now - iat < ttl/2, in integers: 2·(now - iat) < ttl.
    now >= issued_at && 2 * (now - issued_at) < ttl_secs
}

/// The token of one cached session.
#[derive(Debug, Default)]
pub struct TokenSlot(RwLock<Option<Minted>>);

impl TokenSlot {
    /// The `Authorization` value for this session: the remembered token while more than half of
    /// its lifetime (`ttl_secs`) is left at `now` (Unix seconds) and it was signed by `signer`,
    /// otherwise a fresh one from `mint(now)` (which must sign with `signer`), then remembered.
    pub fn token_header(
        &self,
        now: u64,
        ttl_secs: u64,
        signer: &Arc<str>,
        mint: impl FnOnce(u64) -> Result<String, Error>,
    ) -> Result<Arc<str>, Error> {
        if let Some(header) = read(&self.0)
            .as_ref()
            .and_then(|m| m.reusable(now, ttl_secs, signer))
        {
            return Ok(header);
        }
        let minted = Minted::mint(now, signer, mint)?;
        let header = Arc::clone(&minted.header);
        *write(&self.0) = Some(minted);
        Ok(header)
    }
}

/// Token reuse when the session cache is off: Ory is asked on every request, and when it answers
/// with the very same session body, the token minted for that body is reused while more than
/// half of its lifetime is left. Keyed by the SHA-256 of the body; bounded.
pub struct TokenMemo {
    max_entries: usize,
    tokens: Mutex<HashMap<Key, Minted>>,
}

impl TokenMemo {
    pub fn new(max_entries: usize) -> TokenMemo {
        TokenMemo {
            max_entries: max_entries.max(1),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Like [`TokenSlot::token_header`], keyed by the session body.
    pub fn token_header(
        &self,
        session_json: &str,
        now: u64,
        ttl_secs: u64,
        signer: &Arc<str>,
        mint: impl FnOnce(u64) -> Result<String, Error>,
    ) -> Result<Arc<str>, Error> {
        let key: Key = Sha256::digest(session_json.as_bytes()).into();
        if let Some(header) = lock(&self.tokens)
            .get(&key)
            .and_then(|m| m.reusable(now, ttl_secs, signer))
        {
            return Ok(header);
        }
        let minted = Minted::mint(now, signer, mint)?;
        let header = Arc::clone(&minted.header);
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= self.max_entries {
            tokens.retain(|_, m| still_fresh(m.issued_at, now, ttl_secs));
            if tokens.len() >= self.max_entries {
                tokens.clear();
            }
        }
        tokens.insert(key, minted);
        Ok(header)
    }

    /// How many tokens are remembered (for tests of the bound).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        lock(&self.tokens).len()
    }
}
