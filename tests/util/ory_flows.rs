//! The browser flows of the fake identity server, shaped like Kratos' self-service API.
//!
//! - `GET /self-service/login/browser[?return_to=…]` → 303 to its own `/ui/login?flow=…` (an
//!   absolute URL on its own origin) and a `csrf_token_…` cookie; with `Accept: application/json`
//!   it answers the flow as JSON instead.
//! - `GET /self-service/login/flows?id=…` → the flow JSON (needs the CSRF cookie, like Kratos).
//! - `GET /ui/login?flow=…` → an HTML form whose action names the fake's own origin; without a
//!   `flow`, 303 to `/self-service/login/browser` (keeping `return_to`), as Ory's pages do.
//! - `POST /self-service/login?flow=…` (form or JSON: `identifier`, `password`, `csrf_token`)
//!   → sets `ory_kratos_session` and 303s to the flow's `return_to` (default `<origin>/ui/welcome`);
//!   with `Accept: application/json`, 200 `{"session":…}`.
//! - The same for sign-up: `GET /self-service/registration/browser`, `…/registration/flows`,
//!   `GET /ui/registration?flow=…` and `POST /self-service/registration?flow=…`, which creates
//!   the identity, signs it in (a session cookie, as Kratos' session hook does) and 303s.
//! - `GET /self-service/login/browser?aal=aal2` (signed in): the second factor, a TOTP-like code
//!   that upgrades the session to `aal2` ([`super::ory_second_factor`]).
//! - `GET /self-service/logout/browser` (signed in) → `{"logout_token","logout_url"}`.
//! - `GET /self-service/logout?token=…[&return_to=…]` → revokes the session, clears the cookie
//!   (`Max-Age=0`) and 303s to `return_to` (default `<origin>/ui/login`).
//!
//! Every JSON and HTML body mentions the fake's own origin, so the proxy's rewriting shows.

use super::ory::{error_reply, find_session, State, TestSession, SESSION_COOKIE};
use super::ory_second_factor as second_factor;
use super::server::{Action, Recorded, Reply};
use serde_json::{json, Value};

/// A login or logout flow the fake has handed out.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub kind: &'static str,
    pub csrf_token: String,
    pub return_to: Option<String>,
    /// For logout flows: the session token to revoke.
    pub session_token: Option<String>,
    /// A login flow started with `aal=aal2`: it asks for the second factor
    /// ([`super::ory_second_factor`]).
    pub aal2: bool,
}

/// The name of the fake's CSRF cookie (Kratos suffixes it with a hash of its URL).
pub fn csrf_cookie_name(origin: &str) -> String {
    let hash = origin.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("csrf_token_{hash:016x}")
}

/// Flows kept; the oldest is forgotten first.
const MAX_FLOWS: usize = 1000;

pub(super) fn handle(state: &State, req: &Recorded) -> Option<Action> {
    let action = match (req.method.as_str(), req.path()) {
        ("GET", "/self-service/login/browser") => login_browser(state, req, "login"),
        ("GET", "/self-service/login/flows") => login_flow(state, req, "login"),
        ("GET", "/ui/login") => login_page(state, req, "login"),
        ("POST", "/self-service/login") => login_submit(state, req, "login"),
        ("GET", "/self-service/registration/browser") => login_browser(state, req, "registration"),
        ("GET", "/self-service/registration/flows") => login_flow(state, req, "registration"),
        ("GET", "/ui/registration") => login_page(state, req, "registration"),
        ("POST", "/self-service/registration") => login_submit(state, req, "registration"),
        ("GET", "/self-service/logout/browser") => logout_browser(state, req),
        ("GET", "/self-service/logout") => logout(state, req),
        _ => return None,
    };
    Some(action)
}

fn wants_json(req: &Recorded) -> bool {
    req.header("accept")
        .is_some_and(|a| a.contains("application/json"))
}

fn flow_json(state: &State, flow: &Flow) -> Value {
    let origin = &state.origin;
    let now = super::unix_now();
    let nodes = if flow.aal2 {
        second_factor::nodes(flow)
    } else {
        json!([
            {"type": "input", "group": "default",
             "attributes": {"name": "csrf_token", "type": "hidden", "value": flow.csrf_token}},
            {"type": "input", "group": "default",
             "attributes": {"name": "identifier", "type": "text", "value": ""}},
            {"type": "input", "group": "password",
             "attributes": {"name": "password", "type": "password"}},
        ])
    };
    json!({
        "id": flow.id,
        "type": "browser",
        "expires_at": super::rfc3339(now + 3600),
        "issued_at": super::rfc3339(now),
        "request_url": format!("{origin}/self-service/{}/browser", flow.kind),
        "return_to": flow.return_to,
        "requested_aal": if flow.aal2 { "aal2" } else { "aal1" },
        "ui": {
            "action": format!("{origin}/self-service/{}?flow={}", flow.kind, flow.id),
            "method": "POST",
            "nodes": nodes,
        },
    })
}

fn json_reply(status: u16, value: &Value) -> Reply {
    Reply::new(status)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(value.to_string())
}

/// A login or registration flow (`kind`), started by a browser.
fn login_browser(state: &State, req: &Recorded, kind: &'static str) -> Action {
    let flow = Flow {
        id: super::uuid(),
        kind,
        csrf_token: super::random_hex(32),
        return_to: req.query_param("return_to").map(percent_decode),
        session_token: None,
        aal2: kind == "login" && second_factor::asks_aal2(req),
    };
    if flow.aal2 && find_session(state, req).is_none() {
        return second_factor::no_session();
    }
    {
        // Bounded: the fake-ory example runs for days; a flow older than this many is gone.
        let mut flows = state.flows.lock().unwrap();
        if flows.len() >= MAX_FLOWS {
            flows.remove(0);
        }
        flows.push(flow.clone());
    }
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax",
        csrf_cookie_name(&state.origin),
        flow.csrf_token
    );
    let reply = if wants_json(req) {
        json_reply(200, &flow_json(state, &flow))
    } else {
        Reply::new(303).header(
            "Location",
            &format!("{}/ui/{kind}?flow={}", state.origin, flow.id),
        )
    };
    reply.header("Set-Cookie", &cookie).into()
}

fn find_flow(state: &State, id: Option<&str>, kind: &str) -> Option<Flow> {
    let id = id?;
    state
        .flows
        .lock()
        .unwrap()
        .iter()
        .find(|f| f.id == id && f.kind == kind)
        .cloned()
}

fn csrf_ok(state: &State, req: &Recorded, flow: &Flow) -> bool {
    req.cookie(&csrf_cookie_name(&state.origin)) == Some(flow.csrf_token.as_str())
}

fn login_flow(state: &State, req: &Recorded, kind: &str) -> Action {
    match find_flow(state, req.query_param("id"), kind) {
        None => error_reply(404, "Unable to locate the resource").into(),
        Some(f) if !csrf_ok(state, req, &f) => {
            error_reply(403, "the anti-CSRF cookie is missing or does not match").into()
        }
        Some(f) => json_reply(200, &flow_json(state, &f)).into(),
    }
}

fn login_page(state: &State, req: &Recorded, kind: &str) -> Action {
    if req.query_param("flow").is_none() {
        // Like Ory's own pages: without a flow, start one (a logout without a return_to lands
        // here; a 404 would look like a broken sign-out).
        let carry = req
            .query_param("return_to")
            .map(|r| format!("?return_to={r}"))
            .unwrap_or_default();
        return Reply::new(303)
            .header(
                "Location",
                &format!("{}/self-service/{kind}/browser{carry}", state.origin),
            )
            .into();
    }
    let Some(flow) = find_flow(state, req.query_param("flow"), kind) else {
        return error_reply(404, "Unable to locate the resource").into();
    };
    let action = format!("{}/self-service/{kind}?flow={}", state.origin, flow.id);
    let html = if flow.aal2 {
        second_factor::page(state, req, &flow, &action)
    } else {
        super::ory_pages::flow_page(
            &state.origin,
            kind,
            &action,
            &flow.csrf_token,
            flow.return_to.as_deref(),
        )
    };
    Reply::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        .body(html)
        .into()
}

/// A submitted login or registration form: either way the identity is signed in.
fn login_submit(state: &State, req: &Recorded, kind: &str) -> Action {
    let Some(flow) = find_flow(state, req.query_param("flow"), kind) else {
        return error_reply(404, "Unable to locate the resource").into();
    };
    let fields = form_fields(req);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if !csrf_ok(state, req, &flow) || field("csrf_token").as_deref() != Some(&flow.csrf_token) {
        return error_reply(403, "the anti-CSRF token is missing or does not match").into();
    }
    if flow.aal2 {
        return second_factor::submit(state, req, &flow, &field);
    }
    let email = field("identifier").unwrap_or_default();
    if email.is_empty() || field("password").unwrap_or_default().is_empty() {
        return error_reply(400, "identifier and password are required").into();
    }
    let mut body = super::ory::session_json(&state.origin, &email);
    body["authentication_methods"][0]["method"] = json!("password");
    let session = super::ory::TestSession::new(&email, &body);
    state.sessions.lock().unwrap().push(session.clone());
    signed_in(state, req, &flow, &session)
}

/// The answer to a form that signed `session` in (a password, or a second factor): its cookie,
/// with the session as JSON to a JSON client, else a redirect to the flow's `return_to` (Ory's
/// welcome page without one).
pub(super) fn signed_in(
    state: &State,
    req: &Recorded,
    flow: &Flow,
    session: &TestSession,
) -> Action {
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax",
        session.token
    );
    let reply = if wants_json(req) {
        json_reply(
            200,
            &json!({"session": session.json(), "continue_with": []}),
        )
    } else {
        let to = flow
            .return_to
            .clone()
            .unwrap_or_else(|| format!("{}/ui/welcome", state.origin));
        Reply::new(303).header("Location", &to)
    };
    reply.header("Set-Cookie", &cookie).into()
}

fn logout_browser(state: &State, req: &Recorded) -> Action {
    let Some(session) = find_session(state, req) else {
        return Reply::new(401)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(super::ory::UNAUTHORIZED_BODY)
            .into();
    };
    let token = super::random_hex(32);
    state.flows.lock().unwrap().push(Flow {
        id: token.clone(),
        kind: "logout",
        csrf_token: String::new(),
        return_to: None,
        session_token: Some(session.token),
        aal2: false,
    });
    json_reply(
        200,
        &json!({
            "logout_token": token,
            "logout_url": format!("{}/self-service/logout?token={token}", state.origin),
        }),
    )
    .into()
}

fn logout(state: &State, req: &Recorded) -> Action {
    let Some(flow) = find_flow(state, req.query_param("token"), "logout") else {
        return error_reply(400, "The logout token is invalid").into();
    };
    state.flows.lock().unwrap().retain(|f| f.id != flow.id);
    if let Some(t) = &flow.session_token {
        state.sessions.lock().unwrap().retain(|s| &s.token != t);
    }
    let to = req
        .query_param("return_to")
        .map(percent_decode)
        .unwrap_or_else(|| format!("{}/ui/login", state.origin));
    Reply::new(303)
        .header("Location", &to)
        .header(
            "Set-Cookie",
            &format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        )
        .into()
}

/// The fields of a form-urlencoded or JSON body.
fn form_fields(req: &Recorded) -> Vec<(String, String)> {
    let is_json = req
        .header("content-type")
        .is_some_and(|c| c.contains("json"));
    if is_json {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        return v
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
    }
    req.body_text()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

/// Decodes `%XX` and `+` (form encoding); invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
