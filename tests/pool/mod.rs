//! Kept upstream connections that cannot desynchronise (issue 15): nothing an upstream (or Ory)
//! writes outside an answer to a request may reach the next user, a timed-out request is never
//! sent twice, and an idle connection the upstream closed costs one quiet resend.
//!
//! The upstream here is [`raw::RawUpstream`], written byte by byte so it can misbehave the way
//! real applications do (a late second answer, a body longer than its `Content-Length`, a 408
//! on an idle connection, a body after HEAD/204/304). Every stray answer it writes carries
//! [`INJECTED`] and the cookie `ory_kratos_session=ATTACKERS-SESSION`: neither may ever reach a client. After each
//! misbehaviour, [`assert_everyone_gets_their_own`] sends requests as three signed-in users and
//! an anonymous one and checks both ends: each client gets the answer to its own path, and the
//! upstream saw each path once, with a token for the right identity (or none).

mod concurrent;
mod external;
pub mod raw;
mod resend;
mod stray;
mod whoami;

use crate::util::jwt::{fetch_jwks, verify_with_jwks};
use crate::util::{FakeOry, ProxyProcess, Req, TestSession};
use raw::RawUpstream;
use serde_json::Value;
use std::time::Duration;

/// In every stray answer's body: must never reach a client.
pub const INJECTED: &str = "INJECTED";
/// A whole second response, as a misbehaving upstream writes it.
pub const STRAY_RESPONSE: &str = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\
     Set-Cookie: ory_kratos_session=ATTACKERS-SESSION\r\n\r\nINJECTED";
/// The WARN line's words.
pub const STRAY_WARNING: &str = "sent bytes nobody asked for";

/// Three signed-in users, the raw upstream and the proxy in front (of the fake Ory, or of
/// another identity server).
pub struct PoolStack {
    pub proxy: ProxyProcess,
    pub upstream: RawUpstream,
    pub users: Vec<TestSession>,
    jwks: Value,
    _ory: Option<FakeOry>,
}

/// The three users' names.
pub const USERS: [&str; 3] = ["alice", "bob", "carol"];

impl PoolStack {
    /// With the fake Ory.
    pub fn start(extra: &[&str]) -> PoolStack {
        let ory = FakeOry::start();
        let users = USERS
            .iter()
            .map(|u| ory.create_session(&format!("{u}@example.org")))
            .collect();
        PoolStack::with_ory(&ory.url(), users, Some(ory), extra)
    }

    /// With the identity server at `ory_url`, which knows `users`.
    pub fn with_ory(
        ory_url: &str,
        users: Vec<TestSession>,
        fake: Option<FakeOry>,
        extra: &[&str],
    ) -> PoolStack {
        let upstream = RawUpstream::start();
        let proxy = ProxyProcess::start(&upstream.url(), ory_url, extra);
        let jwks = fetch_jwks(&proxy);
        PoolStack {
            proxy,
            upstream,
            users,
            jwks,
            _ory: fake,
        }
    }

    /// `GET path` through the proxy, as `user` (`None`: anonymous); asserts the answer is the
    /// upstream's echo of this very path and carries nothing stray.
    pub fn get_own(&self, path: &str, user: Option<&TestSession>) -> Value {
        let mut req = Req::get(&self.proxy.url(path));
        if let Some(u) = user {
            req = req.header("Cookie", &u.cookie());
        }
        let r = req.send();
        assert_clean(r.status, &r.text(), &r.header_all("set-cookie").join("\n"));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let echo = r.json();
        assert_eq!(echo["path"], path, "answer to another request: {echo}");
        echo
    }

    /// Checks at the upstream that `path` arrived exactly once, with a token for `user` (or
    /// without one when anonymous).
    pub fn assert_seen_as(&self, path: &str, user: Option<&TestSession>) {
        let seen: Vec<_> = self
            .upstream
            .seen()
            .into_iter()
            .filter(|s| s.path == path)
            .collect();
        assert_eq!(seen.len(), 1, "{path} reached the upstream {seen:?}");
        self.assert_identity(&seen[0].authorization, user, path);
    }

    /// The `Authorization` a request carried belongs to `user` (none for anonymous).
    pub fn assert_identity(
        &self,
        authorization: &Option<String>,
        user: Option<&TestSession>,
        what: &str,
    ) {
        match (authorization, user) {
            (None, None) => {}
            (Some(a), Some(u)) => {
                let token = a
                    .strip_prefix("Bearer ")
                    .unwrap_or_else(|| panic!("{what}: not a bearer token: {a}"));
                let claims = verify_with_jwks(&self.jwks, token).claims;
                assert_eq!(claims["sub"], u.identity_id.as_str(), "{what}: {claims}");
            }
            (a, u) => panic!(
                "{what}: authorization {a:?} for user {:?}",
                u.map(|u| &u.email)
            ),
        }
    }

    /// How many WARN lines about stray bytes the proxy wrote.
    pub fn stray_warnings(&self) -> usize {
        self.proxy
            .stderr()
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(STRAY_WARNING))
            .count()
    }
}

/// Nothing stray in an answer: neither the injected body nor the attacker's cookie.
pub fn assert_clean(status: u16, body: &str, set_cookies: &str) {
    assert!(
        !body.contains(INJECTED),
        "{status}: stray answer reached a client: {body}"
    );
    assert!(
        !set_cookies.contains("ATTACKERS-SESSION"),
        "{status}: the attacker's cookie reached a client: {set_cookies}"
    );
}

/// After a misbehaviour: `rounds` times, each of the three users and an anonymous client ask
/// for their own path, one after another (so each takes the most recently kept connection);
/// every answer and every upstream request must be their own.
pub fn assert_everyone_gets_their_own(stack: &PoolStack, tag: &str, rounds: usize) {
    assert_everyone_paced(stack, tag, rounds, Duration::ZERO);
}

/// Like [`assert_everyone_gets_their_own`], with `pause` after each request. A stray answer
/// that arrives after the next request was written is indistinguishable from its answer (to any
/// HTTP/1.1 client); tests of a late stray pause past its arrival so they test the checks.
pub fn assert_everyone_paced(stack: &PoolStack, tag: &str, rounds: usize, pause: Duration) {
    let who: Vec<Option<&TestSession>> = std::iter::once(None)
        .chain(stack.users.iter().map(Some))
        .collect();
    for round in 0..rounds {
        for (i, user) in who.iter().enumerate() {
            let path = format!("/own/{tag}/{round}/{i}");
            stack.get_own(&path, *user);
            stack.assert_seen_as(&path, *user);
            std::thread::sleep(pause);
        }
    }
}
