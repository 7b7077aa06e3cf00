//! The one error type of the request path, and its mapping to HTTP.
//!
//! Every way a proxied request can fail ends here, so the status code, the JSON body (Ory's error
//! shape, `{"error":{"code":…,"status":…,"message":…}}`) and the log line are decided in one
//! place rather than at each call site.

use crate::status::reason_phrase;
use std::fmt;

/// A failure the proxy answers itself.
#[derive(Debug, Clone)]
pub enum Error {
    /// The upstream application could not be reached or broke the protocol.
    UpstreamUnreachable(String),
    /// The upstream did not answer in time.
    UpstreamTimeout(String),
    /// The next hop answered a WebSocket upgrade with a `101` a client must refuse (RFC 6455
    /// §4.1); the message names the hop and what was wrong.
    BadHandshake(String),
    /// Ory (an `/.ory/` request) could not be reached or broke the protocol.
    OryUnreachable(String),
    /// Ory did not answer in time.
    OryTimeout(String),
    /// The session lookup failed twice (5xx, unreachable, unparsable answer).
    SessionLookupFailed(String),
    /// Ory rate-limited the session lookup; carries Ory's `Retry-After`.
    RateLimited { retry_after: Option<String> },
    /// Too many connections are open, none of them idle (`--max-connections`), or too many
    /// WebSockets are relayed.
    Overloaded,
    /// The client sent something we will not forward.
    BadRequest(String),
    /// The request head is larger than the proxy accepts (431).
    HeadTooLarge(String),
    /// The client stopped sending its body (408).
    ClientTimeout,
    /// The client sent its body below `--min-data-rate` (408); the message names the rate.
    SlowBody(String),
    /// The request head was not complete within `--client-timeout` of its first byte (408).
    HeadTimeout,
    /// An `Expect` other than `100-continue` (417).
    ExpectationFailed,
    /// The declared body is larger than the proxy can handle (413).
    PayloadTooLarge(String),
    /// A path under `/.ory/proxy/` that the proxy does not serve.
    NotFound,
    /// A method the proxy's own endpoint does not support.
    MethodNotAllowed { allow: &'static str },
    /// Signing failed or randomness was unavailable.
    Internal(String),
    /// `--require-session`: a browser navigation without a session, sent to the login flow
    /// (303 to `location`).
    LoginRequired { location: String },
    /// `--require-session`: any other request without a session (401).
    SessionRequired,
    /// `--require-aal2`: a browser navigation with an `aal1` session, sent to Ory's step-up login
    /// (303 to `location`).
    StepUpRequired { location: String },
    /// `--require-aal2`: any other request with an `aal1` session (403 with RFC 9470's
    /// `insufficient_user_authentication` challenge).
    SecondFactorRequired,
    /// The request carries this proxy's own `Via` token: the upstream (`ory` false) or Ory's
    /// URL (`ory` true) points back at the proxy (508).
    LoopDetected { ory: bool },
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Error::UpstreamUnreachable(_)
            | Error::BadHandshake(_)
            | Error::OryUnreachable(_)
            | Error::SessionLookupFailed(_) => 502,
            Error::UpstreamTimeout(_) | Error::OryTimeout(_) => 504,
            Error::RateLimited { .. } => 429,
            Error::Overloaded => 503,
            Error::BadRequest(_) => 400,
            Error::HeadTooLarge(_) => 431,
            Error::ClientTimeout | Error::SlowBody(_) | Error::HeadTimeout => 408,
            Error::ExpectationFailed => 417,
            Error::PayloadTooLarge(_) => 413,
            Error::NotFound => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::Internal(_) => 500,
            Error::LoginRequired { .. } | Error::StepUpRequired { .. } => 303,
            Error::SecondFactorRequired => 403,
            Error::SessionRequired => 401,
            Error::LoopDetected { .. } => 508,
        }
    }

    /// Extra headers the answer carries.
    pub fn extra_headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::RateLimited {
                retry_after: Some(v),
            } => vec![("Retry-After", v.clone())],
            Error::Overloaded => vec![("Retry-After", "1".to_owned())],
            Error::MethodNotAllowed { allow } => vec![("Allow", (*allow).to_owned())],
            Error::LoginRequired { location } | Error::StepUpRequired { location } => vec![
                ("Location", location.clone()),
                ("Cache-Control", "no-store".to_owned()),
            ],
            Error::SessionRequired => vec![
                ("WWW-Authenticate", "Bearer".to_owned()),
                ("Cache-Control", "no-store".to_owned()),
            ],
            Error::SecondFactorRequired => vec![
                (
                    "WWW-Authenticate",
                    r#"Bearer error="insufficient_user_authentication""#.to_owned(),
                ),
                ("Cache-Control", "no-store".to_owned()),
            ],
            _ => Vec::new(),
        }
    }

    /// Whether the client connection must be closed after this answer: the rest of what the
    /// client sent can no longer be delimited safely.
    pub fn closes_connection(&self) -> bool {
        matches!(
            self,
            Error::BadRequest(_)
                | Error::HeadTooLarge(_)
                | Error::ClientTimeout
                | Error::SlowBody(_)
                | Error::HeadTimeout
                | Error::PayloadTooLarge(_)
                | Error::ExpectationFailed
        )
    }

    /// Whether this is the proxy doing its job (a protected route refusing an anonymous or
    /// `aal1` request) rather than something failing: logged as information, not as an error.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::LoginRequired { .. }
                | Error::SessionRequired
                | Error::StepUpRequired { .. }
                | Error::SecondFactorRequired
        )
    }

    /// The JSON body: Ory's error shape, fields in Ory's order (code, status, message), then
    /// what a single-page app or API client needs to act without the server's log: `reason`,
    /// the error in words that name the hop, the URL tried and the fix (the access line's
    /// `error=`, [`crate::error_text`]), and `request_id`, the id that access line carries.
    pub fn json_body(&self, reason: &str, request_id: &str) -> String {
        let status = self.status();
        let text = |s: &str| serde_json::Value::String(s.to_owned());
        format!(
            "{{\"error\":{{\"code\":{status},\"status\":\"{}\",\"message\":{},\"reason\":{},\
             \"request_id\":{}}}}}",
            reason_phrase(status),
            text(&self.to_string()),
            text(reason),
            text(request_id),
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UpstreamUnreachable(e) => write!(f, "upstream unreachable: {e}"),
            Error::UpstreamTimeout(e) => write!(f, "upstream timed out: {e}"),
            Error::BadHandshake(e) => write!(f, "{e}"),
            Error::OryUnreachable(e) => write!(f, "ory unreachable: {e}"),
            Error::OryTimeout(e) => write!(f, "ory timed out: {e}"),
            Error::SessionLookupFailed(e) => write!(f, "session lookup failed: {e}"),
            Error::RateLimited { .. } => write!(f, "session lookup rate limited by ory"),
            Error::Overloaded => write!(f, "proxy overloaded, retry later"),
            Error::BadRequest(e) => write!(f, "bad request: {e}"),
            Error::HeadTooLarge(e) => write!(f, "request header fields too large: {e}"),
            Error::ClientTimeout => write!(f, "client stopped sending the request body"),
            Error::SlowBody(e) => write!(f, "{e}"),
            Error::HeadTimeout => write!(f, "request head not complete within the client timeout"),
            Error::ExpectationFailed => write!(f, "only 'Expect: 100-continue' is supported"),
            Error::PayloadTooLarge(e) => write!(f, "request body too large: {e}"),
            Error::NotFound => write!(f, "not found"),
            Error::MethodNotAllowed { allow } => write!(f, "method not allowed (allowed: {allow})"),
            Error::Internal(e) => write!(f, "internal error: {e}"),
            Error::LoginRequired { .. } => {
                write!(
                    f,
                    "this page needs a session: redirecting to the login flow"
                )
            }
            Error::SessionRequired => write!(f, "this path needs a session: sign in first"),
            Error::StepUpRequired { .. } => write!(
                f,
                "this page needs a second factor: redirecting to the step-up login"
            ),
            Error::SecondFactorRequired => write!(
                f,
                "this path needs a second factor (aal2): sign in again with it first"
            ),
            Error::LoopDetected { ory: false } => {
                write!(f, "loop detected: the upstream points back at this proxy")
            }
            Error::LoopDetected { ory: true } => {
                write!(f, "loop detected: Ory's URL points back at this proxy")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Whether an I/O error is a timeout: a socket timeout (`TimedOut`, or `WouldBlock` as Linux
/// reports an expired `SO_RCVTIMEO`) or a ureq timeout wrapped in an `io::Error`.
pub fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) || e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_has_ory_shape() {
        let e = Error::UpstreamUnreachable("connection refused".into());
        let body = e.json_body("cannot reach \"it\"", "id-1");
        assert!(body.starts_with(r#"{"error":{"code":502,"status":"Bad Gateway","message":"#));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], 502);
        assert_eq!(v["error"]["status"], "Bad Gateway");
        assert_eq!(
            v["error"]["message"],
            "upstream unreachable: connection refused"
        );
        assert_eq!(v["error"]["reason"], "cannot reach \"it\"");
        assert_eq!(v["error"]["request_id"], "id-1");
    }

    #[test]
    fn statuses() {
        assert_eq!(Error::UpstreamTimeout(String::new()).status(), 504);
        assert_eq!(Error::Overloaded.status(), 503);
        assert_eq!(Error::Overloaded.extra_headers()[0].0, "Retry-After");
        assert_eq!(Error::RateLimited { retry_after: None }.status(), 429);
        assert!(Error::RateLimited { retry_after: None }
            .extra_headers()
            .is_empty());
        assert_eq!(Error::NotFound.status(), 404);
        let e = Error::SecondFactorRequired;
        assert_eq!(e.status(), 403);
        assert_eq!(
            e.extra_headers()[0],
            (
                "WWW-Authenticate",
                r#"Bearer error="insufficient_user_authentication""#.to_owned()
            )
        );
        assert!(e.is_refusal());
        let e = Error::StepUpRequired {
            location: "/x".into(),
        };
        assert_eq!((e.status(), e.extra_headers()[0].1.as_str()), (303, "/x"));
    }
}
