//! A well-behaved upstream under a concurrent mixed load: anonymous and three signed-in users on
//! several client threads, kept-alive client connections and one-request ones, `Content-Length`
//! and chunked answers. Not one answer may go to the wrong client and not one request may reach
//! the upstream with another user's token.

use super::PoolStack;
use crate::util::client::agent;
use crate::util::TestSession;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::collections::HashMap;
use std::thread;

const THREADS: usize = 8;
const PER_THREAD: usize = 260;

/// The `sub` of a bearer token (its signature is checked for a sample in `PoolStack`; here only
/// whose it is matters).
fn sub_of(authorization: Option<&str>) -> Option<String> {
    let token = authorization?.strip_prefix("Bearer ")?;
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    claims["sub"].as_str().map(str::to_owned)
}

/// The user a request is sent as: 0 anonymous, 1..=3 the users.
fn user_of(users: &[TestSession], who: usize) -> Option<&TestSession> {
    who.checked_sub(1).map(|i| &users[i])
}

#[test]
fn two_thousand_mixed_requests_each_get_their_own_answer_and_token() {
    let stack = PoolStack::start(&[]);
    let base = stack.proxy.url("");
    let wrong = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (stack, base) = (&stack, base.clone());
                s.spawn(move || {
                    // Even threads keep their client connection; odd ones open one per request.
                    let kept = agent();
                    let mut wrong = Vec::new();
                    for i in 0..PER_THREAD {
                        let who = (t + i) % 4;
                        let user = user_of(&stack.users, who);
                        let kind = if i % 3 == 0 { "chunked" } else { "plain" };
                        let path = format!("/{kind}/{t}/{i}/{who}");
                        let mut req = ureq::http::Request::get(format!("{base}{path}"));
                        if let Some(u) = user {
                            req = req.header("Cookie", u.cookie());
                        }
                        let agent = if t % 2 == 0 { kept.clone() } else { agent() };
                        let mut r = agent.run(req.body(()).unwrap()).expect("request");
                        let body = r.body_mut().read_to_string().expect("body");
                        let echo: Value = serde_json::from_str(&body)
                            .unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
                        let sub = sub_of(echo["authorization"].as_str());
                        if echo["path"] != path.as_str()
                            || sub != user.map(|u| u.identity_id.clone())
                        {
                            wrong.push(format!("{path} got {body}"));
                        }
                    }
                    wrong
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect::<Vec<_>>()
    });
    assert!(wrong.is_empty(), "{} wrong answers: {wrong:?}", wrong.len());
    // The upstream's side: every path once, with its own user's token.
    let seen = stack.upstream.seen();
    assert_eq!(seen.len(), THREADS * PER_THREAD);
    let mut by_path = HashMap::new();
    for s in &seen {
        assert!(
            by_path.insert(s.path.clone(), s).is_none(),
            "twice: {}",
            s.path
        );
        let who: usize = s.path.rsplit('/').next().unwrap().parse().unwrap();
        let want = user_of(&stack.users, who).map(|u| u.identity_id.clone());
        assert_eq!(sub_of(s.authorization.as_deref()), want, "{}", s.path);
    }
    // A sample of the tokens verifies against the proxy's keys.
    for who in 0..4 {
        let s = seen
            .iter()
            .find(|s| s.path.ends_with(&format!("/{who}")))
            .unwrap();
        stack.assert_identity(&s.authorization, user_of(&stack.users, who), &s.path);
    }
    // Kept connections were really reused (far fewer than one per request).
    let connections = seen.iter().map(|s| s.conn).max().unwrap() + 1;
    assert!(
        connections < seen.len() / 4,
        "{connections} upstream connections"
    );
}
