//! HTTP/1.1 on the wire (SPEC §7, issue 9 "Bad input"): one test per rule, on the real binary
//! through raw TCP, because no client library would send most of these requests.
//!
//! Every refusal is checked the same way: the exact status, the proxy's JSON error body
//! (`{"error":{"code":…,"status":…,"message":…}}`), whether the connection is closed afterwards
//! where the rule says so, and what the upstream received (nothing, or the bytes unchanged).
//!
//! - [`head`]: the request head: size, whole-head deadline, field values, line endings, `Host`,
//!   obs-fold, the target, the method, log lines;
//! - [`body`]: body framing: declared lengths, chunked bodies and their trailers, `Expect`;
//! - [`connection`]: several requests on one connection, and floods of hung-up clients.
//!
//! [`capture`] is an upstream that keeps the raw bytes it received, for the rules that promise
//! bytes "forwarded unchanged".

mod body;
mod capture;
mod connection;
mod head;

pub use crate::util::conn::{Answer, Conn};
use crate::util::Stack;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Sends `request` on a fresh connection; returns the first answer and the open connection.
pub fn ask(addr: SocketAddr, request: &[u8]) -> (Answer, Conn) {
    let mut conn = Conn::open(addr);
    conn.send(request);
    let answer = conn.answer();
    (answer, conn)
}

/// Asserts that `request` is refused with `status` and the JSON error, then a closed
/// connection; returns the error message.
pub fn assert_refused_and_closed(addr: SocketAddr, request: &[u8], status: u16) -> String {
    let started = Instant::now();
    let (answer, mut conn) = ask(addr, request);
    let message = answer.assert_error(status);
    conn.assert_closed(Duration::from_secs(5));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?} took {:?}",
        String::from_utf8_lossy(request),
        started.elapsed()
    );
    message
}

/// Asserts that neither the upstream nor Ory has seen a request.
pub fn assert_nothing_forwarded(stack: &Stack) {
    assert_eq!(stack.upstream.request_count(), 0);
    assert!(
        stack.ory.requests().is_empty(),
        "{:#?}",
        stack.ory.requests()
    );
}

/// Asserts that the upstream has seen no request, after a moment for anything still on its way.
pub fn assert_upstream_got_nothing_after_a_moment(stack: &Stack) {
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        stack.upstream.request_count(),
        0,
        "{:#?}",
        stack.upstream.requests()
    );
}
