//! The next hop's answer on its way back to the client: which response headers pass, how
//! `Set-Cookie` and `Location` are rewritten, whether an Ory body is buffered and rewritten or
//! streamed as is, and the CORS headers the proxy adds.
//!
//! [`App::reply`] takes over once the next hop has answered; everything before (routing, the
//! session, the outgoing request) is in [`crate::proxy`].

use crate::error::Error;
use crate::http::response::{self, Body};
use crate::obs::logger;
use crate::ory::cache::Fetched;
use crate::policy::cors;
use crate::policy::headers;
use crate::proxy::end_probing::EndProbing;
use crate::proxy::outgoing::{map_send_error, SendError};
use crate::proxy::{App, Context, Dest};
use crate::rewrite::body as body_rewrite;
use std::borrow::Cow;
use std::io::{self, Read};
use ureq::http;

impl App {
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

    /// The next hop's response headers as the client gets them (the answer's, and the 101 of a
    /// WebSocket): hop-by-hop ones and those its `Connection` names dropped, `Set-Cookie` and
    /// `Location` rewritten, the cookies Ory set during the session lookup added. With
    /// `own_cors`, the next hop's CORS headers are dropped too: the proxy writes its own.
    /// Header names in a `HeaderMap` are lowercase.
    pub(crate) fn passed_headers<'h>(
        &self,
        cx: &Context<'_>,
        dest: Dest,
        response_headers: &'h http::HeaderMap,
        lookup: Option<&Fetched>,
        own_cors: bool,
    ) -> Vec<(&'h str, Cow<'h, str>)> {
        // A map lookup instead of a walk over every header.
        let named = headers::connection_tokens(
            response_headers
                .get_all("connection")
                .iter()
                .filter_map(|v| Some(("connection", v.to_str().ok()?))),
        );
        let mut out: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(response_headers.len() + 4);
        for (name, value) in response_headers.iter() {
            let name = name.as_str();
            if !headers::forward_response_header(name, &named)
                || (own_cors && cors::is_cors_response_header(name))
            {
                continue;
            }
            // UTF-8 passes byte for byte; other bytes (obs-text) cannot be written back by us.
            let Ok(v) = std::str::from_utf8(value.as_bytes()) else {
                logger::error(&format!(
                    "{} {}: dropped response header {name}: not UTF-8",
                    cx.method(),
                    logger::path_of(cx.target())
                ));
                continue;
            };
            out.push((name, self.rewrite_response_header(dest, name, v)));
        }
        if let Some(l) = lookup {
            out.extend(
                l.set_cookies
                    .iter()
                    .map(|c| ("set-cookie", Cow::Owned(self.rewriter.set_cookie(c)))),
            );
        }
        out
    }

    /// Passes the next hop's response back to the client; returns the status for the access log.
    /// `response_headers` have lowercase names; `reader` is the response body as received.
    pub(crate) fn reply(
        &self,
        cx: &mut Context<'_>,
        (dest, status): (Dest, u16),
        response_headers: &http::HeaderMap,
        mut reader: &mut dyn Read,
        lookup: Option<&Fetched>,
    ) -> Result<u16, Error> {
        let method = cx.method().to_owned();
        let mut out = self.passed_headers(cx, dest, response_headers, lookup, true);
        let vary_has_origin = out
            .iter()
            .any(|(name, value)| *name == "vary" && cors::vary_covers_origin(value));
        let cors = self.cors_headers(cx.req(), vary_has_origin);
        out.extend(cors.into_iter().map(|(n, v)| (n, Cow::Owned(v))));
        let out: Vec<(&str, &str)> = out.iter().map(|(n, v)| (*n, v.as_ref())).collect();

        let mut length = response_headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|_| !response_headers.contains_key("transfer-encoding"));
        let textual = dest == Dest::Ory
            && response_headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(body_rewrite::is_textual)
            && body_rewrite::is_identity_encoding(
                response_headers
                    .get("content-encoding")
                    .and_then(|v| v.to_str().ok()),
            );
        let is_head = method == "HEAD";
        if textual && is_head {
            // The rewritten length of the GET body is unknown without fetching it.
            length = None;
        }
        let rewrite_body = textual
            && !response::bodiless(is_head, status)
            && !matches!(length, Some(n) if n > body_rewrite::MAX_REWRITE_BODY);
        let mut buffered = Vec::new();
        let mut rewritten = None;
        if rewrite_body {
            let read = (&mut reader)
                .take(body_rewrite::MAX_REWRITE_BODY + 1)
                .read_to_end(&mut buffered);
            if let Err(e) = read {
                return Err(map_send_error(dest, SendError::Run(ureq::Error::Io(e))));
            }
            if buffered.len() as u64 <= body_rewrite::MAX_REWRITE_BODY {
                rewritten = Some(self.rewriter.body(&buffered).unwrap_or(buffered));
                buffered = Vec::new();
            }
        }
        let chained = io::Cursor::new(buffered).chain(&mut reader);
        let mut chained = EndProbing::new(chained, length.unwrap_or(u64::MAX));
        let body = match &rewritten {
            Some(bytes) => Body::Bytes(bytes),
            // Not rewritten, or larger than the limit once read: what was read goes first.
            None => Body::Stream {
                reader: &mut chained,
                length,
            },
        };
        match cx.ex.respond(status, &out, body) {
            Ok(w) => cx.bytes = w.body_bytes,
            Err(e) => {
                // The client saw a head promising more than it got: the connection closes, so
                // it notices now instead of waiting for bytes that never come.
                if crate::http::rate::is_slow_reader(&e) {
                    cx.error = Some(e.to_string());
                } else if e.kind() != io::ErrorKind::BrokenPipe
                    && e.kind() != io::ErrorKind::ConnectionReset
                {
                    let from = match dest {
                        Dest::Ory => "Ory's",
                        Dest::Upstream => "your application's",
                    };
                    cx.error = Some(format!("{from} answer broke off midway ({e})"));
                }
            }
        }
        Ok(status)
    }
}
