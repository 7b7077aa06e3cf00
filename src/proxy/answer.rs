//! The one place a request's failure is answered: whatever step failed (routing, the session,
//! forwarding, an upgrade, the proxy's own endpoints) returns an [`Error`], and this turns it into
//! the status, the headers, the body (JSON in Ory's shape, an HTML page for a browser) and the
//! words of the access line.

use crate::error::Error;
use crate::error_text;
use crate::http::response::Body;
use crate::proxy::{header, App, Context};

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
