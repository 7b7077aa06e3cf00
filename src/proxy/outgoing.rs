//! The request for the next hop: where it goes, which of the client's headers pass, which the
//! proxy sets (SPEC §3), and how the client's body is streamed along.
//!
//! Built once per forwarded request by [`App::build_request`] and sent by [`send`]; the upgrade
//! path ([`crate::proxy::upgrade`]) builds with the same rules and writes the head itself.

use crate::error::Error;
use crate::http::body::BodyReader;
use crate::http::framing::BodyFraming;
use crate::http::head::Request;
use crate::obs::logger;
use crate::policy::forwarded::{self, Forwarded, Incoming};
use crate::policy::headers;
use crate::policy::identity;
use crate::proxy::identify::Signed;
use crate::proxy::route;
use crate::proxy::{header_pairs, App, Dest};
use ureq::http;
use ureq::SendBody;

impl App {
    /// The `X-Forwarded-*` values for the next hop and the client's address (SPEC §3,
    /// `--trusted-proxies`): the client's own chain, protocol and host only from a trusted peer.
    /// `own_host` is what `X-Forwarded-Host` says otherwise.
    pub(crate) fn forwarded(&self, request: &Request, own_host: &str) -> Forwarded {
        let trusted = &self.config.deploy.trusted_proxies;
        let xff: Vec<&str> = if trusted.is_empty() {
            Vec::new()
        } else {
            header_pairs(request)
                .filter(|(n, _)| n.eq_ignore_ascii_case("x-forwarded-for"))
                .map(|(_, v)| v)
                .collect()
        };
        let incoming = Incoming {
            peer: Some(request.peer),
            xff: &xff,
            proto: request.header("x-forwarded-proto"),
            host: request.header("x-forwarded-host"),
        };
        forwarded::decide(trusted, &incoming, self.config.public.scheme, own_host)
    }

    /// The request for the next hop, headers filtered and set per SPEC §3; no body yet.
    pub(crate) fn build_request(
        &self,
        request: &Request,
        (dest, path, framing): (Dest, &str, BodyFraming),
        signed: Option<&Signed>,
        request_id: &str,
    ) -> Result<Outgoing, Error> {
        let cfg = &self.config;
        let base = match dest {
            Dest::Ory => self.ory_base.as_str(),
            Dest::Upstream => cfg.upstream.origin.as_str(),
        };
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(format!("{base}{path}"));
        let named = headers::connection_tokens(header_pairs(request));
        let pass_authorization = dest == Dest::Ory || !cfg.jwt;
        let mut client_host = None;
        // Values keep their bytes: obs-text (0x80–0xFF) is forwarded unchanged.
        for (name, value) in request.header_bytes() {
            if name.eq_ignore_ascii_case("host") {
                client_host = std::str::from_utf8(value).ok();
            }
            if !headers::forward_request_header(name, &named, pass_authorization) {
                if headers::has_underscore(name) {
                    logger::debug(|| {
                        format!("dropped request field {name}: a name with '_' reads as '-' to CGI/WSGI")
                    });
                }
                continue;
            }
            if identity::is_configured(&cfg.identity_headers, name) {
                // Only the proxy speaks for the user under these names, signed in or not.
                logger::debug(|| format!("dropped request field {name}: an --identity-header"));
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
        let forwarded_host = route::absolute_authority(&request.target)
            .or(client_host)
            .unwrap_or(&cfg.public.authority);
        let host = match dest {
            Dest::Ory => cfg.sdk.authority.as_str(),
            Dest::Upstream if cfg.rewrite_host => cfg.upstream.authority.as_str(),
            Dest::Upstream => forwarded_host,
        };
        let fwd = self.forwarded(request, forwarded_host);
        builder = builder
            .header("host", host)
            .header("x-forwarded-for", fwd.xff)
            .header("x-forwarded-proto", fwd.proto)
            .header("x-forwarded-host", fwd.host)
            .header("x-request-id", request_id)
            .header("via", format!("1.1 {}", self.via_token));
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
                if let Some(signed) = signed {
                    builder = builder.header("authorization", &*signed.authorization);
                    for (name, value) in signed.identity.iter() {
                        builder = builder.header(name, value);
                    }
                }
            }
        }
        if let BodyFraming::Length(n) = framing {
            builder = builder.header("content-length", n);
        }
        Ok(Outgoing { builder, framing })
    }
}

pub(crate) struct Outgoing {
    pub(crate) builder: http::request::Builder,
    framing: BodyFraming,
}

/// Sends the request, streaming the client's body (if any) to the next hop.
pub(crate) fn send(
    agent: &ureq::Agent,
    outgoing: Outgoing,
    mut body: BodyReader<'_>,
) -> Result<http::Response<ureq::Body>, SendError> {
    let result = match outgoing.framing {
        BodyFraming::None | BodyFraming::Length(0) => {
            let req = outgoing.builder.body(()).map_err(SendError::Build)?;
            agent.run(req)
        }
        BodyFraming::Length(_) | BodyFraming::Chunked => {
            let body = SendBody::from_reader(&mut body);
            let req = outgoing.builder.body(body).map_err(SendError::Build)?;
            agent.run(req)
        }
    };
    result.map_err(SendError::Run)
}

pub(crate) enum SendError {
    Build(http::Error),
    Run(ureq::Error),
}

pub(crate) fn map_send_error(dest: Dest, e: SendError) -> Error {
    match e {
        SendError::Build(e) => build_error(e),
        SendError::Run(ureq::Error::Timeout(t)) => dest.timed_out(t.to_string()),
        SendError::Run(e) => dest.unreachable(e.to_string()),
    }
}

/// A request the `http` builder refused (a header the client sent that cannot be forwarded).
pub(crate) fn build_error(e: http::Error) -> Error {
    Error::BadRequest(format!("cannot forward request: {e}"))
}
