//! How much of the session goes into a token's `session` claim (`--jwt-session`).
//!
//! Ory's whoami document carries every device the session was used from, every authentication
//! method and the whole identity. Spliced into a token as is (`full`, what the Go command does),
//! a session with a few dozen devices makes a token of over 10 KiB, and the application's web
//! server then refuses the forwarded request: nginx allows 8 KiB per header line by default,
//! Node.js 16 KiB for the whole head. `identity` keeps what an application needs to decide who
//! the user is and how strongly they signed in; `none` leaves only `sub` and the standard claims.
//!
//! The shaping is a pure function of the whoami body, applied when a token is minted; a reused
//! token was minted with the same mode (the mode is fixed for the life of the process), so the
//! claim set always follows the flag. The warning about a large token is worded here and said
//! by the proxy at most once (its `App` keeps the flag), so a busy proxy does not flood its log.

use serde_json::{Map, Value};
use std::borrow::Cow;

/// A token larger than this (in bytes) gets the one warning per process.
pub const LARGE_TOKEN: usize = 6 * 1024;

/// The fields of the session kept by `identity`.
pub const IDENTITY_SESSION_FIELDS: [&str; 5] = [
    "id",
    "active",
    "expires_at",
    "authenticated_at",
    "authenticator_assurance_level",
];
/// The fields of `session.identity` kept by `identity`.
pub const IDENTITY_FIELDS: [&str; 5] = ["id", "schema_id", "state", "traits", "metadata_public"];

pub use crate::config::SessionClaim;

impl SessionClaim {
    /// The JSON of the `session` claim for a whoami body (valid JSON, checked by the lookup),
    /// or `None` when the claim is left out.
    pub fn claim<'a>(self, session_json: &'a str) -> Option<Cow<'a, str>> {
        match self {
            SessionClaim::Full => Some(Cow::Borrowed(session_json.trim())),
            SessionClaim::None => None,
            SessionClaim::Identity => Some(Cow::Owned(identity_only(session_json).to_string())),
        }
    }
}

/// The `identity` subset of a whoami body. Fields Ory did not send stay absent (never `null`
/// stand-ins); anything that is not an object yields an empty object.
fn identity_only(session_json: &str) -> Value {
    let session: Value = serde_json::from_str(session_json).unwrap_or(Value::Null);
    let mut out = pick(&session, &IDENTITY_SESSION_FIELDS);
    if let Some(identity) = session.get("identity").filter(|i| i.is_object()) {
        out.insert(
            "identity".to_owned(),
            Value::Object(pick(identity, &IDENTITY_FIELDS)),
        );
    }
    Value::Object(out)
}

fn pick(object: &Value, fields: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| Some(((*f).to_owned(), object.get(*f)?.clone())))
        .collect()
}

/// The warning for a token of `len` bytes minted in `mode` when it exceeds [`LARGE_TOKEN`];
/// `None` otherwise. The caller says it once ([`crate::proxy::App`] keeps the flag).
pub fn large_token_warning(len: usize, mode: SessionClaim) -> Option<String> {
    if len <= LARGE_TOKEN {
        return None;
    }
    let hint = match mode {
        SessionClaim::Full => "--jwt-session identity (or none) makes it smaller",
        SessionClaim::Identity => "--jwt-session none makes it smaller (large traits?)",
        SessionClaim::None => "--jwt-session is already none",
    };
    Some(format!(
        "minted a token of {len} bytes ({:.1} KiB, over 6 KiB); an application behind a web \
         server with default header limits (nginx: 8 KiB per header line) may refuse requests \
         carrying it; {hint}",
        len as f64 / 1024.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session() -> Value {
        json!({
            "id": "s1", "active": true, "expires_at": "2030-01-01T00:00:00Z",
            "authenticated_at": "2029-12-31T00:00:00Z", "issued_at": "2029-12-31T00:00:00Z",
            "authenticator_assurance_level": "aal2",
            "authentication_methods": [{"method": "password"}, {"method": "totp"}],
            "devices": [{"id": "d1", "user_agent": "x"}],
            "identity": {
                "id": "i1", "schema_id": "default", "schema_url": "https://x/schemas/default",
                "state": "active", "traits": {"email": "a@b"}, "metadata_public": {"plan": "pro"},
                "metadata_admin": {"secret": 1}, "recovery_addresses": [{"value": "a@b"}],
                "created_at": "2029-01-01T00:00:00Z",
            },
        })
    }

    #[test]
    fn modes_parse() {
        assert_eq!(SessionClaim::parse("full"), Some(SessionClaim::Full));
        assert_eq!(
            SessionClaim::parse(" Identity "),
            Some(SessionClaim::Identity)
        );
        assert_eq!(SessionClaim::parse("NONE"), Some(SessionClaim::None));
        assert_eq!(SessionClaim::parse("partial"), None);
        assert_eq!(SessionClaim::parse(""), None);
        assert_eq!(SessionClaim::default().as_str(), "full");
    }

    #[test]
    fn full_is_the_body_as_received() {
        let body = " {\"b\":1,\"a\":[2]} ";
        assert_eq!(
            SessionClaim::Full.claim(body).as_deref(),
            Some("{\"b\":1,\"a\":[2]}")
        );
        assert_eq!(SessionClaim::None.claim(body), None);
    }

    #[test]
    fn identity_keeps_exactly_the_listed_fields() {
        let body = session().to_string();
        let claim = SessionClaim::Identity.claim(&body).unwrap();
        let v: Value = serde_json::from_str(&claim).unwrap();
        assert_eq!(
            v,
            json!({
                "id": "s1", "active": true, "expires_at": "2030-01-01T00:00:00Z",
                "authenticated_at": "2029-12-31T00:00:00Z",
                "authenticator_assurance_level": "aal2",
                "identity": {"id": "i1", "schema_id": "default", "state": "active",
                             "traits": {"email": "a@b"}, "metadata_public": {"plan": "pro"}},
            })
        );
    }

    #[test]
    fn identity_leaves_missing_fields_absent() {
        let claim = SessionClaim::Identity
            .claim(r#"{"active":true,"identity":{"id":"i1","metadata_public":null}}"#)
            .unwrap();
        assert_eq!(
            claim,
            r#"{"active":true,"identity":{"id":"i1","metadata_public":null}}"#
        );
        assert_eq!(SessionClaim::Identity.claim("[1]").unwrap(), "{}");
        assert_eq!(
            SessionClaim::Identity
                .claim(r#"{"id":"s","identity":"x"}"#)
                .unwrap(),
            r#"{"id":"s"}"#
        );
    }

    #[test]
    fn a_large_token_is_warned_about_with_a_hint() {
        assert_eq!(large_token_warning(LARGE_TOKEN, SessionClaim::Full), None);
        let first = large_token_warning(7000, SessionClaim::Full).unwrap();
        assert!(first.contains("7000 bytes"), "{first}");
        assert!(first.contains("--jwt-session identity"), "{first}");
        let none = large_token_warning(9000, SessionClaim::None).unwrap();
        assert!(none.contains("already none"), "{none}");
    }
}
