//! A fake identity server that behaves like Ory Kratos on the wire (SPEC §6).
//!
//! `GET /sessions/whoami` answers a Kratos-shaped session for a known `ory_kratos_session` cookie,
//! `X-Session-Token` or `Authorization: Bearer`, and Kratos' exact 401 otherwise. Switches make
//! it fail the way a real deployment can: a status (500, 503, …), 429 with `Retry-After`, a slow
//! answer, no answer, a closed connection, or a custom body; either for every call or for the
//! next few. It counts whoami calls and records every request. The browser flows (login, logout)
//! live in [`super::ory_flows`]; anything else can be taken over with a hook.

use super::server::{Action, Handler, Recorded, Reply, TestServer};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Kratos' answer to a whoami without a valid session, byte for byte.
pub const UNAUTHORIZED_BODY: &str = r#"{"error":{"code":401,"status":"Unauthorized","reason":"No valid session credentials found in the request.","message":"The request could not be authorized"}}"#;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ory_kratos_session";

/// How `GET /sessions/whoami` answers.
#[derive(Debug, Clone)]
pub enum Whoami {
    /// Like Kratos: the session, or 401.
    Normal,
    /// This status with a Kratos-style JSON error body.
    Status(u16),
    /// 429 with this `Retry-After`.
    RateLimited(String),
    /// Normally, after this delay.
    Slow(Duration),
    /// Never answers.
    Hang,
    /// Reads the request, closes the connection.
    Close,
    /// This status and raw body (`application/json`), e.g. to send unparsable JSON.
    Raw(u16, String),
}

/// A session the fake knows.
#[derive(Debug, Clone)]
pub struct TestSession {
    /// The session token: the cookie value, the `X-Session-Token`, the bearer token.
    pub token: String,
    /// `id` of the session.
    pub id: String,
    /// `identity.id`: the token's `sub`.
    pub identity_id: String,
    pub email: String,
    /// The whoami body exactly as served.
    pub body: String,
}

impl TestSession {
    /// A session of `email` whose whoami body is `body` (Kratos-shaped: its `id` and
    /// `identity.id` are read from it), under a new token.
    pub fn new(email: &str, body: &Value) -> TestSession {
        TestSession {
            token: format!("ory_st_{}", super::random_hex(32)),
            id: body["id"].as_str().unwrap_or_default().to_owned(),
            identity_id: body["identity"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            email: email.to_owned(),
            body: body.to_string(),
        }
    }

    /// `ory_kratos_session=<token>`, ready for a `Cookie` header.
    pub fn cookie(&self) -> String {
        format!("{SESSION_COOKIE}={}", self.token)
    }

    /// `Bearer <token>`.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// The whoami body, parsed.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("session body is JSON")
    }
}

/// A hook: `Some(action)` answers the request, `None` lets the fake answer as usual.
pub type Hook = Arc<dyn Fn(&Recorded) -> Option<Action> + Send + Sync>;

pub(super) struct State {
    pub(super) origin: String,
    pub(super) sessions: Mutex<Vec<TestSession>>,
    whoami: Mutex<Whoami>,
    whoami_next: Mutex<VecDeque<Whoami>>,
    whoami_calls: AtomicUsize,
    whoami_set_cookies: Mutex<Vec<String>>,
    hook: Mutex<Option<Hook>>,
    pub(super) flows: Mutex<Vec<super::ory_flows::Flow>>,
}

/// The fake identity server; stops on drop.
pub struct FakeOry {
    server: TestServer,
    state: Arc<State>,
}

impl FakeOry {
    /// Starts it on `127.0.0.1:0`.
    pub fn start() -> FakeOry {
        FakeOry::start_on(TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
    }

    /// Starts it on a listener bound by the caller (the fake-ory example's fixed port).
    pub fn start_on(listener: TcpListener) -> FakeOry {
        let mut state_out = None;
        let server = TestServer::start_on(listener, |addr: SocketAddr| -> Handler {
            let state = Arc::new(State {
                origin: format!("http://{addr}"),
                sessions: Mutex::new(Vec::new()),
                whoami: Mutex::new(Whoami::Normal),
                whoami_next: Mutex::new(VecDeque::new()),
                whoami_calls: AtomicUsize::new(0),
                whoami_set_cookies: Mutex::new(Vec::new()),
                hook: Mutex::new(None),
                flows: Mutex::new(Vec::new()),
            });
            state_out = Some(Arc::clone(&state));
            Arc::new(move |req: &Recorded| handle(&state, req))
        });
        FakeOry {
            server,
            state: state_out.expect("handler built"),
        }
    }

    /// `http://127.0.0.1:PORT`: the value for `--sdk-url`, and the tokens' `iss`.
    pub fn url(&self) -> String {
        self.state.origin.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `127.0.0.1:PORT`: the `Host` Ory must receive.
    pub fn authority(&self) -> String {
        self.server.addr().to_string()
    }

    /// Adds an active session for a new identity with this email.
    pub fn create_session(&self, email: &str) -> TestSession {
        self.create_session_with(email, |_| {})
    }

    /// Steps a session up to `aal2` as a second-factor login does: every token of the session now
    /// answers `aal2`, and the returned copy has a new token (the login's new cookie).
    pub fn step_up(&self, session: &TestSession) -> TestSession {
        super::ory_second_factor::upgrade(&self.state, session)
    }

    /// The second-factor code the fake accepts for an identity.
    pub fn totp_code(&self, identity_id: &str) -> String {
        super::ory_second_factor::totp_code(identity_id)
    }

    /// Adds a session whose `active` is false (whoami still answers 200, like Kratos can).
    pub fn create_inactive_session(&self, email: &str) -> TestSession {
        self.create_session_with(email, |s| s["active"] = json!(false))
    }

    /// Adds a session; `edit` may change the Kratos-shaped JSON before it is stored.
    pub fn create_session_with(&self, email: &str, edit: impl FnOnce(&mut Value)) -> TestSession {
        let mut body = session_json(&self.state.origin, email);
        edit(&mut body);
        let session = TestSession::new(email, &body);
        self.state.sessions.lock().unwrap().push(session.clone());
        session
    }

    /// Forgets a session (whoami answers 401 for it from now on).
    pub fn revoke(&self, session: &TestSession) {
        self.state
            .sessions
            .lock()
            .unwrap()
            .retain(|s| s.token != session.token);
    }

    /// How every whoami answers from now on.
    pub fn set_whoami(&self, behaviour: Whoami) {
        *self.state.whoami.lock().unwrap() = behaviour;
    }

    /// The next `times` whoami calls answer with `behaviour`, then the general setting applies.
    pub fn whoami_next(&self, times: usize, behaviour: Whoami) {
        let mut q = self.state.whoami_next.lock().unwrap();
        q.extend((0..times).map(|_| behaviour.clone()));
    }

    /// `Set-Cookie` headers added to every successful (200) whoami answer.
    pub fn set_whoami_cookies(&self, cookies: &[&str]) {
        *self.state.whoami_set_cookies.lock().unwrap() =
            cookies.iter().map(|c| (*c).to_owned()).collect();
    }

    /// Whoami calls received so far.
    pub fn whoami_calls(&self) -> usize {
        self.state.whoami_calls.load(Ordering::SeqCst)
    }

    /// Installs a hook consulted before anything else.
    pub fn set_hook(&self, hook: impl Fn(&Recorded) -> Option<Action> + Send + Sync + 'static) {
        *self.state.hook.lock().unwrap() = Some(Arc::new(hook));
    }

    pub fn clear_hook(&self) {
        *self.state.hook.lock().unwrap() = None;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// The whoami requests received so far.
    pub fn whoami_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == "/sessions/whoami")
            .collect()
    }

    /// Requests other than whoami (the ones forwarded from `/.ory/…`).
    pub fn forwarded_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() != "/sessions/whoami")
            .collect()
    }

    pub fn last_request(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the fake Ory received no request")
    }

    pub fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        self.server.wait_for_requests(n)
    }

    pub fn clear_requests(&self) {
        self.server.clear_requests()
    }

    pub fn server(&self) -> &TestServer {
        &self.server
    }
}

/// A Kratos-shaped session (as `GET /sessions/whoami` returns it) for a new identity.
pub fn session_json(origin: &str, email: &str) -> Value {
    let now = super::unix_now();
    let issued = super::rfc3339(now - 60);
    json!({
        "id": super::uuid(),
        "active": true,
        "expires_at": super::rfc3339(now + 24 * 3600),
        "authenticated_at": issued,
        "authenticator_assurance_level": "aal1",
        "authentication_methods": [
            {"method": "password", "aal": "aal1", "completed_at": issued}
        ],
        "issued_at": issued,
        "identity": {
            "id": super::uuid(),
            "schema_id": "default",
            "schema_url": format!("{origin}/schemas/ZGVmYXVsdA"),
            "state": "active",
            "state_changed_at": issued,
            "traits": {"email": email},
            "metadata_public": null,
            "created_at": issued,
            "updated_at": issued,
        },
        "devices": [],
    })
}

/// A Kratos-style JSON error.
pub fn error_reply(status: u16, message: &str) -> Reply {
    let status_text = super::server::reason(status);
    Reply::new(status)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(
            json!({"error": {"code": status, "status": status_text, "message": message}})
                .to_string(),
        )
}

fn handle(state: &Arc<State>, req: &Recorded) -> Action {
    let hook = state.hook.lock().unwrap().clone();
    if let Some(action) = hook.and_then(|h| h(req)) {
        return action;
    }
    if req.path() == "/sessions/whoami" {
        return whoami(state, req);
    }
    if req.path() == super::ory_pages::WEBAUTHN_JS_PATH {
        // Kratos' pages load it; a 404 in every sign-in's network log misleads.
        return Reply::new(200)
            .header("Content-Type", "text/javascript; charset=utf-8")
            .body(super::ory_pages::WEBAUTHN_JS)
            .into();
    }
    super::ory_flows::handle(state, req)
        .unwrap_or_else(|| error_reply(404, "The requested resource could not be found").into())
}

/// The session named by the request's credentials, if the fake knows it.
pub(super) fn find_session(state: &State, req: &Recorded) -> Option<TestSession> {
    let sessions = state.sessions.lock().unwrap();
    let bearer = req.header("authorization").and_then(|a| {
        a.get(7..)
            .filter(|_| a[..7].eq_ignore_ascii_case("bearer "))
    });
    let candidates = [
        req.cookie(SESSION_COOKIE),
        req.header("x-session-token"),
        bearer,
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|t| sessions.iter().find(|s| s.token == t.trim()).cloned())
}

fn whoami(state: &State, req: &Recorded) -> Action {
    state.whoami_calls.fetch_add(1, Ordering::SeqCst);
    let behaviour = state
        .whoami_next
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| state.whoami.lock().unwrap().clone());
    let delay = match behaviour {
        Whoami::Normal => Duration::ZERO,
        Whoami::Slow(d) => d,
        Whoami::Status(s) => return error_reply(s, "The fake identity server failed").into(),
        Whoami::RateLimited(after) => {
            return error_reply(429, "Rate limit exceeded")
                .header("Retry-After", &after)
                .into()
        }
        Whoami::Hang => return Action::Hang,
        Whoami::Close => return Action::Close,
        Whoami::Raw(status, body) => {
            return Reply::new(status)
                .header("Content-Type", "application/json")
                .body(body)
                .into()
        }
    };
    let reply = match find_session(state, req) {
        Some(session) => {
            let mut r = Reply::new(200)
                .header("Content-Type", "application/json; charset=utf-8")
                .body(session.body);
            for c in state.whoami_set_cookies.lock().unwrap().iter() {
                r = r.header("Set-Cookie", c);
            }
            r
        }
        None => Reply::new(401)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(UNAUTHORIZED_BODY),
    };
    reply.delay(delay).into()
}
