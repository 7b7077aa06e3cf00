//! An identity server that writes stray bytes after a whoami answer: a late second answer, or
//! one hidden behind the first in the same write, each a valid session of another identity with
//! its cookie. The whoami path goes through `ureq`'s pool (which checks connections when they
//! are returned and taken); this proves no user is ever identified as someone else.

use super::raw::{answer, next_request};
use super::{assert_everyone_paced, PoolStack, USERS};
use crate::util::ory::session_json;
use crate::util::raw::RawServer;
use crate::util::TestSession;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The stray answer's identity: must never be the `sub` of any token.
const ATTACKER_IDENTITY: &str = "00000000-0000-4000-8000-00000000dead";

/// After every whoami answer: 50 ms later, a second one.
const LATE: usize = 0;
/// Every whoami answer followed by a second one in the same write.
const LONG: usize = 1;

/// A whoami-only identity server written byte by byte.
struct RawOry {
    server: RawServer,
    sessions: Arc<Mutex<HashMap<String, String>>>,
    whoami_calls: Arc<AtomicUsize>,
}

impl RawOry {
    fn start(mode: usize) -> RawOry {
        let sessions: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let whoami_calls = Arc::new(AtomicUsize::new(0));
        let (known, calls) = (Arc::clone(&sessions), Arc::clone(&whoami_calls));
        let server = RawServer::start_strict(move |mut stream, faults| {
            let mut buf = Vec::new();
            while let Some(req) = next_request(&mut stream, &mut buf, faults) {
                calls.fetch_add(1, Ordering::SeqCst);
                let token = req
                    .header("cookie")
                    .and_then(|c| c.split("ory_kratos_session=").nth(1))
                    .map(|t| t.split(';').next().unwrap_or_default().to_owned());
                let body = token.and_then(|t| known.lock().unwrap().get(&t).cloned());
                let mut out = match body {
                    Some(b) if req.path == "/sessions/whoami" => answer(b.as_bytes()),
                    _ => b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
                           Content-Length: 2\r\n\r\n{}"
                        .to_vec(),
                };
                let stray = stray_whoami();
                let ok = if mode == LONG {
                    out.extend_from_slice(&stray);
                    stream.write_all(&out)
                } else {
                    stream.write_all(&out).and_then(|()| {
                        thread::sleep(Duration::from_millis(50));
                        stream.write_all(&stray)
                    })
                };
                if ok.is_err() {
                    return;
                }
            }
        });
        RawOry {
            server,
            sessions,
            whoami_calls,
        }
    }

    /// A session for a new identity with this email.
    fn create_session(&self, email: &str) -> TestSession {
        let session = TestSession::new(email, &session_json(&self.server.url(), email));
        self.sessions
            .lock()
            .unwrap()
            .insert(session.token.clone(), session.body.clone());
        session
    }
}

/// A whole whoami answer for the attacker's identity, with the attacker's cookie.
fn stray_whoami() -> Vec<u8> {
    let mut session = session_json("http://attacker", "INJECTED@attacker.example");
    session["identity"]["id"] = ATTACKER_IDENTITY.into();
    let body = session.to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
         Set-Cookie: ory_kratos_session=ATTACKERS-SESSION\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn run(mode: usize) {
    let ory = RawOry::start(mode);
    let users = USERS
        .iter()
        .map(|u| ory.create_session(&format!("{u}@example.org")))
        .collect();
    // No session cache: every signed-in request asks whoami again, on a kept connection.
    let stack = PoolStack::with_ory(
        &ory.server.url(),
        users,
        None,
        &["--session-cache-ttl", "0"],
    );
    // Paced past the late answer's arrival: see `assert_everyone_paced`.
    let pause = match mode {
        LATE => Duration::from_millis(120),
        _ => Duration::ZERO,
    };
    for round in 0..4 {
        assert_everyone_paced(&stack, &format!("whoami-{round}"), 2, pause);
    }
    // The rounds really went through whoami (4 rounds × 2 × 3 users); every token's `sub`
    // was checked against its user above, so none named the attacker.
    assert!(ory.whoami_calls.load(Ordering::SeqCst) >= 24);
}

#[test]
fn a_late_second_whoami_answer_identifies_nobody() {
    run(LATE);
}

#[test]
fn a_whoami_answer_longer_than_its_length_identifies_nobody() {
    run(LONG);
}
