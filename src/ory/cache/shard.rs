//! What the cache holds: the shared answers ([`Cached`]), one shard's entries with their use
//! counts and sizes, the eviction that keeps a shard under its caps, the lookups in flight, and
//! how long an answer may live. [`super::SessionCache`] picks the shard and does the locking.

use crate::error::Error;
use crate::locks::lock;
use crate::ory::cache_key::{Key, Part};
use crate::ory::session::Session;
use crate::ory::token_reuse::TokenSlot;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The longest an anonymous answer is remembered.
pub const NEGATIVE_TTL_MAX: Duration = Duration::from_secs(1);

/// A remembered whoami answer, shared by every request with the same credentials.
#[derive(Debug)]
pub struct Cached {
    pub session: Session,
    token: TokenSlot,
    /// The `--identity-header` fields read out of the session, worked out once per answer.
    identity: OnceLock<Arc<[(String, String)]>>,
}

impl Cached {
    pub fn new(session: Session) -> Cached {
        Cached {
            session,
            token: TokenSlot::default(),
            identity: OnceLock::new(),
        }
    }

    /// The identity fields for this session: `read` runs on the first call only, so a cached
    /// session's JSON is parsed once, not per request.
    pub fn identity_headers(
        &self,
        read: impl FnOnce() -> Arc<[(String, String)]>,
    ) -> Arc<[(String, String)]> {
        Arc::clone(self.identity.get_or_init(read))
    }

    /// The `Authorization` value for this session (see `TokenSlot::token_header`).
    pub fn token_header(
        &self,
        now: u64,
        ttl_secs: u64,
        signer: &Arc<str>,
        mint: impl FnOnce(u64) -> Result<String, Error>,
    ) -> Result<Arc<str>, Error> {
        self.token.token_header(now, ttl_secs, signer, mint)
    }
}

#[derive(Default)]
pub(super) struct Shard {
    pub(super) entries: HashMap<Key, Entry>,
    pub(super) in_flight: HashMap<Key, Arc<Flight>>,
    /// Use counter for least-recently-used eviction (bumped under the read lock too).
    clock: AtomicU64,
    pub(super) bytes: usize,
}

pub(super) struct Entry {
    pub(super) value: Arc<Cached>,
    pub(super) expires: Instant,
    pub(super) last_used: AtomicU64,
    pub(super) size: usize,
    pub(super) parts: Box<[Part]>,
}

/// One lookup in progress, awaited by the concurrent misses for its key.
pub(super) struct Flight {
    pub(super) result: Mutex<Option<Result<Arc<Cached>, Error>>>,
    pub(super) done: Condvar,
}

impl Flight {
    pub(super) fn finish(&self, result: Result<Arc<Cached>, Error>) {
        let mut slot = lock(&self.result);
        if slot.is_none() {
            *slot = Some(result);
        }
        self.done.notify_all();
    }

    pub(super) fn wait(&self) -> Result<Arc<Cached>, Error> {
        let mut slot = lock(&self.result);
        loop {
            if let Some(r) = slot.as_ref() {
                return r.clone();
            }
            slot = self.done.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Shard {
    /// The entry for `key` if it is still fresh at `now`, marked as used.
    pub(super) fn hit(&self, key: &Key, now: Instant) -> Option<Arc<Cached>> {
        let e = self.entries.get(key).filter(|e| e.expires > now)?;
        // Only write when another entry was used since: the hot entry stays read-only.
        if e.last_used.load(Ordering::Relaxed) != self.clock.load(Ordering::Relaxed) {
            e.last_used.store(self.tick(), Ordering::Relaxed);
        }
        Some(Arc::clone(&e.value))
    }

    /// The next use count.
    pub(super) fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(super) fn remove(&mut self, key: &Key) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= old.size;
        }
    }

    /// Makes room for one more entry of `incoming` bytes: drops expired entries, then the least
    /// recently used eighth, until both caps hold.
    pub(super) fn make_room(
        &mut self,
        now: Instant,
        max_entries: usize,
        max_bytes: usize,
        incoming: usize,
    ) {
        let fits = |s: &Shard| s.entries.len() < max_entries && s.bytes + incoming <= max_bytes;
        if fits(self) {
            return;
        }
        self.retain(|e| e.expires > now);
        while !fits(self) && !self.entries.is_empty() {
            let mut uses: Vec<u64> = self
                .entries
                .values()
                .map(|e| e.last_used.load(Ordering::Relaxed))
                .collect();
            let n = (uses.len() / 8).max(1);
            let (_, &mut threshold, _) = uses.select_nth_unstable(n - 1);
            self.retain(|e| e.last_used.load(Ordering::Relaxed) > threshold);
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        let mut freed = 0;
        self.entries.retain(|_, e| {
            let k = keep(e);
            if !k {
                freed += e.size;
            }
            k
        });
        self.bytes -= freed;
    }
}

/// How long an answer may be remembered: the TTL for an active session, but never past its
/// `expires_at` (`now` in Unix seconds); at most [`NEGATIVE_TTL_MAX`] for an anonymous answer.
pub fn entry_ttl(session: &Session, ttl: Duration, now: f64) -> Duration {
    match session {
        Session::Anonymous => ttl.min(NEGATIVE_TTL_MAX),
        Session::Active(a) => match a.expires_at {
            None => ttl,
            Some(expires_at) => {
                let left = expires_at as f64 - now;
                if left <= 0.0 {
                    Duration::ZERO
                } else {
                    ttl.min(Duration::from_secs_f64(left))
                }
            }
        },
    }
}

/// Approximate memory of an entry: the session body, the token minted from it (base64 of about
/// the same bytes), and bookkeeping.
pub(super) fn entry_size(session: &Session) -> usize {
    match session {
        Session::Anonymous => 256,
        Session::Active(a) => 2 * a.json.len() + 2 * a.identity_id.len() + 768,
    }
}
