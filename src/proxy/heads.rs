//! The heads the proxy exchanges with a next hop over a socket of its own (the direct path and
//! the WebSocket handshake; everything else goes through `ureq`): the request head it writes,
//! and the response head it reads, parsed once, by `httparse`, into the same [`HeaderMap`] that
//! `ureq` answers with, so the rest of the proxy holds an answer's head one way only.

use std::io::{self, Read};
use ureq::http::{self, HeaderMap};

/// Largest response head read from a next hop.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// A next hop's response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    pub status: u16,
    /// Names lowercase, values as received (surrounding whitespace trimmed).
    pub headers: HeaderMap,
    /// The answer said `HTTP/1.1` (else `HTTP/1.0`).
    pub http11: bool,
}

impl ResponseHead {
    /// The first value of a header, when it is UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = self.headers.get(name)?;
        std::str::from_utf8(value.as_bytes()).ok()
    }
}

/// Parses a whole response head (status line, fields and the empty line that ends them).
pub fn parse_response(bytes: &[u8]) -> io::Result<ResponseHead> {
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
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for h in response.headers.iter() {
        let name = http::HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| invalid("malformed upstream header name"))?;
        let value = http::HeaderValue::from_bytes(h.value)
            .map_err(|_| invalid("malformed upstream header value"))?;
        headers.append(name, value);
    }
    Ok(ResponseHead {
        status,
        headers,
        http11: response.version == Some(1),
    })
}

/// Reads a response head (up to the empty line) from `stream`, and whatever arrived after it.
/// The head must be UTF-8: its fields are passed on to a client as text.
pub fn read_response(stream: &mut impl Read) -> io::Result<(ResponseHead, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed before its response head",
            ));
        }
        let searched = buf.len();
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = crate::http::head::head_end(&buf, searched) {
            if std::str::from_utf8(&buf[..end]).is_err() {
                return Err(invalid("response head is not UTF-8"));
            }
            let head = parse_response(&buf[..end])?;
            return Ok((head, buf[end..].to_vec()));
        }
        if buf.len() > MAX_RESPONSE_HEAD {
            return Err(invalid("upstream response head larger than 64 KiB"));
        }
    }
}

/// A request head for a next hop: `METHOD path HTTP/1.1`, the headers built by
/// `App::build_request`, and for an upgrade `Connection: Upgrade` and
/// `Upgrade: <protocol>`.
pub fn request_head(
    method: &str,
    path: &str,
    headers: &HeaderMap,
    upgrade: Option<&str>,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        crate::http::response::push_field(&mut head, name.as_str().as_bytes(), value.as_bytes());
    }
    if let Some(protocol) = upgrade {
        head.extend_from_slice(b"Connection: Upgrade\r\nUpgrade: ");
        head.extend_from_slice(protocol.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

pub(crate) fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads() {
        let h = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: caf\xc3\xa9\r\n\r\n")
            .unwrap();
        assert_eq!((h.status, h.http11), (200, true));
        assert_eq!(h.get("content-length"), Some("5"));
        assert_eq!(h.get("x-a"), Some("café"));
        assert!(
            !parse_response(b"HTTP/1.0 404 Not Found\r\n\r\n")
                .unwrap()
                .http11
        );
        for bad in [
            &b"HTTP/1.1 2000 x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n",
            b"junk\r\n\r\n",
            b"HTTP/2 101 x\r\n\r\n",
            b"HTTP/1.1 abc x\r\n\r\n",
            b"HTTP/1.1 099 x\r\n\r\n",
            b"HTTP/1.1 101 x\r\nno colon\r\n\r\n",
            b"HTTP/1.1 101 x\r\n: v\r\n\r\n",
        ] {
            assert!(parse_response(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_101_head_and_what_followed_it() {
        let mut wire: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n\x81\x00";
        let (h, rest) = read_response(&mut wire).unwrap();
        assert_eq!(h.status, 101);
        assert_eq!(h.get("upgrade"), Some("websocket"));
        assert_eq!(
            h.get("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert_eq!(rest, b"\x81\x00");
        let mut latin1: &[u8] = b"HTTP/1.1 101 x\r\nX: \xff\r\n\r\n";
        assert!(read_response(&mut latin1).is_err());
        let mut cut: &[u8] = b"HTTP/1.1 101 x\r\n";
        assert!(read_response(&mut cut).is_err());
    }

    #[test]
    fn request_heads() {
        let mut headers = HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_static("app"));
        headers.insert("x-b", http::HeaderValue::from_bytes(b"J\xfcrgen").unwrap());
        assert_eq!(
            request_head("GET", "/a?b", &headers, None),
            b"GET /a?b HTTP/1.1\r\nhost: app\r\nx-b: J\xfcrgen\r\n\r\n"
        );
        assert_eq!(
            request_head("GET", "/ws", &headers, Some("websocket")),
            b"GET /ws HTTP/1.1\r\nhost: app\r\nx-b: J\xfcrgen\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        );
    }
}
