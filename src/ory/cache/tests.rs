//! Tests of the session cache: expiry, caps, eviction on logout, one lookup per key, and
//! token reuse through the cache.

use super::*;
use crate::ory::session::{ActiveSession, Session};
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
            aal2: false,
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
