//! The session cache, token reuse and connection reuse (issue 5), counted on the wire: whoami
//! calls at the fake identity server, connections at the echo upstream, tokens verified with the
//! served JWKS.

use crate::util::proxy::bearer_of;
use crate::util::Stack;
use crate::util::{jwt, raw_exchange, rfc3339, unix_now, Req};
use crate::util::{wait_until, Whoami};
use std::time::Duration;

fn setup(extra: &[&str]) -> Stack {
    Stack::start(extra)
}

/// `GET path` with this cookie; returns the bearer token the upstream received (if any).
fn get_with_cookie(s: &Stack, path: &str, cookie: &str) -> Option<String> {
    let before = s.upstream.request_count();
    let r = Req::get(&s.proxy.url(path)).header("Cookie", cookie).send();
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = s.upstream.wait_for_requests(before + 1);
    bearer_of(&seen[before])
}

#[test]
fn requests_within_the_ttl_make_one_whoami_call_and_share_one_token() {
    let s = setup(&[]);
    let session = s.ory.create_session("alice@example.org");
    let mut tokens = Vec::new();
    for i in 0..20 {
        tokens.push(get_with_cookie(&s, &format!("/page/{i}"), &session.cookie()).unwrap());
    }
    assert_eq!(s.ory.whoami_calls(), 1, "one lookup for 20 requests");
    // Token reuse: minted once, more than half of its 60 s lifetime is left throughout.
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token reused");
    let v = jwt::verify(&s.proxy, &tokens[0]);
    assert_eq!(v.claims["sub"], session.identity_id);
    assert_eq!(
        v.claims["exp"].as_i64().unwrap() - v.claims["iat"].as_i64().unwrap(),
        60
    );

    // Another user's credentials are another entry.
    let bob = s.ory.create_session("bob@example.org");
    let t = get_with_cookie(&s, "/", &bob.cookie()).unwrap();
    assert_eq!(jwt::verify(&s.proxy, &t).claims["sub"], bob.identity_id);
    assert_eq!(s.ory.whoami_calls(), 2);
}

#[test]
fn ttl_zero_asks_ory_every_time_and_jwt_ttl_sets_the_lifetime() {
    let s = setup(&["--session-cache-ttl", "0", "--jwt-ttl", "10s"]);
    let session = s.ory.create_session("alice@example.org");
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(get_with_cookie(&s, "/", &session.cookie()).unwrap());
    }
    assert_eq!(s.ory.whoami_calls(), 10, "no cache: one lookup per request");
    let v = jwt::verify(&s.proxy, &tokens[9]);
    assert_eq!(
        v.claims["exp"].as_i64().unwrap() - v.claims["iat"].as_i64().unwrap(),
        10
    );
    // Revocation is seen on the very next request.
    s.ory.revoke(&session);
    assert_eq!(get_with_cookie(&s, "/", &session.cookie()), None);
    assert_eq!(s.ory.whoami_calls(), 11);
}

#[test]
fn entries_expire_after_the_ttl_and_never_outlive_the_session() {
    // 2 s: two requests on a loaded machine (the suite runs load tests alongside) must fit.
    let s = setup(&["--session-cache-ttl", "2s"]);
    let session = s.ory.create_session("alice@example.org");
    get_with_cookie(&s, "/", &session.cookie()).unwrap();
    get_with_cookie(&s, "/", &session.cookie()).unwrap();
    assert_eq!(s.ory.whoami_calls(), 1);
    std::thread::sleep(Duration::from_millis(2500));
    get_with_cookie(&s, "/", &session.cookie()).unwrap();
    assert_eq!(s.ory.whoami_calls(), 2, "asked again after the TTL");

    // A session that expires in 2 s is not served from a 60 s cache past its expires_at.
    let s = setup(&["--session-cache-ttl", "60s"]);
    let expires = unix_now() + 2;
    let short = s.ory.create_session_with("carol@example.org", |body| {
        body["expires_at"] = serde_json::json!(rfc3339(expires));
    });
    get_with_cookie(&s, "/", &short.cookie()).unwrap();
    get_with_cookie(&s, "/", &short.cookie()).unwrap();
    assert_eq!(s.ory.whoami_calls(), 1);
    wait_until("the session's expires_at", || {
        (unix_now() > expires).then_some(())
    });
    s.ory.revoke(&short);
    assert_eq!(get_with_cookie(&s, "/", &short.cookie()), None);
    assert_eq!(
        s.ory.whoami_calls(),
        2,
        "asked again once the session expired"
    );
}

#[test]
fn anonymous_answers_are_cached_briefly() {
    let s = setup(&[]);
    let unknown = "ory_kratos_session=not-a-session";
    assert_eq!(get_with_cookie(&s, "/", unknown), None);
    assert_eq!(get_with_cookie(&s, "/", unknown), None);
    assert_eq!(s.ory.whoami_calls(), 1, "the 401 is remembered");
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(get_with_cookie(&s, "/", unknown), None);
    assert_eq!(s.ory.whoami_calls(), 2, "but for at most a second");
}

#[test]
fn failures_are_not_cached() {
    let s = setup(&[]);
    let session = s.ory.create_session("alice@example.org");
    s.ory.whoami_next(2, Whoami::Status(500));
    let r = Req::get(&s.proxy.url("/"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(s.ory.whoami_calls(), 2, "one retry");
    assert!(get_with_cookie(&s, "/", &session.cookie()).is_some());
    assert_eq!(s.ory.whoami_calls(), 3);
}

#[test]
fn logout_through_the_proxy_evicts_the_session_at_once() {
    let s = setup(&["--session-cache-ttl", "60s"]);
    let session = s.ory.create_session("alice@example.org");
    // The application sees the cookie on its pages; the logout request carries one more
    // cookie (as a CSRF cookie would be), so its Cookie header differs.
    let app_cookie = format!("{}; theme=dark", session.cookie());
    assert!(get_with_cookie(&s, "/", &app_cookie).is_some());
    assert!(get_with_cookie(&s, "/", &app_cookie).is_some());
    assert_eq!(s.ory.whoami_calls(), 1);

    let logout_cookie = format!("csrf_token_abc=xyz; {}", session.cookie());
    let r = Req::get(&s.proxy.url("/.ory/self-service/logout/browser"))
        .header("Cookie", &logout_cookie)
        .header("Accept", "application/json")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["logout_url"].as_str().unwrap().to_owned();
    let query = url.split_once('?').unwrap().1;
    let r = Req::get(&s.proxy.url(&format!("/.ory/self-service/logout?{query}")))
        .header("Cookie", &logout_cookie)
        .send();
    assert_eq!(r.status, 303, "{}", r.text());

    // The very next request, with the old cookie replayed, is looked up again: anonymous.
    assert_eq!(get_with_cookie(&s, "/", &app_cookie), None);
    assert_eq!(s.ory.whoami_calls(), 2);
}

#[test]
fn concurrent_misses_for_one_session_make_one_whoami_call() {
    let s = setup(&[]);
    let session = s.ory.create_session("alice@example.org");
    s.ory.set_whoami(Whoami::Slow(Duration::from_millis(500)));
    let cookie = session.cookie();
    let url = s.proxy.url("/");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    let r = Req::get(&url).header("Cookie", &cookie).send();
                    assert_eq!(r.status, 200, "{}", r.text());
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    assert_eq!(
        s.ory.whoami_calls(),
        1,
        "one lookup for 16 concurrent misses"
    );
    let seen = s.upstream.wait_for_requests(16);
    for r in &seen {
        let token = bearer_of(r).expect("every request got a token");
        assert_eq!(
            jwt::verify(&s.proxy, &token).claims["sub"],
            session.identity_id
        );
    }
}

#[test]
fn upstream_connections_are_reused() {
    let s = setup(&[]);
    let session = s.ory.create_session("alice@example.org");
    for i in 0..20 {
        let mut req = Req::get(&s.proxy.url("/"));
        if i % 2 == 0 {
            req = req.header("Cookie", &session.cookie());
        }
        let r = req.send();
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(s.upstream.request_count(), 20);
    assert_eq!(
        s.upstream.connection_count(),
        1,
        "sequential requests share one pooled upstream connection"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let s = setup(&[]);
    let answer = raw_exchange(
        s.proxy.addr,
        b"GET /first HTTP/1.1\r\nHost: app\r\n\r\n\
          GET /second HTTP/1.1\r\nHost: app\r\n\r\n\
          GET /third HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&answer);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 3, "{text}");
    // Pipelined requests may be worked on at once (the upstream can see them in any order),
    // but the answers go back in request order.
    let mut targets: Vec<String> = s
        .upstream
        .wait_for_requests(3)
        .iter()
        .map(|r| r.target.clone())
        .collect();
    targets.sort();
    assert_eq!(targets, ["/first", "/second", "/third"]);
    let at = |t: &str| {
        text.find(t)
            .unwrap_or_else(|| panic!("no echo of {t}: {text}"))
    };
    assert!(
        at("/first") < at("/second") && at("/second") < at("/third"),
        "answers in request order: {text}"
    );
}

#[test]
fn still_accepting_after_an_idle_period_longer_than_the_client_timeout() {
    // The client timeout bounds client sockets, never the listener: accepting goes on however
    // long nobody connects.
    let s = setup(&["--client-timeout", "1s"]);
    assert_eq!(Req::get(&s.proxy.url("/")).send().status, 200);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(Req::get(&s.proxy.url("/")).send().status, 200);
    assert!(!s.proxy.stderr().contains("accepting a request failed"));
}

#[test]
fn a_burst_of_keep_alive_connections_is_served_at_once() {
    // Every connection has its own thread from the moment it is accepted: none of a burst
    // waits for another to close.
    use std::io::{Read, Write};
    let s = setup(&[]);
    // All at the same moment, from as many threads, so that accept outruns thread wake-ups.
    let barrier = std::sync::Barrier::new(48);
    let mut clients: Vec<std::net::TcpStream> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..48)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    std::net::TcpStream::connect(s.proxy.addr).expect("connect")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for c in &mut clients {
        c.write_all(b"GET /burst HTTP/1.1\r\nHost: app\r\n\r\n")
            .expect("write");
    }
    let started = std::time::Instant::now();
    for (i, c) in clients.iter_mut().enumerate() {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 512];
        while head.len() < 12 {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        assert!(
            head.starts_with(b"HTTP/1.1 200"),
            "connection {i} unanswered after {:?}",
            started.elapsed()
        );
    }
    // Every connection is still open (none was closed to make room), and all were answered
    // while all stayed open.
    assert_eq!(s.upstream.wait_for_requests(48).len(), 48);
}
