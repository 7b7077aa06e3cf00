//! One request on its connection, as the handler sees it: the head, a reader of the body, and
//! the ways to answer (a response, or `101 Switching Protocols` and the socket handed over).
//! Every answer goes through here, so the connection learns whether it can be kept.

use super::{Conn, State};
use crate::http::body::{BodyReader, BodyState};
use crate::http::head::Request;
use crate::http::rate::{self, Meter, PacedWriter};
use crate::http::response::{self, Body, Framing, Written};
use crate::http::stream::Stream;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

/// One request on its connection: the parsed head, its body, and the way to answer.
pub struct Exchange<'c> {
    pub request: Request,
    pub(super) conn: &'c mut Conn,
}

impl Exchange<'_> {
    /// The head and a reader of the body, borrowed together.
    pub fn parts(&mut self) -> (&Request, BodyReader<'_>) {
        let conn = &mut *self.conn;
        let reader = BodyReader {
            state: &mut conn.body,
            input: &mut conn.input,
        };
        (&self.request, reader)
    }

    /// How far the body was read, and whether reading it failed.
    pub fn body_state(&self) -> &BodyState {
        &self.conn.body
    }

    /// The connection closes after the answer.
    pub fn close_after(&mut self) {
        self.conn.keep = false;
    }

    /// Writes the answer. After a failed write the connection closes.
    pub fn respond(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> io::Result<Written> {
        let conn = &mut *self.conn;
        // Once a graceful shutdown began every answer says `Connection: close`, so clients
        // stop sending on their connections.
        conn.keep = conn.keep && conn.drainable() && !conn.closing.load(Ordering::Relaxed);
        conn.state = State::Writing;
        conn.responded = true;
        let framing = Framing {
            is_head: self.request.is_head(),
            http10: self.request.minor_version == 0,
            keep_alive: conn.keep,
        };
        let (stream, pacer) = conn.input.writer();
        let result = match pacer {
            Some(pacer) => {
                let mut writer = PacedWriter {
                    stream,
                    pacer,
                    meter: Meter::new(pacer.rate),
                    timeout: &mut conn.write_timeout,
                };
                response::write(&mut writer, framing, status, headers, body)
            }
            None => response::write(stream, framing, status, headers, body),
        };
        match &result {
            Ok(w) if w.close_delimited => conn.keep = false,
            Ok(_) => {}
            Err(e) => {
                conn.keep = false;
                conn.abort = rate::is_slow_reader(e);
            }
        }
        result
    }

    /// Writes `101 Switching Protocols` to `protocol` with `headers` and hands the socket over:
    /// the stream (plain or TLS) and the bytes the client already sent after its head. `Upgrade` and
    /// `Connection` are written by [`response::switching_head`], never by the caller.
    pub fn switch_protocols(
        &mut self,
        protocol: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<(Stream, Vec<u8>)> {
        let conn = &mut *self.conn;
        conn.responded = true;
        conn.keep = false;
        let head = response::switching_head(protocol, headers);
        conn.slot.set_upgraded();
        conn.input.stream_mut().write_all(&head)?;
        if conn.input.pacer().is_some() {
            // The relay expects --client-timeout on writes, not the pacing wake-up.
            conn.input.stream().set_write_timeout(Some(conn.timeout))?;
        }
        let stream = conn.input.take_stream();
        conn.state = State::Upgraded;
        Ok((stream, conn.input.take_buffered()))
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.conn.peer
    }
}
