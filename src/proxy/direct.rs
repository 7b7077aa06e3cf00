//! Plain forwards to an `http://` upstream over raw kept-alive connections.
//!
//! `GET` and `HEAD` requests without a body (most of an application's traffic) are written and
//! answered here, on connections from a small LIFO stack of idle ones; the rest (bodies, other
//! methods, Ory, `https://`) goes through the shared `ureq` agent. It skips what a general
//! client does per request (a request object, header maps both ways, a pool keyed by strings).
//! A connection goes back on the stack the moment its answer has been read to the end, before
//! the client has the last bytes, so the client's next request finds it. A `GET` or `HEAD` is
//! sent again on a fresh connection when a kept one turns out closed before any byte of the
//! answer (the upstream dropped it while idle).
//!
//! The answer is parsed here (`httparse`); its body is delimited by `Content-Length`, chunked
//! encoding (read with the same reader as request bodies), or the end of the connection. The
//! connection is kept only when its answer was read to the end, said nothing about closing,
//! and left nothing unread behind it.

use crate::http::body::BodyState;
use crate::http::framing::BodyFraming;
use crate::http::input::Input;
use crate::proxy::Dest;
use crate::proxy::{App, Context};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ureq::http;

/// Largest response head read from the upstream.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Idle connections kept at most.
const MAX_IDLE: usize = 256;
/// An idle connection older than this is closed rather than used.
const MAX_IDLE_AGE: Duration = Duration::from_secs(15);

/// Idle upstream connections, most recently used last.
static IDLE: Mutex<Vec<(Input, Instant)>> = Mutex::new(Vec::new());

/// The most recently used idle connection that is not too old.
fn take_idle() -> Option<Input> {
    let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
    idle.retain(|(_, since)| since.elapsed() < MAX_IDLE_AGE);
    idle.pop().map(|(c, _)| c)
}

fn put_idle(conn: Input) {
    let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
    if idle.len() >= MAX_IDLE {
        idle.remove(0);
    }
    idle.push((conn, Instant::now()));
}

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
    ) -> io::Result<u16> {
        let is_head = cx.method() == "HEAD";
        let (upstream, status, headers, http11) = self.exchange_head(head)?;
        if status < 200 {
            // A switch the client did not ask for (RFC 9110 §15.2.2) must not reach it.
            return Err(io::Error::other(format!(
                "answered {status} to a request without upgrade"
            )));
        }
        let chunked = headers
            .get("transfer-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        let length = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
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
        let mut body = Answer {
            state: framing.map(|f| BodyState::new(f, false)),
            input: Some(upstream),
            keep: !closes && framing.is_some(),
        };
        body.release_if_done();
        Ok(self.reply(cx, (Dest::Upstream, status), &headers, &mut body, lookup))
    }

    /// Writes the request head and reads the answer's head (interim 1xx answers skipped), on
    /// the kept connection or a new one.
    /// Returns the connection, the status, the headers and whether the answer was HTTP/1.1.
    fn exchange_head(&self, head: &[u8]) -> io::Result<(Input, u16, http::HeaderMap, bool)> {
        if let Some(mut kept) = take_idle() {
            // A kept connection may have been closed by the upstream meanwhile: then the
            // request goes again, once, on a new one.
            if let Ok(Some((status, headers, http11))) = send_and_read(&mut kept, head) {
                return Ok((kept, status, headers, http11));
            }
        }
        let mut fresh = self.connect_upstream()?;
        match send_and_read(&mut fresh, head)? {
            Some((status, headers, http11)) => Ok((fresh, status, headers, http11)),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed the connection without an answer",
            )),
        }
    }

    fn connect_upstream(&self) -> io::Result<Input> {
        let origin = &self.config.upstream;
        let host = origin.host.trim_start_matches('[').trim_end_matches(']');
        let mut last = io::Error::new(io::ErrorKind::NotFound, "host not found");
        for addr in (host, origin.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, self.config.connect_timeout) {
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

/// Sends `head`, reads the answer's head; `Ok(None)` when the connection ended before any byte
/// of an answer.
type Answered = (u16, http::HeaderMap, bool);

fn send_and_read(conn: &mut Input, head: &[u8]) -> io::Result<Option<Answered>> {
    let mut w: &TcpStream = conn.stream();
    if w.write_all(head).is_err() {
        return Ok(None);
    }
    loop {
        let mut searched = 0;
        let end = loop {
            if let Some(end) = crate::http::head::head_end(conn.buffered(), searched) {
                break end;
            }
            searched = conn.buffered().len();
            if searched > MAX_RESPONSE_HEAD {
                return Err(invalid("upstream response head larger than 64 KiB"));
            }
            match conn.fill(MAX_RESPONSE_HEAD + 1) {
                Ok(0) if searched == 0 => return Ok(None),
                Ok(0) => return Err(invalid("upstream closed inside its response head")),
                Ok(_) => {}
                Err(e) if searched == 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
        };
        let (status, headers, http11) = parse_head(&conn.buffered()[..end])?;
        conn.consume(end);
        match status {
            // Interim answers (100 Continue, 103 Early Hints) are not passed on.
            100 | 102 | 103 => continue,
            _ => return Ok(Some((status, headers, http11))),
        }
    }
}

fn parse_head(bytes: &[u8]) -> io::Result<Answered> {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    let mut slots = vec![httparse::EMPTY_HEADER; lines + 1];
    let mut response = httparse::Response::new(&mut slots);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(invalid("malformed upstream response head")),
    }
    let status = response.code.ok_or_else(|| invalid("no status code"))?;
    if !(100..=599).contains(&status) {
        return Err(invalid("upstream status code out of range"));
    }
    let mut headers = http::HeaderMap::with_capacity(response.headers.len());
    for h in response.headers.iter() {
        let name = http::HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| invalid("malformed upstream header name"))?;
        let value = http::HeaderValue::from_bytes(h.value)
            .map_err(|_| invalid("malformed upstream header value"))?;
        headers.append(name, value);
    }
    Ok((status, headers, response.version == Some(1)))
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// The answer's body as the reply reads it; its connection goes back to the idle stack the
/// moment the body's end is read.
struct Answer {
    /// `None`: delimited by the end of the connection.
    state: Option<BodyState>,
    input: Option<Input>,
    keep: bool,
}

impl Answer {
    fn release_if_done(&mut self) {
        if self.state.as_ref().is_some_and(BodyState::done) {
            if let Some(input) = self.input.take() {
                if self.keep && input.buffered().is_empty() {
                    put_idle(input);
                }
            }
        }
    }
}

impl Read for Answer {
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

/// The request head for the upstream: `METHOD path HTTP/1.1`, then the headers built by
/// [`App::build_request`].
pub(crate) fn request_head(method: &str, path: &str, headers: &http::HeaderMap) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        crate::http::response::push_field(&mut head, name.as_str().as_bytes(), value.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The answer when the direct forward failed before anything was answered.
pub(crate) fn error_of(e: &io::Error) -> crate::error::Error {
    if crate::error::is_timeout(e) {
        crate::error::Error::UpstreamTimeout(e.to_string())
    } else {
        crate::error::Error::UpstreamUnreachable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads() {
        let (status, headers, http11) =
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: caf\xc3\xa9\r\n\r\n")
                .unwrap();
        assert_eq!((status, http11), (200, true));
        assert_eq!(headers.get("content-length").unwrap(), "5");
        assert_eq!(headers.get("x-a").unwrap().as_bytes(), "café".as_bytes());
        let (_, _, http11) = parse_head(b"HTTP/1.0 404 Not Found\r\n\r\n").unwrap();
        assert!(!http11);
        for bad in [
            &b"HTTP/1.1 2000 x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n",
            b"junk\r\n\r\n",
        ] {
            assert!(parse_head(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn request_heads() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_static("app"));
        headers.insert("x-b", http::HeaderValue::from_bytes(b"J\xfcrgen").unwrap());
        let head = request_head("GET", "/a?b", &headers);
        assert_eq!(
            head,
            b"GET /a?b HTTP/1.1\r\nhost: app\r\nx-b: J\xfcrgen\r\n\r\n"
        );
    }
}
