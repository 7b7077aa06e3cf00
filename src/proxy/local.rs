//! The answers the proxy gives by itself, without a next hop: the JWKS document, the health and
//! metrics endpoints under `/.ory/proxy/`, and CORS preflights.
//!
//! They share one shape (a small body held in memory, `Cache-Control: no-cache`, the CORS
//! headers of the request's origin) and none of them may reach Ory or the application, so they
//! live apart from the forwarding path in [`crate::proxy`].

use crate::error::Error;
use crate::http::head::Request;
use crate::http::response::Body;
use crate::obs::logger;
use crate::obs::metrics;
use crate::ory::jwt::KeySet;
use crate::proxy::route::Route;
use crate::proxy::{header, App, Context};

impl App {
    /// Answers a route the proxy serves itself (anything but [`Route::Ory`] and
    /// [`Route::Upstream`], which the caller forwards); returns the status.
    pub(crate) fn serve_local(&self, cx: &mut Context<'_>, route: Route<'_>) -> Result<u16, Error> {
        match route {
            Route::Jwks => {
                // One snapshot: a reload in between cannot tear the document.
                let keys = self.keys.as_ref().map(|k| k.current());
                let jwks = keys.as_deref().map(KeySet::jwks_json).unwrap_or(b"");
                Ok(self.serve_own(cx, 200, "application/json", jwks))
            }
            Route::Alive => self.serve_read_only(cx, |_| {
                (200, "application/json", br#"{"status":"ok"}"#.to_vec())
            }),
            Route::Ready => self.serve_read_only(cx, |app| {
                let report = app.readiness.check();
                (
                    report.status(),
                    "application/json",
                    report.json().into_bytes(),
                )
            }),
            // With --metrics-address, metrics live on that address only (`crate::proxy::ops`).
            Route::Metrics
                if self.config.metrics && self.config.deploy.metrics_address.is_none() =>
            {
                self.serve_metrics(cx)
            }
            Route::Metrics | Route::ProxyOwn | Route::Ory(_) | Route::Upstream(_) => {
                Err(Error::NotFound)
            }
        }
    }

    /// The Prometheus page (`GET`/`HEAD`), on whichever port serves it.
    pub(crate) fn serve_metrics(&self, cx: &mut Context<'_>) -> Result<u16, Error> {
        self.serve_read_only(cx, |_| {
            (200, metrics::CONTENT_TYPE, metrics::render().into_bytes())
        })
    }

    /// Answers a `GET`/`HEAD`-only endpoint of the proxy's own (405 for other methods).
    fn serve_read_only(
        &self,
        cx: &mut Context<'_>,
        answer: impl FnOnce(&App) -> (u16, &'static str, Vec<u8>),
    ) -> Result<u16, Error> {
        if cx.method() != "GET" && cx.method() != "HEAD" {
            return Err(Error::MethodNotAllowed { allow: "GET, HEAD" });
        }
        let (status, content_type, body) = answer(self);
        Ok(self.serve_own(cx, status, content_type, &body))
    }

    /// Writes one of the proxy's own answers (never cached by intermediaries).
    fn serve_own(&self, cx: &mut Context<'_>, status: u16, content_type: &str, body: &[u8]) -> u16 {
        let cors = self.cors_headers(cx.req(), false);
        let mut headers = vec![
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
        ];
        headers.extend(cors.iter().map(|(n, v)| (*n, v.as_str())));
        if let Ok(w) = cx.ex.respond(status, &headers, Body::Bytes(body)) {
            cx.bytes = w.body_bytes;
        }
        status
    }

    /// Answers a CORS preflight itself: 204, with the grant when the origin is allowed.
    pub(crate) fn answer_preflight(&self, cx: &mut Context<'_>) -> u16 {
        let request = cx.req();
        let decision = self.cors.decide(header(request, "origin"));
        let method = header(request, "access-control-request-method").unwrap_or_default();
        logger::debug(|| {
            let path = logger::path_of(&request.target);
            let requested = header(request, "access-control-request-headers").unwrap_or("");
            let refused = self.cors.disallowed_headers(requested);
            let headers_note = if refused.is_empty() {
                String::new()
            } else {
                format!("; requested headers not allowed: {}", refused.join(", "))
            };
            format!(
                "cors: preflight {method} {path}: {}{headers_note}",
                decision.explain(&self.config.public.origin)
            )
        });
        let headers = self.cors.preflight_headers(&decision, method);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let _ = cx.ex.respond(204, &headers, Body::Empty);
        204
    }
}

/// Whether a request is a CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method` (a plain `OPTIONS` goes to the upstream).
pub(crate) fn is_preflight(request: &Request) -> bool {
    header(request, "origin").is_some()
        && header(request, "access-control-request-method").is_some()
}
