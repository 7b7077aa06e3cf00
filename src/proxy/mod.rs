//! One request, start to finish: route it, look up the session, forward it, stream the answer.
//!
//! Each worker thread runs [`App::handle`] for one request at a time and blocks on the network;
//! the shared [`ureq::Agent`] keeps connections to Ory and the upstream alive between requests.
//! Every failure becomes an [`Error`] and is answered in one place, [`App::answer_error`].
//!
//! This file keeps the request's path readable from top to bottom: [`App::handle`] routes, then
//! `forward` identifies the client (`identify`), builds and sends the next-hop request
//! (`outgoing`) and hands the answer to `reply`. The proxy's own endpoints are
//! in `local`, upgrades in [`crate::proxy::upgrade`].

mod identify;
mod local;
mod outgoing;
pub mod relay;
mod reply;
pub mod route;
pub mod upgrade;

use crate::config::Config;
use crate::error::Error;
use crate::http::framing::{BodyFraming, Refusal};
pub use crate::http::intake::Precheck;
use crate::http::intake::{body_may_be_unread, client_body_error, BodyState, Poisoned};
use crate::http::response::{self, Body};
use crate::obs::health::Readiness;
use crate::obs::logger;
use crate::obs::metrics::{self, RouteKind};
use crate::ory::cache::SessionCache;
use crate::ory::jwt::KeySet;
use crate::ory::token_reuse::{TokenMemo, TOKEN_MEMO_ENTRIES};
use crate::policy::cors::{Cors, Decision};
use crate::proxy::outgoing::{map_send_error, send};
use crate::proxy::route::Route;
use crate::rewrite::Rewriter;
use std::sync::Arc;
use std::time::Instant;
use ureq::config::AutoHeaderValue;

/// Where a forwarded request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Ory,
    Upstream,
}

/// Everything a worker needs, shared by all workers.
pub struct App {
    pub config: Config,
    pub(crate) agent: ureq::Agent,
    /// Same settings, plus `--session-timeout` as the budget of one whoami call.
    pub(crate) session_agent: ureq::Agent,
    pub(crate) keys: Option<KeySet>,
    /// `<sdk-url>` (origin and path prefix), where Ory-bound paths are appended.
    pub(crate) ory_base: String,
    /// `<sdk-url>/sessions/whoami`.
    pub(crate) whoami_url: String,
    /// `<public-url>/.ory`, sent as `Ory-Base-URL-Rewrite`.
    pub(crate) ory_rewrite_base: String,
    /// Whoami answers by credentials; `None` with `--session-cache-ttl 0`.
    pub(crate) sessions: Option<SessionCache>,
    /// Tokens by session body, for reuse when `sessions` is off.
    pub(crate) tokens: TokenMemo,
    /// Cookie, `Location` and body rewriting (SPEC §4).
    pub(crate) rewriter: Rewriter,
    /// The CORS policy (SPEC §4).
    pub(crate) cors: Cors,
    /// The last readiness check, for `/.ory/proxy/health/ready`.
    pub(crate) readiness: Readiness,
    /// Connections whose framing was refused (see [`App::precheck`]).
    pub(crate) poisoned: Poisoned,
    /// Client connections with requests in progress, for the [`crate::http::watchdog`].
    pub activity: Arc<crate::http::watchdog::Activity>,
}

/// What the access log and the metrics learn about one request while it is handled.
pub(crate) struct Exchange {
    /// The client's `X-Request-Id` when usable, else a generated one; sent to Ory and upstream.
    pub(crate) request_id: String,
    /// Where the request was headed (`local` when the proxy answers it by itself).
    pub(crate) route: RouteKind,
    /// The session outcome for the log: `none`, `active`, `anonymous`, `rate_limited`, `error`.
    pub(crate) session: &'static str,
    /// Response body bytes written.
    pub(crate) bytes: u64,
}

/// The longest client `X-Request-Id` kept; longer or odd ones are replaced by a generated id.
pub const MAX_REQUEST_ID: usize = 128;

/// The client's `X-Request-Id` when it is 1 to 128 visible ASCII characters, else a new one.
fn request_id_of(request: &tiny_http::Request) -> String {
    header(request, "x-request-id")
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
        let ory_base = format!("{}{}", config.sdk.origin, config.sdk_path);
        App {
            agent: ureq::Agent::new_with_config(builder().build()),
            session_agent: ureq::Agent::new_with_config(session_config),
            whoami_url: format!("{ory_base}/sessions/whoami"),
            ory_base,
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
                        logger::path_of(request.url())
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
            (Ok(_), Some(_)) if method == "OPTIONS" && local::is_preflight(&request) => {
                self.answer_preflight(request, &target)
            }
            (Ok(framing), Some(t)) => match route::classify(t, &method, self.config.jwt) {
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
                own => self.serve_local(request, own, &method, &target, &mut ex),
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

    /// [`App::answer_error`], recording the bytes written.
    pub(crate) fn fail(
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
                    logger::path_of(target),
                    decision.explain(&self.config.public.origin)
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
        let path = logger::path_of(target);
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

    /// A plain request or a WebSocket upgrade.
    fn forward_any(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        (dest, path, framing): (Dest, &str, BodyFraming),
        ex: &mut Exchange,
    ) -> u16 {
        if !relay::connection_mentions_upgrade(&request) {
            return self.forward(request, method, target, (dest, path, framing), ex);
        }
        // tiny_http hands over the raw stream as the body of such a request, so no body
        // framing can be trusted: upgrades carry no body.
        if !matches!(framing, BodyFraming::None | BodyFraming::Length(0)) {
            let e =
                Error::BadRequest("a request with Connection: upgrade must not have a body".into());
            return self.fail(request, method, target, e, ex);
        }
        // Only WebSocket upgrades are relayed (SPEC §3: Upgrade is hop-by-hop otherwise). A
        // relayed h2c upgrade would let a client speak HTTP/2 straight to the application,
        // where no later request has its Authorization replaced (h2c smuggling); such a request
        // goes on as a plain one without its Upgrade, and tiny_http ends the connection after it.
        match relay::requested_protocol(&request) {
            Some(protocol) if is_websocket(&protocol) => {
                self.forward_upgrade(request, method, target, (dest, path), &protocol, ex)
            }
            _ => self.forward(request, method, target, (dest, path, framing), ex),
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
        let result = send(
            &self.agent,
            outgoing,
            &mut request,
            &mut body,
            self.config.port,
        );
        if dest == Dest::Ory && is_logout(path) {
            // After Ory has seen the logout and before the client sees the answer, so the
            // client's very next request is looked up afresh.
            self.evict_session_of(&request);
        }
        let upstream_response = match result {
            Ok(r) if r.status().as_u16() < 200 => {
                // ureq returns a 1xx it does not treat as interim (a 101) as the answer. A
                // switch the client did not ask for (RFC 9110 §15.2.2) must not reach it: it
                // would believe the connection switched while the proxy keeps speaking HTTP.
                let why = format!(
                    "answered {} to a request without upgrade",
                    r.status().as_u16()
                );
                let error = match dest {
                    Dest::Upstream => Error::UpstreamUnreachable(why),
                    Dest::Ory => Error::OryUnreachable(why),
                };
                return self.fail(request, method, target, error, ex);
            }
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
        self.reply(
            request,
            method,
            target,
            dest,
            upstream_response,
            lookup.as_ref(),
            closing,
            ex,
        )
    }
}

/// Whether an Ory-bound path (prefix already stripped) ends a session: the browser and API
/// logout endpoints, `/self-service/logout…`.
fn is_logout(path: &str) -> bool {
    path.starts_with("/self-service/logout")
}

/// The first value of a request header.
pub(crate) fn header<'a>(request: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    header_pairs(request)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A request's headers as `(name, value)` pairs, in the order received.
pub(crate) fn header_pairs(
    request: &tiny_http::Request,
) -> impl Iterator<Item = (&str, &str)> + Clone {
    request
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str(), h.value.as_str()))
}

/// Whether an `Upgrade` value asks for WebSocket and nothing else (what browsers send), so the
/// next hop cannot pick another protocol from a list.
fn is_websocket(protocol: &str) -> bool {
    protocol.trim().eq_ignore_ascii_case("websocket")
}
