//! One request, start to finish: route it, look up the session, forward it, stream the answer.
//!
//! Each worker thread runs [`App::handle`] for one request at a time and blocks on the network;
//! the shared [`ureq::Agent`] keeps connections to Ory and the upstream alive between requests.
//! Every failure becomes an [`Error`] and is answered in one place, [`App::answer_error`].

use crate::cache::{Cached, Fetched, SessionCache, TokenMemo};
use crate::config::Config;
use crate::cors::{self, Cors, Decision};
use crate::error::Error;
use crate::framing::{BodyFraming, Refusal};
use crate::headers;
use crate::health::Readiness;
pub use crate::intake::Precheck;
use crate::intake::{body_may_be_unread, client_body_error, BodyState, Poisoned, TrackedBody};
use crate::jwt::{Claims, KeySet};
use crate::logger;
use crate::metrics::{self, RouteKind, WhoamiOutcome};
use crate::response::{self, Body};
use crate::rewrite::{self, Rewriter};
use crate::route::{self, Route};
use crate::session::{self, Credentials, Session};
use crate::tunnel;
use std::borrow::Cow;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Instant;
use ureq::config::AutoHeaderValue;
use ureq::http;
use ureq::SendBody;

/// Session bodies whose token is remembered when the session cache is off.
pub const TOKEN_MEMO_ENTRIES: usize = 1024;

/// Where a forwarded request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Ory,
    Upstream,
}

/// Everything a worker needs, shared by all workers.
pub struct App {
    pub config: Config,
    agent: ureq::Agent,
    /// Same settings, plus `--session-timeout` as the budget of one whoami call.
    session_agent: ureq::Agent,
    keys: Option<KeySet>,
    /// `<sdk-url>/sessions/whoami`.
    whoami_url: String,
    /// `<public-url>/.ory`, sent as `Ory-Base-URL-Rewrite`.
    ory_rewrite_base: String,
    /// Whoami answers by credentials; `None` with `--session-cache-ttl 0`.
    sessions: Option<SessionCache>,
    /// Tokens by session body, for reuse when `sessions` is off.
    tokens: TokenMemo,
    /// Cookie, `Location` and body rewriting (SPEC §4).
    rewriter: Rewriter,
    /// The CORS policy (SPEC §4).
    cors: Cors,
    /// The last readiness check, for `/.ory/proxy/health/ready`.
    readiness: Readiness,
    /// Connections whose framing was refused (see [`App::precheck`]).
    pub(crate) poisoned: Poisoned,
    /// Client connections with requests in progress, for the [`crate::watchdog`].
    pub activity: Arc<crate::watchdog::Activity>,
}

/// What the access log and the metrics learn about one request while it is handled.
pub(crate) struct Exchange {
    /// The client's `X-Request-Id` when usable, else a generated one; sent to Ory and upstream.
    pub(crate) request_id: String,
    /// Where the request was headed (`local` when the proxy answers it by itself).
    route: RouteKind,
    /// The session outcome for the log: `none`, `active`, `anonymous`, `rate_limited`, `error`.
    session: &'static str,
    /// Response body bytes written.
    bytes: u64,
}

/// The longest client `X-Request-Id` kept; longer or odd ones are replaced by a generated id.
pub const MAX_REQUEST_ID: usize = 128;

/// The client's `X-Request-Id` when it is 1 to 128 visible ASCII characters, else a new one.
fn request_id_of(request: &tiny_http::Request) -> String {
    request
        .headers()
        .iter()
        .find(|h| {
            h.field
                .as_str()
                .as_str()
                .eq_ignore_ascii_case("x-request-id")
        })
        .map(|h| h.value.as_str())
        .filter(|v| {
            !v.is_empty() && v.len() <= MAX_REQUEST_ID && v.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(crate::random::request_id, str::to_owned)
}

impl App {
    /// Builds the shared state: the HTTP agent and, unless `--no-jwt`, the signing keys.
    pub fn new(config: Config, keys: Option<KeySet>) -> App {
        let builder = || {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .proxy(None)
                .user_agent(AutoHeaderValue::None)
                .accept(AutoHeaderValue::None)
                .accept_encoding(AutoHeaderValue::None)
                .allow_non_standard_methods(true)
                .max_idle_connections(config.workers * 2)
                .max_idle_connections_per_host(config.workers)
                .timeout_connect(Some(config.connect_timeout))
                .timeout_recv_response(Some(config.upstream_timeout))
                .timeout_per_read(Some(config.upstream_timeout))
                .timeout_per_write(Some(config.upstream_timeout))
        };
        let session_config = builder()
            .timeout_global(Some(config.session_timeout))
            .build();
        App {
            agent: ureq::Agent::new_with_config(builder().build()),
            session_agent: ureq::Agent::new_with_config(session_config),
            whoami_url: format!("{}{}/sessions/whoami", config.sdk.origin, config.sdk_path),
            ory_rewrite_base: format!("{}/.ory", config.public.origin),
            sessions: (config.jwt && !config.session_cache_ttl.is_zero())
                .then(|| SessionCache::new(config.session_cache_ttl)),
            tokens: TokenMemo::new(TOKEN_MEMO_ENTRIES),
            rewriter: Rewriter::new(&config),
            cors: Cors::new(
                &config.public,
                &config.allowed_cors_origins,
                &config.additional_cors_headers,
            ),
            readiness: Readiness::new(&config),
            poisoned: Poisoned::default(),
            activity: Arc::default(),
            keys,
            config,
        }
    }

    /// Handles one request, counts it and writes its access log line.
    pub fn handle(&self, request: tiny_http::Request) {
        let checked = self.precheck(&request);
        self.handle_checked(request, checked);
    }

    /// [`App::handle`] after [`App::precheck`].
    pub fn handle_checked(&self, request: tiny_http::Request, checked: Precheck) {
        let framing = match checked {
            Precheck::Checked(f) => f,
            Precheck::Poisoned => {
                // Dropped unanswered: tiny_http writes its answers in order, so whatever it
                // tries to write for this request comes after the refusal that closed the socket.
                logger::debug(|| {
                    format!(
                        "dropped {} {}: it followed a refused request on the same connection",
                        request.method().as_str(),
                        request.url().split('?').next().unwrap_or_default()
                    )
                });
                return;
            }
            Precheck::Undroppable => {
                self.refuse_undroppable(request);
                return;
            }
        };
        let started = Instant::now();
        let method = request.method().as_str().to_owned();
        let target = request.url().to_owned();
        let mut ex = Exchange {
            request_id: request_id_of(&request),
            route: RouteKind::Local,
            session: "none",
            bytes: 0,
        };
        let status = match (framing, route::origin_form(&target)) {
            (Err(refusal), _) => {
                let error = match refusal {
                    Refusal::TooLarge(m) => Error::HeadTooLarge(m),
                    Refusal::Ambiguous(m) => Error::BadRequest(m),
                };
                self.fail(request, &method, &target, error, &mut ex)
            }
            (Ok(_), None) => self.fail(
                request,
                &method,
                &target,
                Error::BadRequest("request target must be a path".into()),
                &mut ex,
            ),
            (Ok(_), Some(_)) if method == "OPTIONS" && is_preflight(&request) => {
                self.answer_preflight(request, &target)
            }
            (Ok(framing), Some(t)) => match route::classify(t, &method, self.config.jwt) {
                Route::Jwks => {
                    let jwks = self.keys.as_ref().map(KeySet::jwks_json).unwrap_or(b"");
                    self.serve_own(request, 200, "application/json", jwks, &mut ex)
                }
                Route::Alive => self.serve_read_only(request, &method, &target, &mut ex, |_| {
                    (200, "application/json", br#"{"status":"ok"}"#.to_vec())
                }),
                Route::Ready => self.serve_read_only(request, &method, &target, &mut ex, |app| {
                    let report = app.readiness.check();
                    (
                        report.status(),
                        "application/json",
                        report.json().into_bytes(),
                    )
                }),
                Route::Metrics if self.config.metrics => {
                    self.serve_read_only(request, &method, &target, &mut ex, |_| {
                        (200, metrics::CONTENT_TYPE, metrics::render().into_bytes())
                    })
                }
                Route::Metrics | Route::ProxyOwn => {
                    self.fail(request, &method, &target, Error::NotFound, &mut ex)
                }
                Route::Ory(path) => {
                    ex.route = RouteKind::Ory;
                    let to = (Dest::Ory, path.as_str(), framing);
                    self.forward_any(request, &method, &target, to, &mut ex)
                }
                Route::Upstream(path) => {
                    ex.route = RouteKind::Upstream;
                    let to = (Dest::Upstream, path, framing);
                    self.forward_any(request, &method, &target, to, &mut ex)
                }
            },
        };
        let elapsed = started.elapsed();
        metrics::request_finished(ex.route, status, elapsed);
        logger::access(&logger::Access {
            method: &method,
            target: &target,
            status,
            elapsed,
            bytes: ex.bytes,
            route: ex.route.as_str(),
            session: ex.session,
            request_id: &ex.request_id,
        });
    }

    /// Answers a `GET`/`HEAD`-only endpoint of the proxy's own (405 for other methods).
    fn serve_read_only(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        ex: &mut Exchange,
        answer: impl FnOnce(&App) -> (u16, &'static str, Vec<u8>),
    ) -> u16 {
        if method != "GET" && method != "HEAD" {
            let error = Error::MethodNotAllowed { allow: "GET, HEAD" };
            return self.fail(request, method, target, error, ex);
        }
        let (status, content_type, body) = answer(self);
        self.serve_own(request, status, content_type, &body, ex)
    }

    /// Writes one of the proxy's own answers (never cached by intermediaries).
    fn serve_own(
        &self,
        request: tiny_http::Request,
        status: u16,
        content_type: &str,
        body: &[u8],
        ex: &mut Exchange,
    ) -> u16 {
        let cors = self.cors_headers(&request, false);
        let mut headers = vec![
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
        ];
        headers.extend(cors.iter().map(|(n, v)| (*n, v.as_str())));
        if let Ok(w) = response::write(request, status, &headers, Body::Bytes(body)) {
            ex.bytes = w.body_bytes;
        }
        status
    }

    /// [`App::answer_error`], recording the bytes written.
    fn fail(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        error: Error,
        ex: &mut Exchange,
    ) -> u16 {
        let (status, bytes) = self.answer_error_counted(request, method, target, error);
        ex.bytes = bytes;
        status
    }

    /// Answers a CORS preflight itself: 204, with the grant when the origin is allowed.
    fn answer_preflight(&self, request: tiny_http::Request, target: &str) -> u16 {
        let decision = self.cors.decide(header(&request, "origin"));
        let method = header(&request, "access-control-request-method").unwrap_or_default();
        logger::debug(|| {
            let path = target.split('?').next().unwrap_or(target);
            let requested = header(&request, "access-control-request-headers").unwrap_or("");
            let refused = self.cors.disallowed_headers(requested);
            let headers_note = if refused.is_empty() {
                String::new()
            } else {
                format!("; requested headers not allowed: {}", refused.join(", "))
            };
            format!(
                "cors: preflight {method} {path}: {}{headers_note}",
                explain(&decision, &self.config.public.origin)
            )
        });
        let headers = self.cors.preflight_headers(&decision, method);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let _ = response::write(request, 204, &headers, Body::Empty);
        204
    }

    /// The CORS headers of an actual response to `request` (and a `--debug` line explaining
    /// the decision when the request is cross-origin capable, i.e. has an `Origin`).
    pub(crate) fn cors_headers(
        &self,
        request: &tiny_http::Request,
        vary_has_origin: bool,
    ) -> Vec<(&'static str, String)> {
        let decision = self.cors.decide(header(request, "origin"));
        if decision != Decision::NoOrigin {
            logger::debug(|| {
                let target = request.url();
                format!(
                    "cors: {} {}: {}",
                    request.method().as_str(),
                    target.split('?').next().unwrap_or(target),
                    explain(&decision, &self.config.public.origin)
                )
            });
        }
        self.cors.response_headers(&decision, vary_has_origin)
    }

    /// Answers with the JSON error body and logs the failure; returns the status.
    pub fn answer_error(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        error: Error,
    ) -> u16 {
        self.answer_error_counted(request, method, target, error).0
    }

    /// [`App::answer_error`], returning the status and the body bytes written.
    ///
    /// When the error leaves the connection unusable, or the request's body may not have been
    /// read, the connection is closed after the answer: the unread body is discarded at once
    /// instead of being drained by `tiny_http` on this thread.
    fn answer_error_counted(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        error: Error,
    ) -> (u16, u64) {
        let closing = if error.closes_connection() || body_may_be_unread(&request) {
            self.stop_reading(&request)
        } else {
            None
        };
        let status = error.status();
        let path = target.split('?').next().unwrap_or(target);
        logger::error(&format!("{method} {path}: {status} {error}"));
        let body = error.json_body();
        let extra = error.extra_headers();
        let cors = self.cors_headers(&request, false);
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        headers.extend(extra.iter().map(|(n, v)| (*n, v.as_str())));
        headers.extend(cors.iter().map(|(n, v)| (*n, v.as_str())));
        let body = Body::Bytes(body.as_bytes());
        let bytes = response::write_then_close(request, status, &headers, body, closing.as_ref())
            .map_or(0, |w| w.body_bytes);
        (status, bytes)
    }

    /// A plain request or an upgrade (WebSocket and others).
    fn forward_any(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        (dest, path, framing): (Dest, &str, BodyFraming),
        ex: &mut Exchange,
    ) -> u16 {
        if !tunnel::connection_mentions_upgrade(&request) {
            return self.forward(request, method, target, (dest, path, framing), ex);
        }
        // tiny_http hands over the raw stream as the body of such a request, so no body
        // framing can be trusted: upgrades carry no body.
        if !matches!(framing, BodyFraming::None | BodyFraming::Length(0)) {
            let e =
                Error::BadRequest("a request with Connection: upgrade must not have a body".into());
            return self.fail(request, method, target, e, ex);
        }
        match tunnel::requested_protocol(&request) {
            Some(protocol) => {
                self.forward_upgrade(request, method, target, (dest, path), &protocol, ex)
            }
            None => self.forward(request, method, target, (dest, path, framing), ex),
        }
    }

    /// [`App::answer_error`] for the upgrade path.
    pub(crate) fn fail_exchange(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        error: Error,
        ex: &mut Exchange,
    ) -> u16 {
        self.fail(request, method, target, error, ex)
    }

    /// The session lookup (upstream requests with credentials, `--no-jwt` aside) and the
    /// `Authorization` value to send.
    pub(crate) fn identify(
        &self,
        request: &tiny_http::Request,
        dest: Dest,
        ex: &mut Exchange,
    ) -> Result<(Option<Fetched>, Option<Arc<str>>), Error> {
        let lookup = if dest == Dest::Upstream && self.config.jwt {
            self.session_of(request, ex)?
        } else {
            None
        };
        let authorization = match lookup.as_ref() {
            Some(fetched) => self.authorization_for(&fetched.cached)?,
            None => None,
        };
        Ok((lookup, authorization))
    }

    /// A response header from the next hop as the client gets it (`Set-Cookie` and `Location`
    /// rewritten per SPEC §4).
    pub(crate) fn rewrite_response_header<'a>(
        &self,
        dest: Dest,
        name: &str,
        value: &'a str,
    ) -> Cow<'a, str> {
        match name {
            "set-cookie" => Cow::Owned(self.rewriter.set_cookie(value)),
            "location" => match dest {
                Dest::Ory => self.rewriter.ory_location(value),
                Dest::Upstream => self.rewriter.upstream_location(value),
            }
            .map_or(Cow::Borrowed(value), Cow::Owned),
            _ => Cow::Borrowed(value),
        }
    }

    fn forward(
        &self,
        mut request: tiny_http::Request,
        method: &str,
        target: &str,
        (dest, path, framing): (Dest, &str, BodyFraming),
        ex: &mut Exchange,
    ) -> u16 {
        let (lookup, authorization) = match self.identify(&request, dest, ex) {
            Ok(x) => x,
            Err(e) => return self.fail(request, method, target, e, ex),
        };
        let outgoing = match self.build_request(
            &request,
            (method, dest, path, framing),
            authorization.as_deref(),
            &ex.request_id,
        ) {
            Ok(o) => o,
            Err(e) => return self.fail(request, method, target, e, ex),
        };
        let mut body = BodyState::default();
        let result = send(&self.agent, outgoing, &mut request, &mut body);
        if dest == Dest::Ory && is_logout(path) {
            // After Ory has seen the logout and before the client sees the answer, so the
            // client's very next request is looked up afresh.
            self.evict_session_of(&request);
        }
        let upstream_response = match result {
            Ok(r) => r,
            Err(e) => {
                let error = match body.error.take() {
                    Some(client_error) => client_body_error(&client_error),
                    None => map_send_error(dest, e),
                };
                return self.fail(request, method, target, error, ex);
            }
        };
        let body_done = match framing {
            BodyFraming::None => true,
            BodyFraming::Length(n) => body.read >= n,
            BodyFraming::Chunked => body.eof,
        };
        // The next hop answered without reading the whole body: discard the rest and end the
        // connection after this response rather than drain it on a worker.
        let closing = if body_done {
            None
        } else {
            self.stop_reading(&request)
        };
        let peer = request.remote_addr().copied();
        let status = upstream_response.status().as_u16();
        let (parts, body) = upstream_response.into_parts();
        let named = headers::connection_tokens(
            parts
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))),
        );
        // Header names from ureq are lowercase.
        let mut out: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(parts.headers.len() + 4);
        let mut vary_has_origin = false;
        for (name, value) in parts.headers.iter() {
            let name = name.as_str();
            if !headers::forward_response_header(name, &named)
                || cors::is_cors_response_header(name)
            {
                continue;
            }
            // UTF-8 passes byte for byte; other bytes (obs-text) cannot be written back by us.
            let Ok(v) = std::str::from_utf8(value.as_bytes()) else {
                logger::error(&format!(
                    "{method} {}: dropped response header {name}: not UTF-8",
                    target.split('?').next().unwrap_or(target)
                ));
                continue;
            };
            if name == "vary" {
                vary_has_origin |= cors::vary_covers_origin(v);
            }
            let v = self.rewrite_response_header(dest, name, v);
            out.push((name, v));
        }
        if let Some(l) = &lookup {
            out.extend(
                l.set_cookies
                    .iter()
                    .map(|c| ("set-cookie", Cow::Owned(self.rewriter.set_cookie(c)))),
            );
        }
        let cors = self.cors_headers(&request, vary_has_origin);
        out.extend(cors.into_iter().map(|(n, v)| (n, Cow::Owned(v))));
        let out: Vec<(&str, &str)> = out.iter().map(|(n, v)| (*n, v.as_ref())).collect();

        let mut length = parts
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|_| !parts.headers.contains_key("transfer-encoding"));
        let textual = dest == Dest::Ory
            && parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(rewrite::is_textual)
            && rewrite::is_identity_encoding(
                parts
                    .headers
                    .get("content-encoding")
                    .and_then(|v| v.to_str().ok()),
            );
        let is_head = method == "HEAD";
        if textual && is_head {
            // The rewritten length of the GET body is unknown without fetching it.
            length = None;
        }
        let mut reader = body.into_reader();
        let rewrite_body = textual
            && !response::bodiless(is_head, status)
            && !matches!(length, Some(n) if n > rewrite::MAX_REWRITE_BODY);
        let mut buffered = Vec::new();
        let mut rewritten = None;
        if rewrite_body {
            let read = (&mut reader)
                .take(rewrite::MAX_REWRITE_BODY + 1)
                .read_to_end(&mut buffered);
            if let Err(e) = read {
                let error = map_send_error(dest, SendError::Run(ureq::Error::Io(e)));
                return self.fail(request, method, target, error, ex);
            }
            if buffered.len() as u64 <= rewrite::MAX_REWRITE_BODY {
                rewritten = Some(self.rewriter.body(&buffered).unwrap_or(buffered));
                buffered = Vec::new();
            }
        }
        let mut chained = io::Cursor::new(buffered).chain(&mut reader);
        let body = match &rewritten {
            Some(bytes) => Body::Bytes(bytes),
            // Not rewritten, or larger than the limit once read: what was read goes first.
            None => Body::Stream {
                reader: &mut chained,
                length,
            },
        };
        match response::write_then_close(request, status, &out, body, closing.as_ref()) {
            Ok(w) => {
                ex.bytes = w.body_bytes;
                if w.close_delimited {
                    self.close_client(peer);
                }
                if length.is_some() && rewritten.is_none() && !response::bodiless(is_head, status) {
                    // ureq gives the connection back to its pool only on a read that finds the
                    // body's end; the copy stopped at Content-Length without one, so every
                    // request opened a new upstream connection. A fulfilled body answers this
                    // read with 0 at once, without touching the socket.
                    let _ = chained.read(&mut [0u8; 1]);
                }
            }
            Err(e) => {
                // The client saw a head promising more than it got: close the connection so it
                // notices now instead of waiting for bytes that never come.
                self.close_client(peer);
                if e.kind() != io::ErrorKind::BrokenPipe
                    && e.kind() != io::ErrorKind::ConnectionReset
                {
                    logger::error(&format!(
                        "{method} {}: response body interrupted: {e}",
                        target.split('?').next().unwrap_or(target)
                    ));
                }
            }
        }
        status
    }

    /// Looks up the session when the request carries credentials (`None` when it does not),
    /// through the session cache when it is on.
    fn session_of(
        &self,
        request: &tiny_http::Request,
        ex: &mut Exchange,
    ) -> Result<Option<Fetched>, Error> {
        let cookie = cookie_of(request);
        let mut creds = credentials_of(request, cookie.as_deref());
        if !creds.present() {
            return Ok(None);
        }
        creds.request_id = Some(&ex.request_id);
        let started = Instant::now();
        let mut asked = false;
        let mut lookup = || {
            asked = true;
            let result = session::lookup(
                &self.session_agent,
                &self.whoami_url,
                &self.config.sdk.authority,
                &creds,
            );
            metrics::whoami(match &result {
                Ok(l) if matches!(l.session, Session::Active(_)) => WhoamiOutcome::Active,
                Ok(_) => WhoamiOutcome::Anonymous,
                Err(Error::RateLimited { .. }) => WhoamiOutcome::RateLimited,
                Err(_) => WhoamiOutcome::Error,
            });
            result
        };
        let fetched = match &self.sessions {
            Some(cache) => cache.get_or_lookup(&creds, lookup),
            None => lookup().map(|l| Fetched {
                cached: Arc::new(Cached::new(l.session)),
                set_cookies: l.set_cookies,
            }),
        };
        if self.sessions.is_some() {
            if asked {
                metrics::cache_miss();
            } else {
                metrics::cache_hit();
            }
        }
        ex.session = match &fetched {
            Ok(f) if matches!(f.cached.session, Session::Active(_)) => "active",
            Ok(_) => "anonymous",
            Err(Error::RateLimited { .. }) => "rate_limited",
            Err(_) => "error",
        };
        logger::debug(|| {
            let outcome = match &fetched {
                Ok(f) => match &f.cached.session {
                    Session::Active(s) => format!("active (identity {})", s.identity_id),
                    Session::Anonymous => "anonymous".to_owned(),
                },
                Err(e) => e.to_string(),
            };
            let source = if asked { "asked ory" } else { "cached" };
            format!(
                "session lookup: {outcome} ({source}) in {:.1}ms",
                started.elapsed().as_secs_f64() * 1000.0
            )
        });
        fetched.map(Some)
    }

    /// Drops the cached session of a logout request's credentials.
    fn evict_session_of(&self, request: &tiny_http::Request) {
        if let Some(cache) = &self.sessions {
            let cookie = cookie_of(request);
            let creds = credentials_of(request, cookie.as_deref());
            let evicted = cache.evict_matching(&creds);
            logger::debug(|| format!("logout: {evicted} cached session(s) dropped"));
        }
    }

    /// `Bearer <jwt>` for an active session (a reused token while more than half of its
    /// lifetime is left), `None` for an anonymous one.
    fn authorization_for(&self, cached: &Cached) -> Result<Option<Arc<str>>, Error> {
        let active = match &cached.session {
            Session::Active(a) => a,
            Session::Anonymous => return Ok(None),
        };
        let now = crate::timefmt::unix_now();
        let ttl = self.config.jwt_ttl_secs;
        let minted = std::cell::Cell::new(false);
        let mint = |now| {
            minted.set(true);
            self.mint(active, now)
        };
        let header = match &self.sessions {
            Some(_) => cached.token_header(now, ttl, mint)?,
            None => self.tokens.token_header(&active.json, now, ttl, mint)?,
        };
        if minted.get() {
            metrics::token_minted();
        } else {
            metrics::token_reused();
        }
        Ok(Some(header))
    }

    fn mint(&self, active: &session::ActiveSession, now: u64) -> Result<String, Error> {
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| Error::Internal("no signing key".into()))?;
        keys.mint(&Claims {
            issuer: &self.config.issuer,
            subject: &active.identity_id,
            session_json: &active.json,
            now,
            ttl_secs: self.config.jwt_ttl_secs,
        })
        .map_err(|e| Error::Internal(format!("minting token: {e}")))
    }

    /// The request for the next hop, headers filtered and set per SPEC §3; no body yet.
    pub(crate) fn build_request(
        &self,
        request: &tiny_http::Request,
        (method, dest, path, framing): (&str, Dest, &str, BodyFraming),
        authorization: Option<&str>,
        request_id: &str,
    ) -> Result<Outgoing, Error> {
        let cfg = &self.config;
        let base = match dest {
            Dest::Ory => format!("{}{}", cfg.sdk.origin, cfg.sdk_path),
            Dest::Upstream => cfg.upstream.origin.clone(),
        };
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"));
        let named = headers::connection_tokens(
            request
                .headers()
                .iter()
                .map(|h| (h.field.as_str().as_str(), h.value.as_str())),
        );
        let pass_authorization = dest == Dest::Ory || !cfg.jwt;
        let mut client_host = None;
        for h in request.headers() {
            let name = h.field.as_str().as_str();
            let value = h.value.as_str();
            if name.eq_ignore_ascii_case("host") {
                client_host = Some(value);
            }
            if !headers::forward_request_header(name, &named, pass_authorization) {
                continue;
            }
            if dest == Dest::Ory && name.eq_ignore_ascii_case("accept-encoding") {
                continue;
            }
            if name.eq_ignore_ascii_case("x-request-id") {
                continue; // replaced below by the id the access log uses
            }
            builder = builder.header(name, value);
        }
        let forwarded_host = client_host.unwrap_or(&cfg.public.authority);
        let host = match dest {
            Dest::Ory => cfg.sdk.authority.as_str(),
            Dest::Upstream if cfg.rewrite_host => cfg.upstream.authority.as_str(),
            Dest::Upstream => forwarded_host,
        };
        builder = builder
            .header("host", host)
            .header("x-forwarded-for", headers::client_ip(request.remote_addr()))
            .header("x-forwarded-proto", cfg.public.scheme)
            .header("x-forwarded-host", forwarded_host)
            .header("x-request-id", request_id);
        match dest {
            Dest::Ory => {
                builder = builder
                    .header("ory-no-custom-domain-redirect", "true")
                    .header("ory-base-url-rewrite", &self.ory_rewrite_base)
                    .header("accept-encoding", "identity");
                if let Some(key) = &cfg.project_api_key {
                    builder = builder.header("ory-base-url-rewrite-token", key);
                }
            }
            Dest::Upstream => {
                if let Some(a) = authorization {
                    builder = builder.header("authorization", a);
                }
            }
        }
        if let BodyFraming::Length(n) = framing {
            builder = builder.header("content-length", n);
        }
        Ok(Outgoing { builder, framing })
    }
}

/// Every `Cookie` header of the request as one value. HTTP/1.1 clients send one, but a front
/// end that splits cookies (as HTTP/2 allows, RFC 9113 §8.2.3) sends several, and the session
/// cookie must not be lost because another `Cookie` header came after it.
fn cookie_of(request: &tiny_http::Request) -> Option<Cow<'_, str>> {
    let mut values = request
        .headers()
        .iter()
        .filter(|h| h.field.as_str().as_str().eq_ignore_ascii_case("cookie"))
        .map(|h| h.value.as_str());
    let first = values.next()?;
    let mut rest = values.peekable();
    if rest.peek().is_none() {
        return Some(Cow::Borrowed(first));
    }
    let mut joined = first.to_owned();
    for v in rest {
        joined.push_str("; ");
        joined.push_str(v);
    }
    Some(Cow::Owned(joined))
}

/// The credentials whoami needs, borrowed from the request's headers; `cookie` is
/// [`cookie_of`] the same request.
fn credentials_of<'a>(request: &'a tiny_http::Request, cookie: Option<&'a str>) -> Credentials<'a> {
    let mut creds = Credentials {
        cookie,
        ..Credentials::default()
    };
    for h in request.headers() {
        let name = h.field.as_str().as_str();
        let value = h.value.as_str();
        if name.eq_ignore_ascii_case("x-session-token") {
            creds.session_token = Some(value);
        } else if name.eq_ignore_ascii_case("authorization") {
            creds.authorization = Some(value);
        } else if name.eq_ignore_ascii_case("x-request-id") {
            creds.request_id = Some(value);
        }
    }
    creds
}

/// Whether an Ory-bound path (prefix already stripped) ends a session: the browser and API
/// logout endpoints, `/self-service/logout…`.
fn is_logout(path: &str) -> bool {
    path.starts_with("/self-service/logout")
}

/// Whether a request is a CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method` (a plain `OPTIONS` goes to the upstream).
fn is_preflight(request: &tiny_http::Request) -> bool {
    header(request, "origin").is_some()
        && header(request, "access-control-request-method").is_some()
}

/// The first value of a request header.
pub(crate) fn header<'a>(request: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// A `--debug` explanation of a CORS decision.
fn explain(decision: &Decision, public_origin: &str) -> String {
    match decision {
        Decision::NoOrigin => "no Origin header, not a CORS request".to_owned(),
        Decision::Allowed { origin, rule } => {
            format!("origin {origin} allowed by {rule}; echoed with credentials")
        }
        Decision::Denied { origin } => format!(
            "origin {origin} denied: not the public origin {public_origin} and matching no \
             --allowed-cors-origins; no CORS headers sent"
        ),
    }
}

pub(crate) struct Outgoing {
    pub(crate) builder: http::request::Builder,
    framing: BodyFraming,
}

/// Sends the request, streaming the client's body (if any) to the next hop.
fn send(
    agent: &ureq::Agent,
    outgoing: Outgoing,
    request: &mut tiny_http::Request,
    state: &mut BodyState,
) -> Result<http::Response<ureq::Body>, SendError> {
    let result = match outgoing.framing {
        BodyFraming::None | BodyFraming::Length(0) => {
            let req = outgoing.builder.body(()).map_err(SendError::Build)?;
            agent.run(req)
        }
        BodyFraming::Length(_) | BodyFraming::Chunked => {
            let mut tracked = TrackedBody {
                inner: request.as_reader(),
                state,
            };
            let body = SendBody::from_reader(&mut tracked);
            let req = outgoing.builder.body(body).map_err(SendError::Build)?;
            agent.run(req)
        }
    };
    result.map_err(SendError::Run)
}

enum SendError {
    Build(http::Error),
    Run(ureq::Error),
}

fn map_send_error(dest: Dest, e: SendError) -> Error {
    match (dest, e) {
        (_, SendError::Build(e)) => Error::BadRequest(format!("cannot forward request: {e}")),
        (Dest::Upstream, SendError::Run(ureq::Error::Timeout(t))) => {
            Error::UpstreamTimeout(t.to_string())
        }
        (Dest::Ory, SendError::Run(ureq::Error::Timeout(t))) => Error::OryTimeout(t.to_string()),
        (Dest::Upstream, SendError::Run(e)) => Error::UpstreamUnreachable(e.to_string()),
        (Dest::Ory, SendError::Run(e)) => Error::OryUnreachable(e.to_string()),
    }
}
