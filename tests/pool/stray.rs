//! An upstream that writes bytes outside an answer: the shapes of issue 15. Each runs twice (one
//! WARN for the upstream, not one per occurrence), then everyone gets their own answer.

use super::{assert_clean, assert_everyone_gets_their_own, PoolStack, STRAY_WARNING};
use crate::util::Req;
use std::thread;
use std::time::Duration;

/// Long enough for a stray write that follows an answer by 50 ms to have arrived.
const SETTLE: Duration = Duration::from_millis(250);

/// Runs `misbehave` twice as Alice, then checks the later clients and the single WARN.
fn after(shape: &str, misbehave: impl Fn(&PoolStack, usize)) {
    let stack = PoolStack::start(&[]);
    // A kept connection to start from, so the misbehaviour happens on a reused one too.
    assert_everyone_gets_their_own(&stack, &format!("{shape}-before"), 1);
    for i in 0..2 {
        misbehave(&stack, i);
        thread::sleep(SETTLE);
        assert_everyone_gets_their_own(&stack, &format!("{shape}-{i}"), 3);
    }
    stack
        .proxy
        .wait_for_log(|l| l.contains("WARN") && l.contains(STRAY_WARNING));
    assert_eq!(stack.stray_warnings(), 1, "{}", stack.proxy.stderr());
    let warning = stack.proxy.wait_for_log(|l| l.contains(STRAY_WARNING));
    assert!(
        warning.contains(&stack.upstream.url()),
        "names the upstream: {warning}"
    );
}

#[test]
fn a_late_second_answer_reaches_nobody() {
    after("late", |stack, i| {
        let echo = stack.get_own(&format!("/late/{i}"), Some(&stack.users[0]));
        stack.assert_identity(
            &echo["authorization"].as_str().map(str::to_owned),
            Some(&stack.users[0]),
            "late",
        );
    });
}

#[test]
fn an_answer_longer_than_its_content_length_is_cut_and_its_rest_reaches_nobody() {
    after("long", |stack, i| {
        stack.get_own(&format!("/long/{i}"), Some(&stack.users[0]));
    });
}

#[test]
fn a_408_on_an_idle_kept_connection_reaches_nobody() {
    after("408", |stack, i| {
        stack.get_own(&format!("/408/{i}"), Some(&stack.users[0]));
    });
}

/// Sends a request whose answer has no body and asserts that none reached the client.
fn bodiless(stack: &PoolStack, method: &str, path: &str, status: u16) {
    let r = Req::new(method, &stack.proxy.url(path))
        .header("Cookie", &stack.users[0].cookie())
        .send();
    assert_clean(r.status, &r.text(), &r.header_all("set-cookie").join("\n"));
    assert_eq!(r.status, status, "{method} {path}: {}", r.text());
    assert!(r.body.is_empty(), "{method} {path}: body {:?}", r.text());
    let seen: Vec<_> = stack
        .upstream
        .seen()
        .into_iter()
        .filter(|s| s.path == path)
        .collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, method);
}

#[test]
fn a_body_after_a_204_reaches_nobody() {
    after("204", |stack, i| {
        bodiless(stack, "GET", &format!("/no-content/{i}"), 204)
    });
}

#[test]
fn a_body_after_a_304_reaches_nobody() {
    after("304", |stack, i| {
        bodiless(stack, "GET", &format!("/not-modified/{i}"), 304)
    });
}

#[test]
fn a_body_after_a_head_answer_reaches_nobody() {
    after("head", |stack, i| {
        bodiless(stack, "HEAD", &format!("/head/{i}"), 200)
    });
}
