//! When a request is sent again: only after a kept connection was closed by the upstream before
//! any byte of an answer, once, and never after a timeout or part of an answer.

use super::{assert_everyone_gets_their_own, PoolStack, STRAY_WARNING};
use crate::util::Req;
use std::thread;
use std::time::{Duration, Instant};

/// `GET path` as anonymous; the status and the body.
fn status_of(stack: &PoolStack, path: &str) -> (u16, String) {
    let r = Req::get(&stack.proxy.url(path)).send();
    (r.status, r.text())
}

#[test]
fn a_timed_out_get_is_sent_once_and_answered_504_within_the_timeout() {
    let stack = PoolStack::start(&["--upstream-timeout", "2s"]);
    // Warm up: the slow request goes out on a kept connection, where the old code resent it.
    assert_everyone_gets_their_own(&stack, "warm", 1);
    let started = Instant::now();
    let (status, body) = status_of(&stack, "/sleep/3000/slow");
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    // Twice the timeout was the bug (a resend on a fresh connection after the first timed out).
    assert!(took < Duration::from_millis(3500), "504 after {took:?}");
    // A resend would have reached the upstream at about 2 s; the slow answer comes at 3 s.
    thread::sleep(Duration::from_millis(3500).saturating_sub(started.elapsed()));
    assert_eq!(
        stack.upstream.count("/sleep/3000/slow"),
        1,
        "{:?}",
        stack.upstream.seen()
    );
    // The answer that came after the timeout went to nobody: that connection was not kept.
    assert_everyone_gets_their_own(&stack, "after", 3);
    assert_eq!(stack.stray_warnings(), 0, "{}", stack.proxy.stderr());
}

#[test]
fn an_idle_connection_the_upstream_closed_is_not_used_and_not_warned_about() {
    let stack = PoolStack::start(&[]);
    stack.get_own("/idle-close/1", Some(&stack.users[1]));
    thread::sleep(Duration::from_millis(250));
    assert_everyone_gets_their_own(&stack, "after", 2);
    assert_eq!(stack.upstream.count("/own/after/0/0"), 1);
    assert_eq!(stack.stray_warnings(), 0, "{}", stack.proxy.stderr());
}

#[test]
fn a_request_that_crossed_the_upstreams_close_is_resent_once_on_a_new_connection() {
    let stack = PoolStack::start(&[]);
    stack.get_own("/drop-next/1", None);
    // The kept connection looks quiet; the upstream reads the next request and closes.
    let echo = stack.get_own("/own/crossed", Some(&stack.users[2]));
    assert_eq!(echo["path"], "/own/crossed");
    let seen: Vec<_> = stack
        .upstream
        .seen()
        .into_iter()
        .filter(|s| s.path == "/own/crossed")
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_ne!(
        seen[0].conn, seen[1].conn,
        "resent on the same connection: {seen:?}"
    );
    for s in &seen {
        stack.assert_identity(&s.authorization, Some(&stack.users[2]), "resent");
    }
    assert_everyone_gets_their_own(&stack, "after", 2);
    assert_eq!(stack.stray_warnings(), 0, "{}", stack.proxy.stderr());
}

#[test]
fn a_request_is_resent_at_most_once() {
    let stack = PoolStack::start(&[]);
    assert_everyone_gets_their_own(&stack, "warm", 1);
    let (status, body) = status_of(&stack, "/always-drop/x");
    assert_eq!(status, 502, "{body}");
    // Once on the kept connection, once on a new one; not a third time.
    assert_eq!(
        stack.upstream.count("/always-drop/x"),
        2,
        "{:?}",
        stack.upstream.seen()
    );
    assert_everyone_gets_their_own(&stack, "after", 2);
}

#[test]
fn a_request_is_not_resent_after_part_of_an_answer() {
    let stack = PoolStack::start(&[]);
    assert_everyone_gets_their_own(&stack, "warm", 1);
    let (status, body) = status_of(&stack, "/half/x");
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        stack.upstream.count("/half/x"),
        1,
        "{:?}",
        stack.upstream.seen()
    );
    assert_everyone_gets_their_own(&stack, "after", 2);
    assert!(!stack.proxy.stderr().contains(STRAY_WARNING));
}
