//! The session cache: who a set of credentials belongs to, remembered for a few seconds.
//!
//! Asking Ory on every request is what makes page assets hammer the identity server, so a
//! whoami answer is kept for `--session-cache-ttl` (default 5 s) and shared by every request that
//! carries the same credentials. What it must guarantee:
//!
//! - **Keyed without storing secrets.** Entries are found by a SHA-256 of the credentials and
//!   evicted on logout by hashes of their single parts; the raw cookies are never kept (see
//!   `cache_key`).
//! - **Never stale past the session.** An entry lives for the TTL, but never past the session's
//!   `expires_at`; an anonymous answer (401/403/inactive) lives at most [`NEGATIVE_TTL_MAX`].
//!   Failures (5xx, 429, timeouts) are never cached.
//! - **Bounded.** At most `max_entries` entries and about `max_bytes` bytes, spread over
//!   [`SHARDS`] independently locked shards. A full shard first drops expired entries, then the
//!   least recently used eighth.
//! - **A hit takes no exclusive lock.** Shards and token slots are read-write locks, and a hit
//!   writes nothing when its entry is already the shard's most recently used one: with every
//!   connection serving the same signed-in user (a page and its assets), a mutex here was a convoy.
//! - **One lookup per key at a time.** Concurrent misses for one key elect a leader that asks
//!   Ory; the others wait for its answer (or its error) instead of stampeding Ory.
//! - **Logout is immediate.** [`SessionCache::evict_matching`] drops every entry that shares a
//!   credential part with a logout request, and bumps an epoch so that a lookup that was already
//!   in flight when the logout passed does not put the old session back.
//!
//! Each entry also carries the token minted for it ([`Cached::token_header`]), reused while more
//! than half of its lifetime is left (see `token_reuse`, which also covers the case of
//! the cache being off).

mod shard;
#[cfg(test)]
mod tests;

use crate::error::Error;
use crate::locks::{read, write};
use crate::ory::cache_key::{key_of, parts_of, Key};
use crate::ory::session::{Credentials, Lookup};
use shard::{entry_size, Entry, Flight, Shard};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use shard::{entry_ttl, Cached, NEGATIVE_TTL_MAX};

/// Number of independently locked shards.
pub const SHARDS: usize = 16;
/// Default cap on entries (all shards together).
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Default cap on the memory held by entries (all shards together), in bytes.
pub const DEFAULT_MAX_BYTES: usize = 32 << 20;
/// What a caller gets: the shared answer, and the cookies Ory set (only for the request whose
/// lookup produced them; hits and waiters get none).
pub struct Fetched {
    pub cached: Arc<Cached>,
    pub set_cookies: Vec<String>,
}

/// The session cache. See the module documentation.
pub struct SessionCache {
    ttl: Duration,
    shard_max_entries: usize,
    shard_max_bytes: usize,
    shards: Box<[RwLock<Shard>]>,
    /// Bumped by every logout; a lookup that saw another epoch at its start is not stored.
    epoch: AtomicU64,
}

impl SessionCache {
    /// A cache with the default caps. `ttl` must not be zero (a zero TTL means no cache at all).
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache::with_caps(ttl, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES)
    }

    /// A cache holding at most `max_entries` entries and about `max_bytes` bytes.
    pub fn with_caps(ttl: Duration, max_entries: usize, max_bytes: usize) -> SessionCache {
        SessionCache {
            ttl,
            shard_max_entries: max_entries.div_ceil(SHARDS).max(1),
            shard_max_bytes: (max_bytes / SHARDS).max(1),
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            epoch: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &Key) -> &RwLock<Shard> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    /// The answer for `creds`: from the cache, from a concurrent lookup of the same key, or from
    /// `lookup` (called at most once, by the leader of a miss).
    pub fn get_or_lookup(
        &self,
        creds: &Credentials<'_>,
        lookup: impl FnOnce() -> Result<Lookup, Error>,
    ) -> Result<Fetched, Error> {
        let key = key_of(creds);
        let shard = self.shard(&key);
        let now = Instant::now();
        if let Some(cached) = read(shard).hit(&key, now) {
            return Ok(Fetched {
                cached,
                set_cookies: Vec::new(),
            });
        }
        let flight = {
            let mut s = write(shard);
            // Looked up again: another thread may have stored it since the read above.
            if let Some(cached) = s.hit(&key, now) {
                return Ok(Fetched {
                    cached,
                    set_cookies: Vec::new(),
                });
            }
            s.remove(&key);
            if let Some(f) = s.in_flight.get(&key) {
                let f = Arc::clone(f);
                drop(s);
                return f.wait().map(|cached| Fetched {
                    cached,
                    set_cookies: Vec::new(),
                });
            }
            let f = Arc::new(Flight {
                result: Mutex::new(None),
                done: Condvar::new(),
            });
            s.in_flight.insert(key, Arc::clone(&f));
            f
        };
        // The guard ends the flight even if `lookup` panics, so no waiter is left hanging.
        let guard = Leader {
            cache: self,
            key,
            flight,
        };
        let epoch = self.epoch.load(Ordering::Acquire);
        match lookup() {
            Ok(l) => {
                let cached = Arc::new(Cached::new(l.session));
                let ttl = entry_ttl(
                    &cached.session,
                    self.ttl,
                    crate::obs::timefmt::unix_now_f64(),
                );
                {
                    let mut s = write(shard);
                    s.in_flight.remove(&key);
                    if !ttl.is_zero() && self.epoch.load(Ordering::Acquire) == epoch {
                        let size = entry_size(&cached.session);
                        if size <= self.shard_max_bytes {
                            s.make_room(now, self.shard_max_entries, self.shard_max_bytes, size);
                            let entry = Entry {
                                value: Arc::clone(&cached),
                                expires: now + ttl,
                                last_used: AtomicU64::new(s.tick()),
                                size,
                                parts: parts_of(creds).into_boxed_slice(),
                            };
                            s.bytes += size;
                            if let Some(old) = s.entries.insert(key, entry) {
                                s.bytes -= old.size;
                            }
                        }
                    }
                }
                guard.flight.finish(Ok(Arc::clone(&cached)));
                Ok(Fetched {
                    cached,
                    set_cookies: l.set_cookies,
                })
            }
            Err(e) => {
                guard.flight.finish(Err(e.clone()));
                Err(e)
            }
        }
    }

    /// Drops every entry that shares a credential part (a cookie pair, the token or the bearer)
    /// with `creds`, and keeps lookups already in flight from storing their answer. Returns how
    /// many entries went.
    pub fn evict_matching(&self, creds: &Credentials<'_>) -> usize {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let parts = parts_of(creds);
        if parts.is_empty() {
            return 0;
        }
        let mut evicted = 0;
        for shard in self.shards.iter() {
            let mut s = write(shard);
            let before = s.entries.len();
            let mut freed = 0;
            s.entries.retain(|_, e| {
                let hit = e.parts.iter().any(|p| parts.contains(p));
                if hit {
                    freed += e.size;
                }
                !hit
            });
            s.bytes -= freed;
            evicted += before - s.entries.len();
        }
        evicted
    }

    /// Entries currently held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).entries.len()).sum()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate bytes held by entries.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| read(s).bytes).sum()
    }
}

/// Ends a flight when the leader leaves, whatever way it leaves.
struct Leader<'a> {
    cache: &'a SessionCache,
    key: Key,
    flight: Arc<Flight>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        // Normally already finished; after a panic in `lookup` this frees the waiters.
        self.flight
            .finish(Err(Error::Internal("session lookup abandoned".into())));
        let mut s = write(self.cache.shard(&self.key));
        if s.in_flight
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            s.in_flight.remove(&self.key);
        }
    }
}
