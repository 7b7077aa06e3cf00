//! The fake identity server's second factor: a TOTP-like code on an `aal=aal2` login flow, so a
//! browser can step up the way it does with Kratos (`--require-aal2`).
//!
//! - `GET /self-service/login/browser?aal=aal2[&return_to=…]` needs a session (Kratos answers
//!   `session_aal1_required` without one); the flow's page asks for a code, not a password.
//! - `POST /self-service/login?flow=…` with `totp_code` (and `csrf_token`) upgrades the session:
//!   its `authenticator_assurance_level` becomes `aal2`, a `totp` method is added, and it gets a
//!   new session cookie (as Kratos re-issues the cookie on every login), then 303 to `return_to`.
//!   The old cookie stays valid and names the same, upgraded session.
//!
//! The code is not time-based: it is [`totp_code`] of the identity, six digits the page shows as
//! a hint, so a person trying the playground and a test both know it. A wrong code is a 400.

use super::ory::{error_reply, find_session, State, TestSession};
use super::ory_flows::Flow;
use super::server::{Action, Recorded, Reply};
use serde_json::{json, Value};

/// The fake's second-factor code for an identity: six digits derived from its id.
pub fn totp_code(identity_id: &str) -> String {
    let hash = identity_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{:06}", hash % 1_000_000)
}

/// Whether a login-flow request asks for the second factor (`aal=aal2`).
pub(super) fn asks_aal2(req: &Recorded) -> bool {
    req.query_param("aal") == Some("aal2")
}

/// Kratos' refusal of an `aal2` flow without a session.
pub(super) fn no_session() -> Action {
    let body = json!({"error": {"id": "session_aal1_required", "code": 401,
        "status": "Unauthorized",
        "message": "You must be signed in with a first factor before adding a second one"}});
    Reply::new(401)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body.to_string())
        .into()
}

/// The form nodes of an `aal2` flow (Kratos' `totp` group).
pub(super) fn nodes(flow: &Flow) -> Value {
    json!([
        {"type": "input", "group": "default",
         "attributes": {"name": "csrf_token", "type": "hidden", "value": flow.csrf_token}},
        {"type": "input", "group": "totp",
         "attributes": {"name": "totp_code", "type": "text", "value": ""}},
        {"type": "input", "group": "totp",
         "attributes": {"name": "method", "type": "submit", "value": "totp"}},
    ])
}

/// The page of an `aal2` flow: one code field, the code as a hint when the browser is signed in.
pub(super) fn page(state: &State, req: &Recorded, flow: &Flow, action: &str) -> String {
    let hint = find_session(state, req)
        .map(|s| {
            format!(
                "<p class=\"hint\">The fake's authenticator shows <code id=\"code\">{}</code>.</p>",
                totp_code(&s.identity_id)
            )
        })
        .unwrap_or_default();
    let csrf = &flow.csrf_token;
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Second factor</title><link rel=\"icon\" href=\"data:,\">\
         <style>{}</style></head><body><main class=\"card\">\
         <p class=\"brand\">Fake Ory <span>identity server for tests and the playground</span></p>\
         <h1>Second factor</h1>\
         <form action=\"{action}\" method=\"POST\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"method\" value=\"totp\">\
         <label for=\"totp_code\">Authentication code</label>\
         <input id=\"totp_code\" name=\"totp_code\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" required>\
         <button type=\"submit\">Verify</button></form>{hint}</main></body></html>",
        super::ory_pages::STYLE
    )
}

/// A submitted code: the session is upgraded to `aal2` and gets a new cookie.
pub(super) fn submit(
    state: &State,
    req: &Recorded,
    flow: &Flow,
    field: &dyn Fn(&str) -> Option<String>,
) -> Action {
    let Some(session) = find_session(state, req) else {
        return no_session();
    };
    if field("totp_code").as_deref() != Some(totp_code(&session.identity_id).as_str()) {
        return error_reply(400, "The provided authentication code is invalid").into();
    }
    let upgraded = upgrade(state, &session);
    super::ory_flows::signed_in(state, req, flow, &upgraded)
}

/// Upgrades every token of the session to `aal2` and adds one more (the new cookie).
pub(super) fn upgrade(state: &State, session: &TestSession) -> TestSession {
    let mut body = session.json();
    body["authenticator_assurance_level"] = json!("aal2");
    let now = super::rfc3339(super::unix_now());
    if let Some(methods) = body["authentication_methods"].as_array_mut() {
        methods.push(json!({"method": "totp", "aal": "aal2", "completed_at": now}));
    }
    let body = body.to_string();
    let mut sessions = state.sessions.lock().unwrap();
    for s in sessions.iter_mut().filter(|s| s.id == session.id) {
        s.body = body.clone();
    }
    let upgraded = TestSession {
        token: format!("ory_st_{}", super::random_hex(32)),
        body,
        ..session.clone()
    };
    sessions.push(upgraded.clone());
    upgraded
}
