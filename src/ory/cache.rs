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

use crate::error::Error;
use crate::ory::cache_key::{key_of, parts_of, Key, Part};
use crate::ory::session::{Credentials, Lookup, Session};
use crate::ory::token_reuse::TokenSlot;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Number of independently locked shards.
pub const SHARDS: usize = 16;
/// Default cap on entries (all shards together).
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Default cap on the memory held by entries (all shards together), in bytes.
pub const DEFAULT_MAX_BYTES: usize = 32 << 20;
/// The longest an anonymous answer is remembered.
pub const NEGATIVE_TTL_MAX: Duration = Duration::from_secs(1);

/// A remembered whoami answer, shared by every request with the same credentials.
#[derive(Debug)]
pub struct Cached {
    pub session: Session,
    token: TokenSlot,
}

impl Cached {
    pub fn new(session: Session) -> Cached {
        Cached {
            session,
            token: TokenSlot::default(),
        }
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

#[derive(Default)]
struct Shard {
    entries: HashMap<Key, Entry>,
    in_flight: HashMap<Key, Arc<Flight>>,
    /// Use counter for least-recently-used eviction (bumped under the read lock too).
    clock: AtomicU64,
    bytes: usize,
}

struct Entry {
    value: Arc<Cached>,
    expires: Instant,
    last_used: AtomicU64,
    size: usize,
    parts: Box<[Part]>,
}

/// One lookup in progress, awaited by the concurrent misses for its key.
struct Flight {
    result: Mutex<Option<Result<Arc<Cached>, Error>>>,
    done: Condvar,
}

impl Flight {
    fn finish(&self, result: Result<Arc<Cached>, Error>) {
        let mut slot = lock(&self.result);
        if slot.is_none() {
            *slot = Some(result);
        }
        self.done.notify_all();
    }

    fn wait(&self) -> Result<Arc<Cached>, Error> {
        let mut slot = lock(&self.result);
        loop {
            if let Some(r) = slot.as_ref() {
                return r.clone();
            }
            slot = self.done.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Locks a mutex, ignoring poisoning: every critical section here leaves consistent state.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
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

impl Shard {
    /// The entry for `key` if it is still fresh at `now`, marked as used.
    fn hit(&self, key: &Key, now: Instant) -> Option<Arc<Cached>> {
        let e = self.entries.get(key).filter(|e| e.expires > now)?;
        // Only write when another entry was used since: the hot entry stays read-only.
        if e.last_used.load(Ordering::Relaxed) != self.clock.load(Ordering::Relaxed) {
            e.last_used.store(self.tick(), Ordering::Relaxed);
        }
        Some(Arc::clone(&e.value))
    }

    /// The next use count.
    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= old.size;
        }
    }

    /// Makes room for one more entry of `incoming` bytes: drops expired entries, then the least
    /// recently used eighth, until both caps hold.
    fn make_room(&mut self, now: Instant, max_entries: usize, max_bytes: usize, incoming: usize) {
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
fn entry_size(session: &Session) -> usize {
    match session {
        Session::Anonymous => 256,
        Session::Active(a) => 2 * a.json.len() + 2 * a.identity_id.len() + 768,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ory::session::ActiveSession;
    use crate::ory::token_reuse::{still_fresh, TokenMemo};
    use std::sync::atomic::AtomicUsize;

    fn creds(cookie: &str) -> Credentials<'_> {
        Credentials {
            cookie: Some(cookie),
            ..Credentials::default()
        }
    }

    fn active(expires_at: Option<i64>) -> Lookup {
        Lookup {
            session: Session::Active(ActiveSession {
                json: r#"{"active":true,"identity":{"id":"i"}}"#.into(),
                identity_id: "i".into(),
                expires_at,
            }),
            set_cookies: vec!["ory_kratos_session=new".into()],
        }
    }

    #[test]
    fn hit_within_ttl_only_first_gets_cookies() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        let lookup = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(active(None))
        };
        let first = cache.get_or_lookup(&creds("s=1"), lookup).unwrap();
        assert_eq!(first.set_cookies.len(), 1);
        for _ in 0..10 {
            let f = cache.get_or_lookup(&creds("s=1"), lookup).unwrap();
            assert!(f.set_cookies.is_empty());
            assert!(Arc::ptr_eq(&f.cached, &first.cached));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.get_or_lookup(&creds("s=2"), lookup).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn entries_expire() {
        let cache = SessionCache::new(Duration::from_millis(30));
        let calls = AtomicUsize::new(0);
        let lookup = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(active(None))
        };
        cache.get_or_lookup(&creds("s=1"), lookup).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        cache.get_or_lookup(&creds("s=1"), lookup).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn ttl_never_passes_expires_at_and_anonymous_is_brief() {
        let ttl = Duration::from_secs(5);
        let a = |e| active(e).session;
        assert_eq!(entry_ttl(&a(None), ttl, 1000.0), ttl);
        assert_eq!(entry_ttl(&a(Some(2000)), ttl, 1000.0), ttl);
        assert_eq!(
            entry_ttl(&a(Some(1002)), ttl, 1000.5),
            Duration::from_millis(1500)
        );
        assert_eq!(entry_ttl(&a(Some(1000)), ttl, 1000.0), Duration::ZERO);
        assert_eq!(entry_ttl(&a(Some(900)), ttl, 1000.0), Duration::ZERO);
        assert_eq!(
            entry_ttl(&Session::Anonymous, ttl, 0.0),
            NEGATIVE_TTL_MAX.min(ttl)
        );
        assert_eq!(
            entry_ttl(&Session::Anonymous, Duration::from_millis(300), 0.0),
            Duration::from_millis(300)
        );

        // An already expired session is not stored at all.
        let cache = SessionCache::new(ttl);
        let past = crate::obs::timefmt::unix_now() as i64 - 10;
        cache
            .get_or_lookup(&creds("s=1"), || Ok(active(Some(past))))
            .unwrap();
        assert!(cache.is_empty());
    }

    #[test]
    fn errors_are_not_cached() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            let r = cache.get_or_lookup(&creds("s=1"), || {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::SessionLookupFailed("boom".into()))
            });
            assert!(r.is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(cache.is_empty());
    }

    #[test]
    fn entry_cap_holds_and_recent_entries_survive() {
        let cache = SessionCache::with_caps(Duration::from_secs(60), SHARDS * 4, usize::MAX);
        let calls = AtomicUsize::new(0);
        let lookup = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(active(None))
        };
        let hot = "hot=1";
        for i in 0..2000 {
            let cookie = format!("s={i}");
            cache.get_or_lookup(&creds(&cookie), lookup).unwrap();
            cache.get_or_lookup(&creds(hot), lookup).unwrap();
            assert!(cache.len() <= SHARDS * 4, "{} entries", cache.len());
        }
        // The entry used all along was never the least recently used one.
        assert_eq!(calls.load(Ordering::SeqCst), 2001);
    }

    #[test]
    fn byte_cap_holds() {
        let cache = SessionCache::with_caps(Duration::from_secs(60), usize::MAX, SHARDS * 4096);
        for i in 0..500 {
            let cookie = format!("s={i}");
            cache
                .get_or_lookup(&creds(&cookie), || Ok(active(None)))
                .unwrap();
            assert!(cache.bytes() <= SHARDS * 4096, "{} bytes", cache.bytes());
        }
        assert!(cache.len() >= SHARDS, "{}", cache.len());
    }

    #[test]
    fn logout_evicts_entries_sharing_a_part() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let ok = || Ok(active(None));
        cache
            .get_or_lookup(&creds("ory_kratos_session=A; theme=dark"), ok)
            .unwrap();
        cache
            .get_or_lookup(&creds("ory_kratos_session=B"), ok)
            .unwrap();
        assert_eq!(cache.len(), 2);
        // The logout request carries another cookie set (a CSRF cookie) but the same session.
        let n = cache.evict_matching(&creds("csrf_token_x=1; ory_kratos_session=A"));
        assert_eq!(n, 1);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.evict_matching(&creds("nothing=here")), 0);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn lookup_in_flight_during_logout_is_not_stored() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache
            .get_or_lookup(&creds("s=1"), || {
                cache.evict_matching(&creds("s=1"));
                Ok(active(None))
            })
            .unwrap();
        assert!(cache.is_empty());
    }

    #[test]
    fn concurrent_misses_make_one_lookup() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        let barrier = std::sync::Barrier::new(16);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    barrier.wait();
                    let f = cache
                        .get_or_lookup(&creds("s=1"), || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            Ok(active(None))
                        })
                        .unwrap();
                    assert!(matches!(f.cached.session, Session::Active(_)));
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn waiters_share_the_leaders_error_and_a_panic_frees_them() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let barrier = std::sync::Barrier::new(2);
        let calls = AtomicUsize::new(0);
        std::thread::scope(|s| {
            let leader = s.spawn(|| {
                cache.get_or_lookup(&creds("s=1"), || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    barrier.wait();
                    std::thread::sleep(Duration::from_millis(100));
                    panic!("lookup blew up");
                })
            });
            barrier.wait();
            let waiter = cache.get_or_lookup(&creds("s=1"), || {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(active(None))
            });
            assert!(leader.join().is_err());
            // Either the waiter saw the abandoned flight, or it came late and looked up itself.
            match waiter {
                Err(e) => assert!(e.to_string().contains("abandoned"), "{e}"),
                Ok(_) => assert_eq!(calls.load(Ordering::SeqCst), 2),
            }
        });
        // The flight is gone: the next miss looks up again.
        cache
            .get_or_lookup(&creds("s=1"), || Ok(active(None)))
            .unwrap();
    }

    #[test]
    fn token_reused_while_more_than_half_its_life_is_left() {
        let cached = Cached::new(active(None).session);
        let mints = AtomicUsize::new(0);
        let mint = |now: u64| {
            mints.fetch_add(1, Ordering::SeqCst);
            Ok(format!("tok{now}"))
        };
        let k: Arc<str> = "key-a".into();
        let a = cached.token_header(1000, 60, &k, mint).unwrap();
        assert_eq!(&*a, "Bearer tok1000");
        assert_eq!(
            &*cached.token_header(1029, 60, &k, mint).unwrap(),
            "Bearer tok1000"
        );
        assert_eq!(
            &*cached.token_header(1030, 60, &k, mint).unwrap(),
            "Bearer tok1030"
        );
        assert_eq!(mints.load(Ordering::SeqCst), 2);
        assert!(still_fresh(10, 10, 1));
        assert!(!still_fresh(10, 11, 1));
        assert!(!still_fresh(10, 9, 60));

        let memo = TokenMemo::new(2);
        let x = memo.token_header("{\"a\":1}", 1000, 60, &k, mint).unwrap();
        let y = memo.token_header("{\"a\":1}", 1010, 60, &k, mint).unwrap();
        assert!(Arc::ptr_eq(&x, &y));
        memo.token_header("{\"a\":2}", 1010, 60, &k, mint).unwrap();
        memo.token_header("{\"a\":3}", 1010, 60, &k, mint).unwrap();
        assert!(memo.len() <= 2);
    }

    #[test]
    fn token_signed_by_another_key_is_never_reused() {
        // After a key reload the signing key changes: a remembered token signed by the old key
        // (which the new file may no longer publish) must give way to a fresh one.
        let cached = Cached::new(active(None).session);
        let mint = |now: u64| Ok(format!("tok{now}"));
        let (old, new): (Arc<str>, Arc<str>) = ("old".into(), "new".into());
        assert_eq!(
            &*cached.token_header(1000, 60, &old, mint).unwrap(),
            "Bearer tok1000"
        );
        assert_eq!(
            &*cached.token_header(1001, 60, &new, mint).unwrap(),
            "Bearer tok1001"
        );
        assert_eq!(
            &*cached.token_header(1002, 60, &new, mint).unwrap(),
            "Bearer tok1001"
        );
        let memo = TokenMemo::new(8);
        assert_eq!(
            &*memo.token_header("{}", 1000, 60, &old, mint).unwrap(),
            "Bearer tok1000"
        );
        assert_eq!(
            &*memo.token_header("{}", 1001, 60, &new, mint).unwrap(),
            "Bearer tok1001"
        );
        assert_eq!(
            &*memo.token_header("{}", 1002, 60, &new, mint).unwrap(),
            "Bearer tok1001"
        );
    }
}
