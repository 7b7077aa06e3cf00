//! Forwarding a request to Ory or the upstream: plain requests here, WebSocket upgrades in
//! [`crate::proxy::upgrade`].
//!
//! The client's body streams straight from its connection to the next hop. If reading it fails
//! (a malformed chunk, a client that stops or leaves early), the forward fails and the client
//! gets a 4xx: the next hop never sees a body the client did not send whole.

use crate::error::Error;
use crate::http::error::Error as WireError;
use crate::http::framing::BodyFraming;
use crate::ory::cache::Fetched;
use crate::proxy::outgoing::{build_error, map_send_error, send, Outgoing};
use crate::proxy::{direct, heads, relay, App, Context, Dest};

/// What a forward and an upgrade both do first: who is asking (the session lookup and the
/// token, or a refusal), then the request for the next hop, built from the client's.
pub(crate) struct Prepared {
    pub(crate) lookup: Option<Fetched>,
    pub(crate) outgoing: Outgoing,
}

impl App {
    /// Identifies the client and builds the next hop's request (no body yet).
    pub(crate) fn prepare(
        &self,
        cx: &mut Context<'_>,
        (dest, path, framing): (Dest, &str, BodyFraming),
    ) -> Result<Prepared, Error> {
        let (lookup, signed) = self.identify(cx, dest)?;
        let outgoing = self.build_request(
            cx.req(),
            (dest, path, framing),
            signed.as_ref(),
            &cx.request_id,
        )?;
        Ok(Prepared { lookup, outgoing })
    }

    /// A plain request or a WebSocket upgrade.
    pub(crate) fn forward_any(
        &self,
        cx: &mut Context<'_>,
        (dest, path, framing): (Dest, &str, BodyFraming),
    ) -> Result<u16, Error> {
        if !relay::connection_mentions_upgrade(cx.req()) {
            return self.forward(cx, (dest, path, framing));
        }
        // An upgraded connection has no room for a body: refuse one rather than guess where
        // it ends and the other protocol begins.
        if !matches!(framing, BodyFraming::None | BodyFraming::Length(0)) {
            return Err(Error::BadRequest(
                "a request with Connection: upgrade must not have a body".into(),
            ));
        }
        // Only WebSocket upgrades are relayed (SPEC §3: Upgrade is hop-by-hop otherwise). A
        // relayed h2c upgrade would let a client speak HTTP/2 straight to the application,
        // where no later request has its Authorization replaced (h2c smuggling); such a request
        // goes on as a plain one without its Upgrade, and its connection ends after it.
        match relay::requested_protocol(cx.req()) {
            Some(protocol) if is_websocket(&protocol) => {
                self.forward_upgrade(cx, (dest, path), &protocol)
            }
            _ => {
                cx.ex.close_after();
                self.forward(cx, (dest, path, framing))
            }
        }
    }

    fn forward(
        &self,
        cx: &mut Context<'_>,
        (dest, path, framing): (Dest, &str, BodyFraming),
    ) -> Result<u16, Error> {
        let Prepared { lookup, outgoing } = self.prepare(cx, (dest, path, framing))?;
        if direct::eligible(self, dest, cx.method(), framing) {
            let built = outgoing.builder.body(()).map_err(build_error)?;
            let head = heads::request_head(cx.method(), path, built.headers(), None);
            return match self.forward_direct(cx, &head, lookup.as_ref()) {
                Ok(answered) => answered,
                Err(e) => Err(Dest::Upstream.io_error(&e)),
            };
        }
        let (_, body) = cx.ex.parts();
        let result = send(&self.agent, outgoing, body);
        if dest == Dest::Ory && is_logout(path) {
            // After Ory has seen the logout and before the client sees the answer, so the
            // client's very next request is looked up afresh.
            self.evict_session_of(cx.req());
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
                return Err(dest.unreachable(why));
            }
            Ok(r) => r,
            Err(e) => {
                return Err(match &cx.ex.body_state().error {
                    Some((kind, message)) => WireError::of_body(*kind, message).into(),
                    None => map_send_error(dest, e),
                });
            }
        };
        let status = upstream_response.status().as_u16();
        let (parts, body) = upstream_response.into_parts();
        let mut reader = body.into_reader();
        self.reply(
            cx,
            (dest, status),
            &parts.headers,
            &mut reader,
            lookup.as_ref(),
        )
    }
}

/// Whether an Ory-bound path (prefix already stripped) ends a session: the browser and API
/// logout endpoints, `/self-service/logout…`.
fn is_logout(path: &str) -> bool {
    path.starts_with("/self-service/logout")
}

/// Whether an `Upgrade` value asks for WebSocket and nothing else (what browsers send), so the
/// next hop cannot pick another protocol from a list.
fn is_websocket(protocol: &str) -> bool {
    protocol.trim().eq_ignore_ascii_case("websocket")
}
