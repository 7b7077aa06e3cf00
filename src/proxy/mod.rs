//! One request, start to finish: route it, look up the session, forward it, stream the answer.
//!
//! Each client connection's thread runs [`App::handle`] for one request at a time and blocks on
//! the network; the shared [`ureq::Agent`] keeps connections to Ory and the upstream alive
//! between requests. Every step returns its failure as an [`Error`]; [`App::handle`] answers it
//! in one place (`answer`).
//!
//! This file keeps the request's path readable from top to bottom: [`App::handle`] routes, then
//! `forward` identifies the client (`identify`), builds and sends the next-hop request
//! (`outgoing`) and hands the answer to `reply`. The proxy's own endpoints are in `local`,
//! upgrades in [`crate::proxy::upgrade`]; [`Context`] is the one value every step takes.

mod answer;
mod context;
mod dest;
mod direct;
mod end_probing;
mod forward;
pub mod heads;
mod identify;
mod local;
mod loops;
pub mod ops;
mod outgoing;
mod pool;
pub mod relay;
mod reply;
mod resolve;
pub mod route;
pub mod tls;
pub mod upgrade;

pub use context::{header, header_pairs, Context, MAX_REQUEST_ID};
pub(crate) use dest::Dest;

use crate::config::Config;
use crate::error::Error;
use crate::error_text::Hops;
use crate::http::conn::{Exchange, Handler};
use crate::http::head::Request;
use crate::obs::health::Readiness;
use crate::obs::metrics::{self, RouteKind};
use crate::obs::warn_once::WarnOnce;
use crate::obs::{access, logger};
use crate::ory::cache::SessionCache;
use crate::ory::reload::LiveKeys;
use crate::ory::token_reuse::{TokenMemo, TOKEN_MEMO_ENTRIES};
use crate::policy::cors::{Cors, Decision};
use crate::proxy::route::Route;
use crate::rewrite::Rewriter;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use ureq::config::AutoHeaderValue;

/// Idle connections the shared agent keeps to Ory and the upstream.
const POOLED_CONNECTIONS: usize = 256;

/// Everything the request path needs, shared by all connections.
pub struct App {
    pub config: Config,
    pub(crate) agent: ureq::Agent,
    /// Same settings, plus `--session-timeout` as the budget of one whoami call.
    pub(crate) session_agent: ureq::Agent,
    /// The signing keys, replaced whole on a reload (SIGHUP); `None` under `--no-jwt`.
    pub(crate) keys: Option<Arc<LiveKeys>>,
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
    /// The roots `https://` next hops are checked against, and TLS for WebSocket upgrades.
    pub(crate) roots: tls::Roots,
    /// The configured hops, to put errors in words.
    pub(crate) hops: Hops,
    /// Denied CORS origins already warned about.
    pub(crate) cors_warnings: WarnOnce,
    /// Whether the warning about a large token was given (once per proxy).
    pub(crate) large_token_warned: AtomicBool,
    /// Per `--identity-header`: whether a value that could not be sent was warned about.
    pub(crate) identity_warned: Box<[AtomicBool]>,
    /// The WebSocket relays running, bounded.
    pub(crate) tunnels: relay::Tunnels,
    /// This process's `Via` token: forwarded requests carry `Via: 1.1 <token>`, and a request
    /// arriving with it came back ([`loops`]).
    pub(crate) via_token: String,
    /// Idle connections to the upstream for [`direct`] forwards.
    pub(crate) upstream_pool: pool::Pool,
}

impl App {
    /// Builds the shared state: the HTTP agents (checking `https://` next hops against
    /// `roots`) and, unless `--no-jwt`, the signing keys.
    pub fn new(config: Config, keys: Option<Arc<LiveKeys>>, roots: tls::Roots) -> App {
        let tls_config = ureq::tls::TlsConfig::builder()
            .root_certs(roots.ureq())
            .build();
        let builder = || {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .proxy(None)
                .user_agent(AutoHeaderValue::None)
                .accept(AutoHeaderValue::None)
                .accept_encoding(AutoHeaderValue::None)
                .allow_non_standard_methods(true)
                .tls_config(tls_config.clone())
                .max_idle_connections(POOLED_CONNECTIONS * 2)
                .max_idle_connections_per_host(POOLED_CONNECTIONS)
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
            agent: resolve::agent(builder().build()),
            session_agent: resolve::agent(session_config),
            whoami_url: format!("{ory_base}/sessions/whoami"),
            ory_base,
            ory_rewrite_base: format!("{}{}", config.public.origin, config.ory_prefix()),
            sessions: (config.jwt && !config.session_cache_ttl.is_zero())
                .then(|| SessionCache::new(config.session_cache_ttl)),
            tokens: TokenMemo::new(TOKEN_MEMO_ENTRIES),
            rewriter: Rewriter::new(&crate::rewrite::Places {
                public: &config.public,
                sdk: &config.sdk,
                sdk_path: &config.sdk_path,
                upstream: &config.upstream,
                ory_prefix: config.ory_prefix(),
                default_redirect_url: &config.default_redirect_url,
                cookie_domain: config.cookie_domain.as_deref(),
            }),
            cors: Cors::new(
                &config.public,
                &config.allowed_cors_origins,
                &config.additional_cors_headers,
            ),
            readiness: Readiness::new(
                format!("{}:{}", config.sdk.host, config.sdk.port),
                (config.mode == crate::config::Mode::Proxy)
                    .then(|| format!("{}:{}", config.upstream.host, config.upstream.port)),
            ),
            roots,
            hops: Hops::new(&config.upstream.origin, &config.issuer, &config.sdk_source),
            cors_warnings: WarnOnce::new(),
            via_token: loops::token(),
            tunnels: relay::Tunnels::default(),
            large_token_warned: AtomicBool::new(false),
            upstream_pool: pool::Pool::new(&config.upstream.origin),
            identity_warned: config
                .identity_headers
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect(),
            keys,
            config,
        }
    }

    /// Handles one request, counts it and writes its access log line.
    pub fn handle(&self, ex: Exchange<'_>) {
        let _in_flight = metrics::request_started();
        let mut cx = Context::new(ex);
        let status = match self.route(&mut cx) {
            Ok(status) => status,
            Err(error) => self.answer_error(&mut cx, error),
        };
        let elapsed = cx.started.elapsed();
        metrics::request_finished(cx.route, status, elapsed);
        let cors_denied = self.warn_on_cors_denial(cx.req());
        let client = self.forwarded(cx.req(), "").client;
        let outcome = access::Outcome {
            cors_denied,
            error: cx.error.as_deref(),
        };
        access::access_with(
            &access::Access {
                method: cx.method(),
                target: cx.target(),
                status,
                elapsed,
                bytes: cx.bytes,
                route: cx.route.as_str(),
                session: cx.session,
                request_id: &cx.request_id,
                client: &client,
            },
            &outcome,
        );
    }

    /// Whether the request's `Origin` is denied; the first time (per origin, rate-limited) a
    /// warning names the flag that would allow it.
    fn warn_on_cors_denial(&self, request: &Request) -> bool {
        let origin = header(request, "origin");
        let Some(warning) = origin.and_then(|o| self.cors.decide(Some(o)).denial_warning()) else {
            return false;
        };
        let origin = origin.unwrap_or_default();
        if self
            .cors_warnings
            .should_warn(origin, std::time::Instant::now())
        {
            logger::warn(&warning);
        }
        true
    }

    /// Refuses, answers locally or forwards; returns the status, or the error to answer with.
    fn route(&self, cx: &mut Context<'_>) -> Result<u16, Error> {
        if let Some(refusal) = cx.ex.request.refusal.take() {
            return Err(refusal.into());
        }
        if loops::came_back(cx.req(), &self.via_token) {
            // Sent to Ory by this proxy, or in tunnel mode, where only Ory is forwarded to.
            let ory = self.config.mode == crate::config::Mode::Tunnel
                || header(cx.req(), "ory-base-url-rewrite") == Some(&self.ory_rewrite_base);
            return Err(Error::LoopDetected { ory });
        }
        let target = cx.target().to_owned();
        let method = cx.method().to_owned();
        let framing = cx.req().framing;
        let Some(t) = route::origin_form(&target) else {
            return Err(Error::BadRequest("request target must be a path".into()));
        };
        // Before any route: a server resolving `..` its own way would reach another view than
        // the one the proxy judged (SPEC §9); `/.ory/…` and the proxy's own paths alike.
        if crate::policy::paths::has_dot_segment(t) {
            let e = Error::BadRequest("request target has a dot-segment ('.' or '..')".into());
            return Err(e);
        }
        if method == "OPTIONS" && local::is_preflight(cx.req()) {
            return Ok(self.answer_preflight(cx));
        }
        match route::classify_in(&self.config, t, &method) {
            Route::Ory(path) => {
                cx.route = RouteKind::Ory;
                self.forward_any(cx, (Dest::Ory, path.as_str(), framing))
            }
            Route::Upstream(path) => {
                cx.route = RouteKind::Upstream;
                self.forward_any(cx, (Dest::Upstream, path, framing))
            }
            own => self.serve_local(cx, own),
        }
    }

    /// The CORS headers of an actual response to `request` (and a `--debug` line explaining
    /// the decision when the request is cross-origin capable, i.e. has an `Origin`).
    pub(crate) fn cors_headers(
        &self,
        request: &Request,
        vary_has_origin: bool,
    ) -> Vec<(&'static str, String)> {
        let decision = self.cors.decide(header(request, "origin"));
        if decision != Decision::NoOrigin {
            logger::debug(|| {
                format!(
                    "cors: {} {}: {}",
                    request.method,
                    logger::path_of(&request.target),
                    decision.explain(&self.config.public.origin)
                )
            });
        }
        self.cors.response_headers(&decision, vary_has_origin)
    }
}

impl Handler for App {
    fn handle(&self, exchange: Exchange<'_>) {
        App::handle(self, exchange);
    }
}
