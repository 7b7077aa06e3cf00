//! A response parsed from raw bytes (what [`super::client::raw_exchange`] read until the
//! close), strictly: the head as [`super::raw::read_head`] checks it, and the body de-framed by
//! its `Content-Length` or by strict chunked framing ([`super::chunked`]).
//!
//! [`RawResponse::parse`] reads exactly one whole answer and nothing after it. A test that
//! expects something else says so with a [`Reading`]: an `HTTP/1.0` status line, a body that
//! ends at the close, the answer to a `HEAD`, several answers one after the other, or a body the
//! test reads itself because it expects it cut.

use super::chunked;
use super::message::{self, Framing};

/// A response read from raw bytes.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// `(name, value)`, names as sent, duplicates kept in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-framed (empty without one, and when only the head was read).
    pub body: Vec<u8>,
    /// Every byte after the head as received, still framed.
    pub after_head: Vec<u8>,
}

/// What a test expects of the bytes it parses (by default: one answer, `HTTP/1.1`, a body
/// framed by a length or chunked, nothing after it).
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    version: &'static str,
    body: Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Framed by a length or chunked (or none, for a bodiless status).
    Framed,
    /// Neither: the body ends at the close.
    ToClose,
    /// The answer to a `HEAD`: no body whatever the fields say.
    NoneForHead,
    /// Only the head is read: the test reads `after_head` itself (a body it expects cut).
    HeadOnly,
}

impl RawResponse {
    /// Parses `bytes` as exactly one whole answer (see the module documentation); panics when
    /// they are anything else.
    pub fn parse(bytes: &[u8]) -> RawResponse {
        RawResponse::reading().parse(bytes)
    }

    /// The default [`Reading`], to change.
    pub fn reading() -> Reading {
        Reading {
            version: "HTTP/1.1",
            body: Body::Framed,
        }
    }

    /// The value of a field sent at most once; panics when it was sent more than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        message::one(&self.headers, name)
    }

    /// Every value of a field, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        message::all(&self.headers, name)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }
}

impl Reading {
    /// The status line says `version` (`"HTTP/1.0"`) instead of `HTTP/1.1`.
    pub fn version(mut self, version: &'static str) -> Reading {
        self.version = version;
        self
    }

    /// The body has neither `Content-Length` nor `Transfer-Encoding` and ends at the close.
    pub fn to_close(mut self) -> Reading {
        self.body = Body::ToClose;
        self
    }

    /// The answer to a `HEAD` request: no body, whatever its fields say.
    pub fn to_head(mut self) -> Reading {
        self.body = Body::NoneForHead;
        self
    }

    /// Only the head is read and checked: `body` stays empty and the test reads `after_head`
    /// itself (a body it expects to be cut short).
    pub fn head_only(mut self) -> Reading {
        self.body = Body::HeadOnly;
        self
    }

    /// Parses `bytes` as exactly one answer; panics when anything follows it.
    pub fn parse(self, bytes: &[u8]) -> RawResponse {
        let (r, after) = self.parse_first(bytes);
        assert!(
            after.is_empty() || self.body == Body::HeadOnly,
            "bytes after the answer: {:?}",
            String::from_utf8_lossy(&after)
        );
        r
    }

    /// Parses the first answer in `bytes`; returns it and the bytes after it (the next
    /// answers on the connection).
    pub fn parse_first(self, bytes: &[u8]) -> (RawResponse, Vec<u8>) {
        let shown = || String::from_utf8_lossy(bytes).into_owned();
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete response head in {:?}", shown()));
        let (first, headers, framing) = message::checked_head(&bytes[..end], self.version)
            .unwrap_or_else(|e| panic!("{e} in {:?}", shown()));
        let status = message::status_line(&first, self.version)
            .unwrap_or_else(|e| panic!("{e} (a request head?) in {:?}", shown()));
        let after_head = bytes[end + 4..].to_vec();
        let fault = |what: String| -> ! { panic!("{what}: {:?}", shown()) };
        let (body, after) = match (self.body, framing) {
            (Body::HeadOnly, _) => (Vec::new(), Vec::new()),
            (Body::NoneForHead, _) | (Body::Framed, Framing::None) => {
                (Vec::new(), after_head.clone())
            }
            (Body::ToClose, Framing::ToClose) => (after_head.clone(), Vec::new()),
            (Body::ToClose, framing) => fault(format!(
                "the test expects a body ending at the close, not framed {framing:?}"
            )),
            (Body::Framed, Framing::ToClose) => fault(
                "a body framed neither by Content-Length nor chunked (only a test that expects \
                 it reads to the close)"
                    .to_owned(),
            ),
            (Body::Framed, Framing::Length(n)) => {
                let n = n as usize;
                if after_head.len() < n {
                    fault(format!(
                        "a body cut short: {} of its {n} bytes",
                        after_head.len()
                    ));
                }
                (after_head[..n].to_vec(), after_head[n..].to_vec())
            }
            (Body::Framed, Framing::Chunked) => chunked::decode(&after_head)
                .unwrap_or_else(|e| fault(format!("chunked framing: {e}"))),
        };
        let r = RawResponse {
            status,
            headers,
            body,
            after_head,
        };
        (r, after)
    }
}
