//! Who is the user? One `GET /sessions/whoami` against Ory, and what its answer means.
//!
//! The lookup is only made for requests that carry a credential (a `Cookie`, an
//! `X-Session-Token`, or `Authorization: Bearer`); everything else is anonymous without a round
//! trip. Ory's answer is classified once here (SPEC §5) so the proxy only has to act on a
//! [`Session`] or an [`Error`].

use crate::error::Error;
use std::io::Read;
use ureq::http;

/// The most of a whoami body we read (a Kratos session is a few KiB).
pub const MAX_WHOAMI_BODY: u64 = 1 << 20;

/// The credentials of one request, borrowed from its headers.
#[derive(Debug, Default, Clone, Copy)]
pub struct Credentials<'a> {
    pub cookie: Option<&'a str>,
    pub session_token: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl Credentials<'_> {
    /// Whether Ory needs to be asked at all.
    pub fn present(&self) -> bool {
        self.cookie.is_some_and(|c| !c.trim().is_empty())
            || self.session_token.is_some_and(|t| !t.trim().is_empty())
            || self.authorization.is_some_and(is_bearer)
    }
}

fn is_bearer(value: &str) -> bool {
    value
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "))
        && !value[7..].trim().is_empty()
}

/// The outcome of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    Anonymous,
    Active(ActiveSession),
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The whoami body as received (valid JSON).
    pub json: String,
    /// `identity.id`.
    pub identity_id: String,
    /// `expires_at` in Unix seconds, when Ory sent one.
    pub expires_at: Option<i64>,
    /// Whether `authenticator_assurance_level` is `aal2` or `aal3` (a second factor was used);
    /// false when Ory sent `aal1`, `aal0`, nothing or anything else.
    pub aal2: bool,
}

/// A lookup's result and the cookies Ory wants refreshed on the client.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub session: Session,
    pub set_cookies: Vec<String>,
}

/// Asks Ory, retrying once on a failure (5xx, unreachable, timeout, unparsable answer).
pub fn lookup(
    agent: &ureq::Agent,
    whoami_url: &str,
    sdk_host: &str,
    creds: &Credentials<'_>,
) -> Result<Lookup, Error> {
    match lookup_once(agent, whoami_url, sdk_host, creds) {
        Err(Failure::Retryable(first) | Failure::TimedOut(first)) => {
            crate::obs::logger::debug(|| format!("session lookup failed, retrying once: {first}"));
            match lookup_once(agent, whoami_url, sdk_host, creds) {
                Ok(l) => Ok(l),
                Err(Failure::Retryable(e)) => Err(Error::SessionLookupFailed(e)),
                Err(Failure::TimedOut(e)) => Err(Error::OryTimeout(format!("session lookup: {e}"))),
                Err(Failure::Final(e)) => Err(e),
            }
        }
        Err(Failure::Final(e)) => Err(e),
        Ok(l) => Ok(l),
    }
}

enum Failure {
    Retryable(String),
    /// No answer in time (the agent's timeouts): retried once, then 504.
    TimedOut(String),
    Final(Error),
}

fn lookup_once(
    agent: &ureq::Agent,
    whoami_url: &str,
    sdk_host: &str,
    creds: &Credentials<'_>,
) -> Result<Lookup, Failure> {
    let mut req = http::Request::builder()
        .method("GET")
        .uri(whoami_url)
        .header("host", sdk_host)
        .header("accept", "application/json");
    for (name, value) in [
        ("cookie", creds.cookie),
        ("x-session-token", creds.session_token),
        ("authorization", creds.authorization),
        ("x-request-id", creds.request_id),
    ] {
        if let Some(v) = value {
            req = req.header(name, v);
        }
    }
    let req = req
        .body(())
        .map_err(|e| Failure::Final(Error::BadRequest(format!("credentials: {e}"))))?;
    let response = agent.run(req).map_err(|e| match e {
        ureq::Error::Timeout(_) => Failure::TimedOut(e.to_string()),
        e => Failure::Retryable(e.to_string()),
    })?;
    let status = response.status().as_u16();
    let set_cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    let read = response
        .into_body()
        .into_reader()
        .take(MAX_WHOAMI_BODY + 1)
        .read_to_end(&mut body);
    match status {
        200 => {
            read.map_err(|e| {
                if crate::error::is_timeout(&e) {
                    Failure::TimedOut(format!("reading whoami body: {e}"))
                } else {
                    Failure::Retryable(format!("reading whoami body: {e}"))
                }
            })?;
            if body.len() as u64 > MAX_WHOAMI_BODY {
                return Err(Failure::Retryable("whoami body larger than 1 MiB".into()));
            }
            let session = classify_session(body).map_err(Failure::Retryable)?;
            Ok(Lookup {
                session,
                set_cookies,
            })
        }
        401 | 403 => Ok(Lookup {
            session: Session::Anonymous,
            set_cookies,
        }),
        429 => Err(Failure::Final(Error::RateLimited { retry_after })),
        other => Err(Failure::Retryable(format!("whoami answered {other}"))),
    }
}

/// Reads a 200 whoami body: active with an identity id, or anonymous.
pub fn classify_session(body: Vec<u8>) -> Result<Session, String> {
    #[derive(serde::Deserialize)]
    struct Whoami {
        active: Option<serde_json::Value>,
        expires_at: Option<String>,
        identity: Option<Identity>,
        authenticator_assurance_level: Option<serde_json::Value>,
    }
    #[derive(serde::Deserialize)]
    struct Identity {
        id: Option<String>,
    }
    let parsed: Whoami =
        serde_json::from_slice(&body).map_err(|e| format!("unparsable whoami body: {e}"))?;
    if parsed.active != Some(serde_json::Value::Bool(true)) {
        return Ok(Session::Anonymous);
    }
    let identity_id = parsed
        .identity
        .and_then(|i| i.id)
        .filter(|id| !id.is_empty())
        .ok_or("active session without identity.id")?;
    let json = String::from_utf8(body).map_err(|_| "whoami body is not UTF-8".to_owned())?;
    let aal = parsed.authenticator_assurance_level;
    Ok(Session::Active(ActiveSession {
        aal2: matches!(aal.as_ref().and_then(|v| v.as_str()), Some("aal2" | "aal3")),
        expires_at: parsed
            .expires_at
            .as_deref()
            .and_then(crate::obs::timefmt::parse_rfc3339),
        json,
        identity_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_presence() {
        let none = Credentials::default();
        assert!(!none.present());
        let c = Credentials {
            cookie: Some("a=b"),
            ..none
        };
        assert!(c.present());
        let c = Credentials {
            cookie: Some(" "),
            ..none
        };
        assert!(!c.present());
        let c = Credentials {
            session_token: Some("tok"),
            ..none
        };
        assert!(c.present());
        for (auth, expected) in [
            ("Bearer abc", true),
            ("bearer abc", true),
            ("Basic dXNlcg==", false),
            ("Bearer ", false),
            ("Bearer", false),
            ("Béarer x", false),
        ] {
            let c = Credentials {
                authorization: Some(auth),
                ..none
            };
            assert_eq!(c.present(), expected, "{auth}");
        }
    }

    #[test]
    fn whoami_bodies() {
        let active = br#"{"id":"s","active":true,"expires_at":"2021-02-25T09:25:37.929792Z","identity":{"id":"i-1"}}"#;
        match classify_session(active.to_vec()).unwrap() {
            Session::Active(s) => {
                assert_eq!(s.identity_id, "i-1");
                assert_eq!(s.expires_at, Some(1_614_245_137));
                assert_eq!(s.json.as_bytes(), active);
                assert!(!s.aal2, "no level is not aal2");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            classify_session(br#"{"active":false,"identity":{"id":"i"}}"#.to_vec()).unwrap(),
            Session::Anonymous
        );
        assert_eq!(
            classify_session(br#"{"active":"true","identity":{"id":"i"}}"#.to_vec()).unwrap(),
            Session::Anonymous
        );
        for (aal, second_factor) in [
            (r#""aal1""#, false),
            (r#""aal2""#, true),
            (r#""aal3""#, true),
            (r#""AAL2""#, false),
            (r#""aal0""#, false),
            ("2", false),
            ("null", false),
        ] {
            let body = format!(
                r#"{{"active":true,"authenticator_assurance_level":{aal},"identity":{{"id":"i"}}}}"#
            );
            match classify_session(body.into_bytes()).unwrap() {
                Session::Active(s) => assert_eq!(s.aal2, second_factor, "{aal}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(classify_session(b"<html>".to_vec()).is_err());
        assert!(classify_session(br#"{"active":true}"#.to_vec()).is_err());
        assert!(classify_session(br#"{"active":true,"identity":{"id":5}}"#.to_vec()).is_err());
    }
}
