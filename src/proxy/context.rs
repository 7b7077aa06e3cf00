//! One request's context: the exchange on its connection (head, body, the way to answer) and
//! what the access log and the metrics learn while it is handled. Every step of the request
//! path takes this one value instead of `(request, method, target, …)`.

use crate::http::conn::Exchange;
use crate::http::head::Request;
use crate::obs::metrics::RouteKind;
use std::time::Instant;

/// The longest client `X-Request-Id` kept; longer or odd ones are replaced by a generated id.
pub const MAX_REQUEST_ID: usize = 128;

/// One request while it is handled.
pub struct Context<'c> {
    /// The request on its connection.
    pub ex: Exchange<'c>,
    /// The client's `X-Request-Id` when usable, else a generated one; sent to Ory and upstream.
    pub request_id: String,
    /// Where the request was headed (`local` when the proxy answers it by itself).
    pub route: RouteKind,
    /// The session outcome for the log: `none`, `active`, `anonymous`, `rate_limited`, `error`.
    pub session: &'static str,
    /// Response body bytes written.
    pub bytes: u64,
    pub started: Instant,
    /// What went wrong, in words (`crate::error_text`), when the request failed: the access
    /// line carries it, so a failed request is one log line.
    pub error: Option<String>,
}

impl<'c> Context<'c> {
    pub fn new(ex: Exchange<'c>) -> Context<'c> {
        Context {
            request_id: request_id_of(&ex.request),
            ex,
            route: RouteKind::Local,
            session: "none",
            bytes: 0,
            started: Instant::now(),
            error: None,
        }
    }

    pub fn req(&self) -> &Request {
        &self.ex.request
    }

    pub fn method(&self) -> &str {
        &self.ex.request.method
    }

    pub fn target(&self) -> &str {
        &self.ex.request.target
    }
}

/// The client's `X-Request-Id` when it is 1 to 128 visible ASCII characters, else a new one.
fn request_id_of(request: &Request) -> String {
    header(request, "x-request-id")
        .filter(|v| {
            !v.is_empty() && v.len() <= MAX_REQUEST_ID && v.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(crate::random::request_id, str::to_owned)
}

/// The first value of a request header (when it is UTF-8).
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.header(name)
}

/// A request's headers as `(name, value)` pairs, in the order received (UTF-8 values only;
/// see [`Request::header_pairs`]).
pub fn header_pairs(request: &Request) -> impl Iterator<Item = (&str, &str)> + Clone {
    request.header_pairs()
}
