//! A request head: where it ends in the buffer, how it is parsed (`httparse`), and the rules a
//! head must meet before anything acts on it (SPEC §7, RFC 9112).
//!
//! Parsing and judging are pure functions over bytes, so every rule is unit-tested without a
//! socket. A head that breaks a rule still becomes a [`Request`] when it could be parsed, with
//! the [`Refusal`](Request::refusal) set: the handler answers it like any other failure (one JSON
//! error, one log line) and the connection closes after it. A head that cannot be parsed at all
//! becomes a placeholder request (method `-`, target `-`) with its refusal.
//!
//! Decisions (see docs/behaviour.md): a raw byte ≥ 0x80 in the request line is a 400 (httparse
//! would accept it, but a target is ASCII by RFC 3986 and the upstream could decode it in
//! another charset); field values keep their bytes (obs-text is forwarded unchanged); bare-LF
//! line endings are served like CRLF.

use crate::http::error::Error;
use crate::http::framing::{self, BodyFraming};
use std::net::SocketAddr;

/// Largest request head (request line and fields, as received) the proxy accepts.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The methods listed in `Allow` when `CONNECT` or `TRACE` is refused.
pub const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// One header field: the name as received (a token), the value's bytes (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: Vec<u8>,
}

/// A parsed request head, and what the connection layer decided about it.
#[derive(Debug)]
pub struct Request {
    /// A token (RFC 9110 §5.6.2): no control or non-ASCII byte.
    pub method: String,
    /// The raw request-target: visible ASCII, never decoded.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub fields: Vec<Field>,
    /// The client's address (IPv4-mapped IPv6 addresses in their IPv4 form).
    pub peer: SocketAddr,
    pub framing: BodyFraming,
    /// Why the connection layer refuses this request, if it does: the handler answers this
    /// error and the connection closes after it.
    pub refusal: Option<Error>,
    /// `Expect: 100-continue` on HTTP/1.1: `100 Continue` goes out when the body is first read.
    pub expects_continue: bool,
    /// Whether the client wants the connection kept after this exchange.
    pub keep_alive: bool,
}

impl Request {
    /// The first value of a header (case-insensitive name), when it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_pairs()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The headers whose values are UTF-8, as `(name, value)` in the order received. A value
    /// with other bytes (obs-text) is forwarded unchanged but not read by the proxy's logic.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.fields
            .iter()
            .filter_map(|f| Some((f.name.as_str(), std::str::from_utf8(&f.value).ok()?)))
    }

    /// Every header with its value's raw bytes, in the order received.
    pub fn header_bytes(&self) -> impl Iterator<Item = (&str, &[u8])> + Clone {
        self.fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_slice()))
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// A request standing for a head that could not be parsed.
    pub fn unparsable(peer: SocketAddr, refusal: Error) -> Request {
        Request {
            method: "-".into(),
            target: "-".into(),
            minor_version: 1,
            fields: Vec::new(),
            peer,
            framing: BodyFraming::None,
            refusal: Some(refusal),
            expects_continue: false,
            keep_alive: false,
        }
    }
}

/// How much of an unfinished head [`refused_early`] looks at; past it, the head's end (or the
/// deadline) decides, so a head trickled in tiny pieces costs no more than 4 KiB per read.
const EARLY_CHECK_BYTES: usize = 4 * 1024;

/// Whether the start of a head that has not ended yet already breaks the request line's grammar
/// (a method, target or version no request can have: a TLS hello or binary sent to the plain
/// port, a typo'd method). Such a client gets its 400 at once instead of a 408 at the head
/// deadline; [`parse`] of the same bytes gives the refusal.
pub fn refused_early(partial: &[u8]) -> bool {
    if partial.len() > EARLY_CHECK_BYTES {
        return false;
    }
    let line = match partial.iter().position(|&b| b == b'\n') {
        Some(end) if partial[..end].iter().any(|&b| b >= 0x80) => return true,
        Some(end) => &partial[..=end],
        None => partial,
    };
    let mut no_fields = [httparse::EMPTY_HEADER; 0];
    matches!(
        httparse::Request::new(&mut no_fields).parse(line),
        Err(e) if e != httparse::Error::TooManyHeaders
    )
}

/// The length of the head at the start of `buf` (up to and including its empty line), once the
/// empty line has arrived; `searched` is how far an earlier call already looked.
pub fn head_end(buf: &[u8], searched: usize) -> Option<usize> {
    let from = searched.saturating_sub(2);
    let mut i = from;
    while let Some(p) = buf[i..].iter().position(|&b| b == b'\n') {
        let lf = i + p;
        match buf.get(lf + 1) {
            Some(b'\n') => return Some(lf + 2),
            Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => return Some(lf + 3),
            _ => {}
        }
        i = lf + 1;
    }
    None
}

/// Parses a complete head (`head` ends with its empty line) and applies the rules of SPEC §7.
pub fn parse(head: &[u8], peer: SocketAddr) -> Request {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    if head[..line_end].iter().any(|&b| b >= 0x80) {
        let e = Error::BadHead("request line with a non-ASCII byte".into());
        return Request::unparsable(peer, e);
    }
    // At most one field per line: sized from the head itself, no count cap of its own.
    let lines = head.iter().filter(|&&b| b == b'\n').count();
    let mut slots = vec![httparse::EMPTY_HEADER; lines + 1];
    let mut parsed = httparse::Request::new(&mut slots);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            let e = Error::BadHead("malformed request head".into());
            return Request::unparsable(peer, e);
        }
        Err(e) => {
            let why = match e {
                httparse::Error::HeaderName => "malformed header field name (or a folded line)",
                httparse::Error::HeaderValue => "malformed header field value",
                httparse::Error::Token => "malformed method or request target",
                httparse::Error::Version => "unsupported HTTP version",
                _ => "malformed request head",
            };
            return Request::unparsable(peer, Error::BadHead(why.into()));
        }
    }
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        let e = Error::BadHead("malformed request line".into());
        return Request::unparsable(peer, e);
    };
    let fields: Vec<Field> = parsed
        .headers
        .iter()
        .map(|h| Field {
            name: h.name.to_owned(),
            value: trim(h.value).to_vec(),
        })
        .collect();
    let mut request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        minor_version: minor,
        fields,
        peer,
        framing: BodyFraming::None,
        refusal: None,
        expects_continue: false,
        keep_alive: false,
    };
    judge(&mut request);
    request
}

/// Applies the rules that need the parsed head; sets `framing`, `keep_alive`,
/// `expects_continue`, or `refusal`.
fn judge(r: &mut Request) {
    let mut close = false;
    let mut keep = false;
    let mut expect: Option<&[u8]> = None;
    let mut hosts = 0;
    for f in &r.fields {
        if f.name.eq_ignore_ascii_case("connection") {
            for token in f.value.split(|&b| b == b',') {
                let token = trim(token);
                close |= token.eq_ignore_ascii_case(b"close");
                keep |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if f.name.eq_ignore_ascii_case("expect") {
            expect = Some(&f.value);
        } else if f.name.eq_ignore_ascii_case("host") {
            hosts += 1;
        }
    }
    r.keep_alive = !close && (r.minor_version == 1 || keep);
    let refusal = if r.method == "CONNECT" || r.method == "TRACE" {
        Some(Error::MethodNotAllowed {
            allow: ALLOWED_METHODS,
        })
    } else if r.target.contains('#') {
        Some(Error::BadHead(
            "a fragment (#) in the request target".into(),
        ))
    } else if r.minor_version == 1 && hosts == 0 {
        Some(Error::BadHead("HTTP/1.1 request without host".into()))
    } else {
        None
    };
    if refusal.is_some() {
        r.refusal = refusal;
        return;
    }
    match framing::check_request(&r.target, r.header_bytes()) {
        Ok(f) => r.framing = f,
        Err(e) => {
            r.refusal = Some(e);
            return;
        }
    }
    match expect {
        Some(v) if v.eq_ignore_ascii_case(b"100-continue") => {
            r.expects_continue = r.minor_version == 1;
        }
        Some(_) => r.refusal = Some(Error::UnknownExpectation),
        None => {}
    }
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:9".parse().unwrap()
    }

    fn req(head: &str) -> Request {
        let bytes = head.as_bytes();
        let end = head_end(bytes, 0).expect("complete head");
        parse(&bytes[..end], peer())
    }

    fn status(head: &str) -> Option<u16> {
        req(head).refusal.map(|e| e.status())
    }

    #[test]
    fn finds_the_end_of_a_head_with_crlf_or_bare_lf() {
        assert_eq!(
            head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", 0),
            Some(27)
        );
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: x\n\nrest", 0), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 0), None);
        // Resumed search finds an end that straddles the previous buffer end.
        let full = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(head_end(full, 25), Some(27));
    }

    #[test]
    fn a_plain_request() {
        let r = req("GET /a?b HTTP/1.1\r\nHost: x\r\nX-A:  v \r\n\r\n");
        assert!(r.refusal.is_none());
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/a?b"));
        assert_eq!(r.header("x-a"), Some("v"));
        assert!(r.keep_alive);
        assert_eq!(r.framing, BodyFraming::None);
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!req("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!req("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn bare_lf_is_served() {
        let r = req("GET / HTTP/1.1\nHost: x\nContent-Length: 3\n\n");
        assert!(r.refusal.is_none(), "{:?}", r.refusal);
        assert_eq!(r.framing, BodyFraming::Length(3));
    }

    #[test]
    fn obs_text_values_are_kept_as_bytes() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\nCookie: n=J\xfcrgen\r\n\r\n";
        let r = parse(head, peer());
        assert!(r.refusal.is_none());
        assert_eq!(r.fields[1].value, b"n=J\xfcrgen");
        // Not UTF-8: forwarded, but not read as text.
        assert_eq!(r.header("cookie"), None);
    }

    #[test]
    fn three_hundred_fields_are_a_normal_request() {
        let many: String = (0..300).map(|i| format!("X-H{i}: v\r\n")).collect();
        let r = req(&format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n"));
        assert!(r.refusal.is_none());
        assert_eq!(r.fields.len(), 301);
    }

    #[test]
    fn refusals() {
        let cases: &[(&str, u16)] = &[
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),
            ("GET /.ory#x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 405),
            ("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
            ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("G\x1bT / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nExpect: weird\r\n\r\n", 417),
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                400,
            ),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1152921504606846976\r\n\r\n",
                413,
            ),
        ];
        for (head, want) in cases {
            assert_eq!(status(head), Some(*want), "{head:?}");
        }
        let r = parse(b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", peer());
        assert_eq!(r.refusal.map(|e| e.status()), Some(400));
        assert_eq!(r.method, "-");
    }

    #[test]
    fn expect_continue() {
        let r =
            req("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n");
        assert!(r.expects_continue && r.refusal.is_none());
        let r = req("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        assert!(!r.expects_continue);
    }

    #[test]
    fn refused_early_only_for_what_no_head_can_become() {
        for bad in [
            &b"\x16\x03\x01\x02\x00\x01"[..],
            b"\x00\x01\x02",
            b"GE(T / HTTP/1.1",
            b"GET / HTTP/9",
            b"GET /caf\xc3\xa9 HTTP/1.1\r\n",
            b"GET / HTTP/1.1 extra\r\n",
        ] {
            assert!(refused_early(bad), "{:?}", String::from_utf8_lossy(bad));
            assert!(parse(bad, peer()).refusal.is_some());
        }
        for fine in [
            &b""[..],
            b"G",
            b"GET /x HT",
            b"GET /x HTTP/1.1\r\n",
            b"GET /x HTTP/1.1\r\nHost: a\r\nX-Long: ",
            b"\r\nGET / HTTP/1.1\r\n",
        ] {
            assert!(!refused_early(fine), "{:?}", String::from_utf8_lossy(fine));
        }
    }
}
