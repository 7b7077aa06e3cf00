//! The one place a request's failure is answered: whatever step failed (routing, the session,
//! forwarding, an upgrade, the proxy's own endpoints) returns an [`Error`], and this turns it into
//! the status, the headers, the body (JSON in Ory's shape, an HTML page for a browser) and the
//! words of the access line.

use crate::error::Error;
use crate::error_text;
use crate::http::error::Error as WireError;
use crate::http::response::Body;
use crate::proxy::{header, App, Context};

/// What a failure on the client's side of the wire is for the request: the connection layer's
/// words kept, the status the same.
impl From<WireError> for Error {
    fn from(e: WireError) -> Error {
        match e {
            WireError::BadHead(why) => Error::BadRequest(why),
            WireError::MethodNotAllowed { allow } => Error::MethodNotAllowed { allow },
            WireError::HeadTooLarge(why) => Error::HeadTooLarge(why),
            WireError::BodyTooLarge(why) => Error::PayloadTooLarge(why),
            WireError::HeadTimedOut => Error::HeadTimeout,
            WireError::UnknownExpectation => Error::ExpectationFailed,
            WireError::Overloaded => Error::Overloaded,
            WireError::BodyTimedOut => Error::ClientTimeout,
            WireError::SlowBody(why) => Error::SlowBody(why),
            WireError::BadChunk(why) => Error::BadRequest(format!("malformed chunked body: {why}")),
            WireError::BodyCut(why) => {
                Error::BadRequest(format!("request body ended early: {why}"))
            }
        }
    }
}

impl App {
    /// Answers with the JSON error body (an HTML page when a browser asks for one) and puts the
    /// failure in words for the access line; returns the status. When the error leaves the
    /// connection unusable, it closes after the answer.
    pub(crate) fn answer_error(&self, cx: &mut Context<'_>, error: Error) -> u16 {
        if error.closes_connection() {
            cx.ex.close_after();
        }
        let status = error.status();
        let explained = error_text::explain(&error, &self.hops);
        let browser = error_text::wants_html(header(cx.req(), "accept"));
        let (content_type, body) = if browser && !error.is_refusal() {
            let page = error_text::html_page(&error, &explained, &cx.request_id);
            ("text/html; charset=utf-8", page)
        } else {
            let body = error.json_body(&explained.summary, &cx.request_id);
            ("application/json", body)
        };
        // A protected route refusing an anonymous request is the proxy doing its job: a plain
        // access line, not an error.
        if !error.is_refusal() {
            cx.error = Some(explained.summary);
        }
        let extra = error.extra_headers();
        let cors = self.cors_headers(cx.req(), false);
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", content_type)];
        headers.extend(extra.iter().map(|(n, v)| (*n, v.as_str())));
        headers.extend(cors.iter().map(|(n, v)| (*n, v.as_str())));
        if let Ok(w) = cx
            .ex
            .respond(status, &headers, Body::Bytes(body.as_bytes()))
        {
            cx.bytes = w.body_bytes;
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wire_failure_keeps_its_status_and_words() {
        let all = [
            WireError::BadHead("malformed request line".into()),
            WireError::MethodNotAllowed { allow: "GET" },
            WireError::HeadTooLarge("x".into()),
            WireError::BodyTooLarge("x".into()),
            WireError::HeadTimedOut,
            WireError::UnknownExpectation,
            WireError::Overloaded,
            WireError::BodyTimedOut,
            WireError::SlowBody("slow".into()),
            WireError::BadChunk("bad size".into()),
            WireError::BodyCut("gone".into()),
        ];
        for wire in all {
            let status = wire.status();
            let error = Error::from(wire);
            assert_eq!(error.status(), status, "{error}");
        }
        let e = Error::from(WireError::BadChunk("bad size".into()));
        assert_eq!(
            e.to_string(),
            "bad request: malformed chunked body: bad size"
        );
        let e = Error::from(WireError::BodyCut("gone".into()));
        assert_eq!(e.to_string(), "bad request: request body ended early: gone");
    }
}
