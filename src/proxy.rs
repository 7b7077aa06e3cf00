//! One request, start to finish: route it, look up the session, forward it, stream the answer.
//!
//! Each worker thread runs [`App::handle`] for one request at a time and blocks on the network;
//! the shared [`ureq::Agent`] keeps connections to Ory and the upstream alive between requests.
//! Every failure becomes an [`Error`] and is answered in one place, [`App::answer_error`].

use crate::cache::{Cached, Fetched, SessionCache, TokenMemo};
use crate::config::Config;
use crate::error::Error;
use crate::headers;
use crate::jwt::{Claims, KeySet};
use crate::logger;
use crate::response::{self, Body};
use crate::route::{self, Route};
use crate::session::{self, Credentials, Session};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ureq::config::AutoHeaderValue;
use ureq::http;
use ureq::SendBody;

/// Session bodies whose token is remembered when the session cache is off.
pub const TOKEN_MEMO_ENTRIES: usize = 1024;
/// Time to connect to Ory or the upstream.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to the response head, and for each read of a body.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a forwarded request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    Ory,
    Upstream,
}

/// Everything a worker needs, shared by all workers.
pub struct App {
    pub config: Config,
    agent: ureq::Agent,
    keys: Option<KeySet>,
    /// `<sdk-url>/sessions/whoami`.
    whoami_url: String,
    /// `<public-url>/.ory`, sent as `Ory-Base-URL-Rewrite`.
    ory_rewrite_base: String,
    /// Whoami answers by credentials; `None` with `--session-cache-ttl 0`.
    sessions: Option<SessionCache>,
    /// Tokens by session body, for reuse when `sessions` is off.
    tokens: TokenMemo,
}

impl App {
    /// Builds the shared state: the HTTP agent and, unless `--no-jwt`, the signing keys.
    pub fn new(config: Config, keys: Option<KeySet>) -> App {
        let agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .allow_non_standard_methods(true)
            .max_idle_connections(config.workers * 2)
            .max_idle_connections_per_host(config.workers)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(RESPONSE_TIMEOUT))
            .timeout_per_read(Some(RESPONSE_TIMEOUT))
            .build();
        App {
            agent: ureq::Agent::new_with_config(agent_config),
            whoami_url: format!("{}{}/sessions/whoami", config.sdk.origin, config.sdk_path),
            ory_rewrite_base: format!("{}/.ory", config.public.origin),
            sessions: (config.jwt && !config.session_cache_ttl.is_zero())
                .then(|| SessionCache::new(config.session_cache_ttl)),
            tokens: TokenMemo::new(TOKEN_MEMO_ENTRIES),
            keys,
            config,
        }
    }

    /// Handles one request and writes its access log line.
    pub fn handle(&self, request: tiny_http::Request) {
        let started = Instant::now();
        let method = request.method().as_str().to_owned();
        let target = request.url().to_owned();
        let status = match route::origin_form(&target) {
            None => self.answer_error(
                request,
                &method,
                &target,
                Error::BadRequest("request target must be a path".into()),
            ),
            Some(t) => match route::classify(t, &method, self.config.jwt) {
                Route::Jwks => self.serve_jwks(request),
                Route::ProxyOwn => self.answer_error(request, &method, &target, Error::NotFound),
                Route::Ory(path) => self.forward(request, &method, &target, Dest::Ory, &path),
                Route::Upstream(path) => {
                    self.forward(request, &method, &target, Dest::Upstream, path)
                }
            },
        };
        logger::access(&method, &target, status, started.elapsed());
    }

    fn serve_jwks(&self, request: tiny_http::Request) -> u16 {
        let jwks = self.keys.as_ref().map(KeySet::jwks_json).unwrap_or(b"");
        let headers = [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-cache"),
        ];
        let _ = response::write(request, 200, &headers, Body::Bytes(jwks));
        200
    }

    /// Answers with the JSON error body and logs the failure; returns the status.
    pub fn answer_error(
        &self,
        request: tiny_http::Request,
        method: &str,
        target: &str,
        error: Error,
    ) -> u16 {
        let status = error.status();
        let path = target.split('?').next().unwrap_or(target);
        logger::error(&format!("{method} {path}: {status} {error}"));
        let body = error.json_body();
        let extra = error.extra_headers();
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        headers.extend(extra.iter().map(|(n, v)| (*n, v.as_str())));
        let _ = response::write(request, status, &headers, Body::Bytes(body.as_bytes()));
        status
    }

    fn forward(
        &self,
        mut request: tiny_http::Request,
        method: &str,
        target: &str,
        dest: Dest,
        path: &str,
    ) -> u16 {
        let lookup = if dest == Dest::Upstream && self.config.jwt {
            match self.session_of(&request) {
                Ok(l) => l,
                Err(e) => return self.answer_error(request, method, target, e),
            }
        } else {
            None
        };
        let authorization = match lookup.as_ref() {
            Some(fetched) => match self.authorization_for(&fetched.cached) {
                Ok(t) => t,
                Err(e) => return self.answer_error(request, method, target, e),
            },
            None => None,
        };
        let outgoing =
            match self.build_request(&request, method, dest, path, authorization.as_deref()) {
                Ok(o) => o,
                Err(e) => return self.answer_error(request, method, target, e),
            };
        let result = send(&self.agent, outgoing, &mut request);
        if dest == Dest::Ory && is_logout(path) {
            // After Ory has seen the logout and before the client sees the answer, so the
            // client's very next request is looked up afresh.
            self.evict_session_of(&request);
        }
        let upstream_response = match result {
            Ok(r) => r,
            Err(e) => {
                let error = map_send_error(dest, e);
                return self.answer_error(request, method, target, error);
            }
        };
        let status = upstream_response.status().as_u16();
        let (parts, body) = upstream_response.into_parts();
        let named = headers::connection_tokens(
            parts
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))),
        );
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(parts.headers.len() + 2);
        for (name, value) in parts.headers.iter() {
            if !headers::forward_response_header(name.as_str(), &named) {
                continue;
            }
            // Values that are not visible ASCII cannot be written back by us; drop them.
            if let Ok(v) = value.to_str() {
                out.push((name.as_str(), v));
            }
        }
        if let Some(l) = &lookup {
            out.extend(l.set_cookies.iter().map(|c| ("set-cookie", c.as_str())));
        }
        let length = parts
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|_| !parts.headers.contains_key("transfer-encoding"));
        let mut reader = body.into_reader();
        let stream = Body::Stream {
            reader: &mut reader,
            length,
        };
        if let Err(e) = response::write(request, status, &out, stream) {
            if e.kind() != io::ErrorKind::BrokenPipe && e.kind() != io::ErrorKind::ConnectionReset {
                logger::error(&format!(
                    "{method} {}: response body interrupted: {e}",
                    target.split('?').next().unwrap_or(target)
                ));
            }
        }
        status
    }

    /// Looks up the session when the request carries credentials (`None` when it does not),
    /// through the session cache when it is on.
    fn session_of(&self, request: &tiny_http::Request) -> Result<Option<Fetched>, Error> {
        let creds = credentials_of(request);
        if !creds.present() {
            return Ok(None);
        }
        let started = Instant::now();
        let mut asked = false;
        let mut lookup = || {
            asked = true;
            session::lookup(
                &self.agent,
                &self.whoami_url,
                &self.config.sdk.authority,
                &creds,
            )
        };
        let fetched = match &self.sessions {
            Some(cache) => cache.get_or_lookup(&creds, lookup),
            None => lookup().map(|l| Fetched {
                cached: Arc::new(Cached::new(l.session)),
                set_cookies: l.set_cookies,
            }),
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
            let creds = credentials_of(request);
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
        let mint = |now| self.mint(active, now);
        let header = match &self.sessions {
            Some(_) => cached.token_header(now, ttl, mint)?,
            None => self.tokens.token_header(&active.json, now, ttl, mint)?,
        };
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
    fn build_request(
        &self,
        request: &tiny_http::Request,
        method: &str,
        dest: Dest,
        path: &str,
        authorization: Option<&str>,
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
        let mut chunked = false;
        for h in request.headers() {
            let name = h.field.as_str().as_str();
            let value = h.value.as_str();
            if name.eq_ignore_ascii_case("host") {
                client_host = Some(value);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = true;
            }
            if !headers::forward_request_header(name, &named, pass_authorization) {
                continue;
            }
            if dest == Dest::Ory && name.eq_ignore_ascii_case("accept-encoding") {
                continue;
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
            .header("x-forwarded-host", forwarded_host);
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
        let framing = if chunked {
            Framing::Chunked
        } else {
            match request.body_length() {
                Some(n) => {
                    builder = builder.header("content-length", n);
                    Framing::Sized(n)
                }
                None => Framing::None,
            }
        };
        Ok(Outgoing { builder, framing })
    }
}

/// The credentials whoami needs, borrowed from the request's headers.
fn credentials_of(request: &tiny_http::Request) -> Credentials<'_> {
    let mut creds = Credentials::default();
    for h in request.headers() {
        let name = h.field.as_str().as_str();
        let value = h.value.as_str();
        if name.eq_ignore_ascii_case("cookie") {
            creds.cookie = Some(value);
        } else if name.eq_ignore_ascii_case("x-session-token") {
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

enum Framing {
    None,
    Sized(usize),
    Chunked,
}

struct Outgoing {
    builder: http::request::Builder,
    framing: Framing,
}

/// Sends the request, streaming the client's body (if any) to the next hop.
fn send(
    agent: &ureq::Agent,
    outgoing: Outgoing,
    request: &mut tiny_http::Request,
) -> Result<http::Response<ureq::Body>, SendError> {
    let result = match outgoing.framing {
        Framing::None | Framing::Sized(0) => {
            let req = outgoing.builder.body(()).map_err(SendError::Build)?;
            agent.run(req)
        }
        Framing::Sized(_) | Framing::Chunked => {
            let body = SendBody::from_reader(request.as_reader());
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
