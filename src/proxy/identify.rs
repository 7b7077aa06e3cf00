//! Who is asking: the credentials of a request, the session Ory (or the session cache) answers
//! for them, and the signed token that goes to the upstream with it.
//!
//! This is the only place that decides whether a request needs a whoami call and whether a
//! token is minted or reused, so the cache, the token memo and their metrics are consulted here
//! and nowhere else. Logout eviction sits here too: it must build the very same credentials as
//! the lookup did, or the cache would keep the session it was asked to forget.

use crate::error::Error;
use crate::http::head::Request;
use crate::obs::logger;
use crate::obs::metrics::{self, WhoamiOutcome};
use crate::ory::cache::{Cached, Fetched};
use crate::ory::claims::large_token_warning;
use crate::ory::jwt::{Claims, KeySet};
use crate::ory::session::{self, Credentials, Session};
use crate::policy::identity::{self, Found};
use crate::policy::protect::{self, Level};
use crate::proxy::{header_pairs, App, Context, Dest};
use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// What a signed-in request carries to the upstream: the token, and the `--identity-header`
/// fields (empty when none are configured or the session has none of the values).
pub(crate) struct Signed {
    pub(crate) authorization: Arc<str>,
    pub(crate) identity: Arc<[(String, String)]>,
}

impl App {
    /// The session lookup (upstream requests with credentials, `--no-jwt` aside) and what a
    /// signed-in request carries (the `Authorization` value, the identity fields); an anonymous
    /// request on a `--require-session` path, or one without a second factor on a
    /// `--require-aal2` path, is refused here, before anything is forwarded.
    pub(crate) fn identify(
        &self,
        cx: &mut Context<'_>,
        dest: Dest,
    ) -> Result<(Option<Fetched>, Option<Signed>), Error> {
        let lookup = if dest == Dest::Upstream && self.config.jwt {
            let (found, outcome) = self.session_of(&cx.ex.request, &cx.request_id);
            if let Some(outcome) = outcome {
                cx.session = outcome;
            }
            found?
        } else {
            None
        };
        let signed = match lookup.as_ref() {
            Some(fetched) => self.signed_for(&fetched.cached)?,
            None => None,
        };
        if dest == Dest::Upstream {
            let target = crate::proxy::route::origin_form(cx.target()).unwrap_or("/");
            let asked = (cx.method(), cx.req().header("accept"));
            let c = &self.config;
            let rules = protect::Rules {
                session: &c.require_session,
                aal2: &c.require_aal2,
            };
            let level = match lookup.as_ref().map(|f| &f.cached.session) {
                _ if signed.is_none() => Level::Anonymous,
                Some(Session::Active(a)) if a.aal2 => Level::Aal2,
                _ => Level::Aal1,
            };
            let verdict = protect::verdict(rules, &c.public.origin, asked, target, level);
            verdict.refusal().map_or(Ok(()), Err)?;
        }
        Ok((lookup, signed))
    }

    /// The token and the identity fields for an active session, `None` for an anonymous one.
    fn signed_for(&self, cached: &Cached) -> Result<Option<Signed>, Error> {
        let Some(authorization) = self.authorization_for(cached)? else {
            return Ok(None);
        };
        let identity = match &cached.session {
            Session::Active(active) if !self.config.identity_headers.is_empty() => {
                cached.identity_headers(|| self.identity_fields(active))
            }
            _ => Arc::from([]),
        };
        Ok(Some(Signed {
            authorization,
            identity,
        }))
    }

    /// The `--identity-header` fields of a session; a value that cannot be sent intact is left
    /// out with a warning, once per configured field.
    fn identity_fields(&self, active: &session::ActiveSession) -> Arc<[(String, String)]> {
        let Ok(parsed) = serde_json::from_str::<serde_json::Value>(&active.json) else {
            return Arc::from([]);
        };
        let mut fields = Vec::new();
        for (i, h) in self.config.identity_headers.iter().enumerate() {
            let why = match identity::find(&parsed, &h.path) {
                Found::Value(v) => {
                    fields.push((h.name.clone(), v));
                    continue;
                }
                Found::Nothing => continue,
                Found::ControlCharacter => "has a control character".to_owned(),
                Found::TooLong(n) => {
                    format!("is {n} bytes, over {}", identity::MAX_VALUE_BYTES)
                }
            };
            if !self.identity_warned[i].swap(true, Ordering::Relaxed) {
                logger::warn(&format!(
                    "identity header {} not sent: the value of {} {why} (identity {}); this \
                     warning is printed once",
                    h.name,
                    h.path.join("."),
                    active.identity_id
                ));
            }
        }
        fields.into()
    }
    /// Looks up the session when the request carries credentials (`None` when it does not),
    /// through the session cache when it is on; also returns the session outcome for the log.
    fn session_of(
        &self,
        request: &Request,
        request_id: &str,
    ) -> (Result<Option<Fetched>, Error>, Option<&'static str>) {
        let cookie = cookie_of(request);
        let mut creds = credentials_of(request, cookie.as_deref());
        if !creds.present() {
            return (Ok(None), None);
        }
        creds.request_id = Some(request_id);
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
        let outcome = match &fetched {
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
        (fetched.map(Some), Some(outcome))
    }

    /// Drops the cached session of a logout request's credentials.
    pub(crate) fn evict_session_of(&self, request: &Request) {
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
        let now = crate::obs::timefmt::unix_now();
        let ttl = self.config.jwt_ttl_secs;
        // One snapshot of the keys for the whole decision: a remembered token is reused only
        // if this set's signing key made it, and a fresh one is signed by that same key.
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| Error::Internal("no signing key".into()))?
            .current();
        let minted = std::cell::Cell::new(false);
        let mint = |now| {
            minted.set(true);
            self.mint(&keys, active, now)
        };
        let signer = keys.signer();
        let header = match &self.sessions {
            Some(_) => cached.token_header(now, ttl, signer, mint)?,
            None => self
                .tokens
                .token_header(&active.json, now, ttl, signer, mint)?,
        };
        if minted.get() {
            metrics::token_minted();
        } else {
            metrics::token_reused();
        }
        Ok(Some(header))
    }

    fn mint(
        &self,
        keys: &KeySet,
        active: &session::ActiveSession,
        now: u64,
    ) -> Result<String, Error> {
        let token = keys
            .mint(&Claims {
                issuer: &self.config.issuer,
                subject: &active.identity_id,
                session_json: &active.json,
                session_claim: self.config.jwt_session,
                now,
                ttl_secs: self.config.jwt_ttl_secs,
            })
            .map_err(|e| Error::Internal(format!("minting token: {e}")))?;
        if let Some(warning) = large_token_warning(token.len(), self.config.jwt_session) {
            if !self.large_token_warned.swap(true, Ordering::Relaxed) {
                logger::warn(&format!("{warning}; this warning is printed once"));
            }
        }
        Ok(token)
    }
}

/// Every `Cookie` header of the request as one value. HTTP/1.1 clients send one, but a front
/// end that splits cookies (as HTTP/2 allows, RFC 9113 §8.2.3) sends several, and the session
/// cookie must not be lost because another `Cookie` header came after it.
fn cookie_of(request: &Request) -> Option<Cow<'_, str>> {
    let mut values = header_pairs(request)
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .map(|(_, v)| v);
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

/// The credentials whoami needs, borrowed from the request's headers (the last `X-Session-Token`
/// and `Authorization` win); `cookie` is [`cookie_of`] the same request. The request id is not
/// read here: the lookup sends the one the access log uses.
fn credentials_of<'a>(request: &'a Request, cookie: Option<&'a str>) -> Credentials<'a> {
    let mut creds = Credentials {
        cookie,
        ..Credentials::default()
    };
    for (name, value) in header_pairs(request) {
        if name.eq_ignore_ascii_case("x-session-token") {
            creds.session_token = Some(value);
        } else if name.eq_ignore_ascii_case("authorization") {
            creds.authorization = Some(value);
        }
    }
    creds
}
