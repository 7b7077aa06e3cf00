//! Plain forwards to an `http://` upstream over raw kept-alive connections.
//!
//! `GET` and `HEAD` requests without a body (most of an application's traffic) are written and
//! answered here, on connections from a small LIFO stack of idle ones; the rest (bodies, other
//! methods, Ory, `https://`) goes through the shared `ureq` agent. It skips what a general
//! client does per request (a request object, header maps both ways, a pool keyed by strings).
//!
//! A kept connection is shared by users one after another, so a byte that belongs to one
//! answer must never be read as the next: a stray second response (a late one, or one hidden
//! in a body longer than its `Content-Length`) would go to the next user, with its cookies.
//! Hence the rules, the first two here and the looks at the socket in [`crate::proxy::pool`]:
//! - A connection is offered back to the pool only when its answer's end was beyond doubt (one
//!   `Content-Length`, chunked ending cleanly, or no body for HEAD/204/304) and the answer said
//!   nothing about closing; the pool keeps it only when nothing was read past the answer and
//!   nothing is waiting. This happens the moment the end is read, before the client has the
//!   last bytes, so its next request finds it.
//! - A request is sent again, once, on a new connection only when a kept one was closed by
//!   the peer (end or reset) before any byte of an answer: never after a timeout or after part
//!   of an answer, since the upstream may have acted on it. `--upstream-timeout` bounds the
//!   whole exchange up to the answer's head, the resend included, without a system call in
//!   the usual case (the socket's read timeout already is the whole budget).
//!
//! The answer's head is parsed by [`crate::proxy::heads`] (`httparse`); its body is delimited by `Content-Length`, chunked
//! encoding (read with the same reader as request bodies), or the end of the connection (then
//! never kept).

use crate::http::body::BodyState;
use crate::http::framing::BodyFraming;
use crate::http::input::Input;
use crate::proxy::heads::{self, ResponseHead, MAX_RESPONSE_HEAD};
use crate::proxy::pool::Pool;
use crate::proxy::Dest;
use crate::proxy::{App, Context};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ureq::http;

/// Whether a request can take the direct path.
pub(crate) fn eligible(app: &App, dest: Dest, method: &str, framing: BodyFraming) -> bool {
    dest == Dest::Upstream
        && !app.config.upstream.is_https()
        && (method == "GET" || method == "HEAD")
        && matches!(framing, BodyFraming::None)
}

impl App {
    /// Sends `head` upstream and passes the answer back; `Err` before anything was answered.
    pub(crate) fn forward_direct(
        &self,
        cx: &mut Context<'_>,
        head: &[u8],
        lookup: Option<&crate::ory::cache::Fetched>,
    ) -> io::Result<Result<u16, crate::error::Error>> {
        let is_head = cx.method() == "HEAD";
        let (upstream, answer) = self.exchange_head(head)?;
        let ResponseHead {
            status,
            headers,
            http11,
        } = answer;
        if status < 200 {
            // A switch the client did not ask for (RFC 9110 §15.2.2) must not reach it.
            return Err(io::Error::other(format!(
                "answered {status} to a request without upgrade"
            )));
        }
        let te = headers.get_all("transfer-encoding");
        let chunked = te.iter().count() == 1
            && te
                .iter()
                .all(|v| v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked"));
        let length = content_length(&headers);
        let closes = !http11
            || crate::policy::headers::connection_tokens(
                headers
                    .get_all("connection")
                    .iter()
                    .filter_map(|v| Some(("connection", v.to_str().ok()?))),
            )
            .iter()
            .any(|t| t == "close");
        let framing = if crate::http::response::bodiless(is_head, status) {
            Some(BodyFraming::None)
        } else if chunked {
            Some(BodyFraming::Chunked)
        } else if headers.contains_key("transfer-encoding") {
            None
        } else {
            length.map(BodyFraming::Length)
        };
        // Kept only when where the answer ends is beyond doubt: one framing, stated once.
        let has_length = headers.contains_key("content-length");
        let ambiguous = (has_length && headers.contains_key("transfer-encoding"))
            || (has_length && !chunked && length.is_none());
        let mut body = Answer {
            pool: &self.upstream_pool,
            state: framing.map(|f| BodyState::new(f, false)),
            input: Some(upstream),
            keep: !closes && !ambiguous && framing.is_some(),
        };
        body.release_if_done();
        Ok(self.reply(cx, (Dest::Upstream, status), &headers, &mut body, lookup))
    }

    /// Writes the request head and reads the answer's head (interim 1xx answers skipped), on
    /// a kept connection or a new one, all within `--upstream-timeout`.
    /// Returns the connection, the status, the headers and whether the answer was HTTP/1.1.
    fn exchange_head(&self, head: &[u8]) -> io::Result<(Input, ResponseHead)> {
        let deadline = Instant::now() + self.config.upstream_timeout;
        if let Some(mut kept) = self.upstream_pool.take() {
            // The upstream may have closed the kept connection just as it was taken. Only
            // then, with no byte of an answer read, is the request sent again, once; never
            // after a timeout or part of an answer (the upstream may have acted on it).
            if let Some(answer) = send_and_read(&mut kept, head, deadline)? {
                kept.set_timeout(self.config.upstream_timeout)?;
                return Ok((kept, answer));
            }
        }
        let mut fresh = self.connect_upstream(deadline)?;
        match send_and_read(&mut fresh, head, deadline)? {
            Some(answer) => {
                fresh.set_timeout(self.config.upstream_timeout)?;
                Ok((fresh, answer))
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed the connection without an answer",
            )),
        }
    }

    fn connect_upstream(&self, deadline: Instant) -> io::Result<Input> {
        let origin = &self.config.upstream;
        let host = origin.host.trim_start_matches('[').trim_end_matches(']');
        let mut last = io::Error::new(io::ErrorKind::NotFound, "host not found");
        for addr in (host, origin.port).to_socket_addrs()? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "upstream timeout"));
            }
            match TcpStream::connect_timeout(&addr, self.config.connect_timeout.min(left)) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    s.set_write_timeout(Some(self.config.upstream_timeout))?;
                    let mut input = Input::new(Arc::new(s));
                    input.set_timeout(self.config.upstream_timeout)?;
                    return Ok(input);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// Whether an error means the peer closed the connection (a resend is safe when nothing of an
/// answer was read), as opposed to a timeout or anything else.
fn peer_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// Lets the next read wait no longer than until `deadline`. A socket whose timeout is already
/// about the time left (the usual case: the whole budget, set when it was opened) is left as it
/// is, so a request costs no system call for this.
fn bound_read(conn: &mut Input, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "upstream timeout"));
    }
    match conn.timeout() {
        Some(t) if t <= left + Duration::from_millis(20) => Ok(()),
        _ => conn.set_timeout(left),
    }
}

/// Sends `head`, reads the answer's head; `Ok(None)` when the peer closed the connection before
/// any byte of an answer (and only then).
fn send_and_read(
    conn: &mut Input,
    head: &[u8],
    deadline: Instant,
) -> io::Result<Option<ResponseHead>> {
    let mut w: &TcpStream = conn.stream();
    match w.write_all(head) {
        Ok(()) => {}
        Err(e) if peer_closed(&e) => return Ok(None),
        Err(e) => return Err(e),
    }
    // An interim answer (1xx) is part of the answer: after one, nothing is resent.
    let mut interim = false;
    loop {
        let mut searched = 0;
        let end = loop {
            if let Some(end) = crate::http::head::head_end(conn.buffered(), searched) {
                break end;
            }
            searched = conn.buffered().len();
            if searched > MAX_RESPONSE_HEAD {
                return Err(heads::invalid("upstream response head larger than 64 KiB"));
            }
            bound_read(conn, deadline)?;
            match conn.fill(MAX_RESPONSE_HEAD + 1) {
                Ok(0) if searched == 0 && !interim => return Ok(None),
                Ok(0) => return Err(heads::invalid("upstream closed inside its response head")),
                Ok(_) => {}
                Err(e) if searched == 0 && !interim && peer_closed(&e) => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        let answer = heads::parse_response(&conn.buffered()[..end])?;
        conn.consume(end);
        match answer.status {
            // Interim answers (100 Continue, 103 Early Hints) are not passed on.
            100 | 102 | 103 => interim = true,
            _ => return Ok(Some(answer)),
        }
    }
}

/// The `Content-Length` of an answer when it is beyond doubt: every value (repeated fields,
/// comma-separated lists) only digits and all the same.
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    let mut length = None;
    for value in headers.get_all("content-length") {
        for item in value.as_bytes().split(|&b| b == b',') {
            let item = item.trim_ascii();
            if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n = std::str::from_utf8(item).ok()?.parse::<u64>().ok()?;
            if length.is_some_and(|l| l != n) {
                return None;
            }
            length = Some(n);
        }
    }
    length
}

/// The answer's body as the reply reads it; its connection goes back to the idle stack the
/// moment the body's end is read, if the answer ended exactly there.
struct Answer<'a> {
    pool: &'a Pool,
    /// `None`: delimited by the end of the connection.
    state: Option<BodyState>,
    input: Option<Input>,
    keep: bool,
}

impl Answer<'_> {
    fn release_if_done(&mut self) {
        if self.state.as_ref().is_some_and(BodyState::done) {
            if let Some(input) = self.input.take() {
                if self.keep {
                    self.pool.put(input);
                }
            }
        }
    }
}

impl Read for Answer<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(input) = self.input.as_mut() else {
            return Ok(0);
        };
        let n = match &mut self.state {
            Some(state) => state.read(input, out)?,
            None => input.read(out)?,
        };
        self.release_if_done();
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unambiguous_content_length_counts() {
        let of = |values: &[&str]| {
            let mut headers = http::HeaderMap::new();
            for v in values {
                headers.append("content-length", http::HeaderValue::from_str(v).unwrap());
            }
            content_length(&headers)
        };
        assert_eq!(of(&[]), None);
        assert_eq!(of(&["5"]), Some(5));
        assert_eq!(of(&["5", " 5 "]), Some(5));
        assert_eq!(of(&["5, 5"]), Some(5));
        for bad in [
            &["+5"][..],
            &["5", "6"],
            &["5, 6"],
            &["-1"],
            &["0x5"],
            &[""],
            &["5,"],
        ] {
            assert_eq!(of(bad), None, "{bad:?}");
        }
    }
}
