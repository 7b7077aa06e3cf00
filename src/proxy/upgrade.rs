//! Forwarding a WebSocket `Upgrade` request (the only protocol relayed): the handshake with the
//! next hop and the hand-over to [`crate::proxy::relay`].
//!
//! The request goes through the same routing, session lookup, token and header rules as any
//! other request; only the transport differs. The upstream's `101` is passed back to the client
//! with its headers (`Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol`, …), then both sockets are
//! relayed byte for byte. A `101` is passed on only when it is a WebSocket handshake the client
//! will accept ([`check_switch`]): otherwise the client would believe in a socket whose first
//! bytes it cannot trust, or (a browser) fail with an error the proxy never logs; such an answer
//! is a 502. `Upgrade` and `Connection` on the client's `101` are written by the connection
//! layer ([`crate::http::conn::Exchange::switch_protocols`]), never copied: they are hop-by-hop. Any other answer (a 401, a 404, a 426) is passed back as an ordinary
//! response and the connection ends. An `https://` next hop is reached over TLS
//! ([`crate::proxy::tls`]).

use crate::error::Error;
use crate::http::framing::BodyFraming;
use crate::http::response::{self, Body};
use crate::obs::logger;
use crate::proxy::forward::Prepared;
use crate::proxy::heads::{self, ResponseHead};
use crate::proxy::outgoing::build_error;
use crate::proxy::relay::{self, NextHop, Relay};
use crate::proxy::{App, Context, Dest};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

impl App {
    /// Forwards an upgrade request; returns the status for the access log.
    pub(crate) fn forward_upgrade(
        &self,
        cx: &mut Context<'_>,
        (dest, path): (Dest, &str),
        protocol: &str,
    ) -> Result<u16, Error> {
        // Whatever the answer, this connection carries no further request.
        cx.ex.close_after();
        let slot = self.tunnels.reserve().ok_or(Error::Overloaded)?;
        let Prepared { lookup, outgoing } = self.prepare(cx, (dest, path, BodyFraming::None))?;
        let origin = match dest {
            Dest::Ory => &self.config.sdk,
            Dest::Upstream => &self.config.upstream,
        };
        let full_path = match dest {
            Dest::Ory => format!("{}{path}", self.config.sdk_path),
            Dest::Upstream => path.to_owned(),
        };
        let built = outgoing.builder.body(()).map_err(build_error)?;
        let method = cx.method().to_owned();
        let head = heads::request_head(&method, &full_path, built.headers(), Some(protocol));
        let tls = origin.is_https();
        let (upstream, answer, pending) = self
            .handshake(&origin.host, origin.port, tls, &head)
            .map_err(|e| dest.io_error(&e))?;

        let passed = self.passed_headers(cx, dest, &answer.headers, lookup.as_ref(), false);
        let out: Vec<(&str, &str)> = passed.iter().map(|(n, v)| (*n, v.as_ref())).collect();

        if answer.status != 101 {
            return self.pass_refusal(cx, &answer, &out, pending, upstream);
        }
        if let Err(why) = check_switch(&answer, cx.req().header("sec-websocket-key")) {
            // Nothing the upstream sent after its 101 reaches the client.
            upstream.shutdown();
            let who = dest.who();
            let message = format!("{who} answered the WebSocket upgrade {why}");
            return Err(Error::BadHandshake(message));
        }
        let (client, client_pending) = match cx.ex.switch_protocols(protocol, &out) {
            Ok(x) => x,
            Err(e) => {
                logger::error(&format!("{method} {path}: upgrade hand-over failed: {e}"));
                upstream.shutdown();
                return Ok(101);
            }
        };
        let _ = upstream.set_write_timeout(self.config.upstream_timeout);
        let relay = Relay {
            client,
            upstream,
            client_pending,
            upstream_pending: pending,
            slot,
        };
        if let Err(e) = relay::spawn(relay) {
            logger::error(&format!("{method} {path}: cannot start relay: {e}"));
        }
        Ok(101)
    }

    /// Connects, sends the head and reads the answer's head (and what followed it).
    fn handshake(
        &self,
        host: &str,
        port: u16,
        tls: bool,
        head: &[u8],
    ) -> io::Result<(NextHop, ResponseHead, Vec<u8>)> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut last = io::Error::new(io::ErrorKind::NotFound, "host not found");
        let mut connected = None;
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, self.config.connect_timeout) {
                Ok(s) => {
                    connected = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = connected.ok_or(last)?;
        let _ = stream.set_nodelay(true);
        stream.set_read_timeout(Some(self.config.upstream_timeout))?;
        stream.set_write_timeout(Some(self.config.upstream_timeout))?;
        let mut next = match tls {
            false => NextHop::Plain(stream),
            true => NextHop::Tls(Box::new(self.roots.connect(host, stream)?)),
        };
        next.write_all(head)?;
        next.flush()?;
        let (answer, pending) = heads::read_response(&mut next)?;
        Ok((next, answer, pending))
    }

    /// Passes a non-101 answer to the client as an ordinary response; the connection then ends.
    fn pass_refusal(
        &self,
        cx: &mut Context<'_>,
        answer: &ResponseHead,
        out: &[(&str, &str)],
        pending: Vec<u8>,
        upstream: NextHop,
    ) -> Result<u16, Error> {
        if answer
            .get("transfer-encoding")
            .is_some_and(|te| !te.eq_ignore_ascii_case("identity"))
        {
            return Err(Error::UpstreamUnreachable(
                "upstream declined the upgrade with a chunked body (not supported)".into(),
            ));
        }
        let length = answer
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        let no_body = response::bodiless(cx.req().is_head(), answer.status);
        let mut reader = io::Cursor::new(pending).chain(upstream);
        let body = if no_body {
            Body::Empty
        } else {
            Body::Stream {
                reader: &mut reader,
                length,
            }
        };
        if let Ok(w) = cx.ex.respond(answer.status, out, body) {
            cx.bytes = w.body_bytes;
        }
        Ok(answer.status)
    }
}

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)), RFC 6455
/// §4.2.2. SHA-1 here proves only that the answer was made for this request, which is all the
/// protocol asks of it.
pub(crate) fn accept_key(key: &str) -> String {
    use base64::Engine;
    let data = format!("{}{WEBSOCKET_GUID}", key.trim());
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Whether an upstream `101` is a WebSocket handshake a client accepts (RFC 6455 §4.1): its
/// `Upgrade` names `websocket` and its `Sec-WebSocket-Accept` matches the client's key. The
/// error completes "the upstream answered the WebSocket upgrade …".
fn check_switch(answer: &ResponseHead, key: Option<&str>) -> Result<(), String> {
    let websocket = answer.get("upgrade").is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("websocket"))
    });
    if !websocket {
        return Err("without 'Upgrade: websocket'".into());
    }
    let Some(key) = key else {
        return Err("although the request had no Sec-WebSocket-Key".into());
    };
    match answer.get("sec-websocket-accept") {
        None => Err("without Sec-WebSocket-Accept".into()),
        Some(accept) if accept != accept_key(key) => {
            Err("with a Sec-WebSocket-Accept that does not match the request's key".into())
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(fields: &[(&str, &str)]) -> ResponseHead {
        let mut text = String::from("HTTP/1.1 101 Switching Protocols\r\n");
        for (name, value) in fields {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        heads::parse_response(text.as_bytes()).unwrap()
    }

    #[test]
    fn accept_key_is_rfc_6455s_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn a_switch_must_name_websocket_and_prove_the_key() {
        let key = Some("dGhlIHNhbXBsZSBub25jZQ==");
        let good = [
            ("Upgrade", "WebSocket"),
            ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ];
        assert_eq!(check_switch(&head(&good), key), Ok(()));
        let wrong = |fields: &[(&str, &str)], k: Option<&str>| check_switch(&head(fields), k);
        assert!(wrong(&good[1..], key).unwrap_err().contains("Upgrade"));
        let other = [("Upgrade", "h2c"), good[1]];
        assert!(wrong(&other, key).unwrap_err().contains("Upgrade"));
        assert!(wrong(&good[..1], key).unwrap_err().contains("without Sec-"));
        let bad = [
            good[0],
            ("Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ];
        assert!(wrong(&bad, key).unwrap_err().contains("does not match"));
        assert!(wrong(&good, None)
            .unwrap_err()
            .contains("no Sec-WebSocket-Key"));
    }
}
