//! What went wrong on the wire: a head the proxy will not read, too large a head or body, a
//! client too slow, a connection over the cap. The connection layer knows these and nothing
//! else; the proxy maps each to its own request error (`crate::error::Error`) and answers it
//! like any other failure.

use std::fmt;
use std::io;

/// Start of the message of a request body cut for being too slow (how [`Error::of_body`] tells
/// it from other body errors, which reach it as a kind and a message).
pub const SLOW_BODY: &str = "request body arrived slower than --min-data-rate";

/// A failure of the client's side of the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A head (or its framing) the proxy will not read (400).
    BadHead(String),
    /// A method the proxy never handles, `CONNECT` or `TRACE` (405).
    MethodNotAllowed { allow: &'static str },
    /// The head is larger than the proxy reads (431).
    HeadTooLarge(String),
    /// The declared body is larger than the proxy can handle (413).
    BodyTooLarge(String),
    /// The head was not complete within `--client-timeout` of its first byte (408).
    HeadTimedOut,
    /// An `Expect` other than `100-continue` (417).
    UnknownExpectation,
    /// Too many connections are open, none of them idle (503).
    Overloaded,
    /// The client stopped sending its body (408).
    BodyTimedOut,
    /// The client sent its body below `--min-data-rate` (408); the message names the rate.
    SlowBody(String),
    /// A chunked body whose framing is malformed (400).
    BadChunk(String),
    /// The body ended before its length or its last chunk (400).
    BodyCut(String),
}

impl Error {
    /// The status the wire rules give this failure.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadHead(_) | Error::BadChunk(_) | Error::BodyCut(_) => 400,
            Error::MethodNotAllowed { .. } => 405,
            Error::HeadTooLarge(_) => 431,
            Error::BodyTooLarge(_) => 413,
            Error::HeadTimedOut | Error::BodyTimedOut | Error::SlowBody(_) => 408,
            Error::UnknownExpectation => 417,
            Error::Overloaded => 503,
        }
    }

    /// The failure of reading a request body, from the error its reader returned.
    pub fn of_body(kind: io::ErrorKind, message: &str) -> Error {
        if message.starts_with(SLOW_BODY) {
            Error::SlowBody(message.to_owned())
        } else if is_timeout_kind(kind) {
            Error::BodyTimedOut
        } else if matches!(
            kind,
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
        ) {
            Error::BadChunk(message.to_owned())
        } else {
            Error::BodyCut(message.to_owned())
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadHead(e) => write!(f, "bad request head: {e}"),
            Error::MethodNotAllowed { allow } => write!(f, "method not allowed (allowed: {allow})"),
            Error::HeadTooLarge(e) => write!(f, "request head too large: {e}"),
            Error::BodyTooLarge(e) => write!(f, "request body too large: {e}"),
            Error::HeadTimedOut => write!(f, "request head not complete in time"),
            Error::UnknownExpectation => write!(f, "unsupported Expect"),
            Error::Overloaded => write!(f, "too many connections"),
            Error::BodyTimedOut => write!(f, "request body not sent in time"),
            Error::SlowBody(e) => write!(f, "{e}"),
            Error::BadChunk(e) => write!(f, "malformed chunked body: {e}"),
            Error::BodyCut(e) => write!(f, "request body ended early: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// Whether a socket error is a timeout: `TimedOut`, or `WouldBlock` as Linux reports an expired
/// `SO_RCVTIMEO`/`SO_SNDTIMEO`.
pub fn is_timeout(e: &io::Error) -> bool {
    is_timeout_kind(e.kind())
}

fn is_timeout_kind(kind: io::ErrorKind) -> bool {
    matches!(kind, io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_errors_by_kind() {
        let e = Error::of_body(io::ErrorKind::InvalidData, "bad chunk");
        assert_eq!(e, Error::BadChunk("bad chunk".into()));
        assert_eq!(e.status(), 400);
        assert_eq!(
            Error::of_body(io::ErrorKind::WouldBlock, "timed out"),
            Error::BodyTimedOut
        );
        let slow = crate::http::rate::slow_body(100);
        assert!(matches!(
            Error::of_body(slow.kind(), &slow.to_string()),
            Error::SlowBody(m) if m.contains("--min-data-rate")
        ));
        assert_eq!(
            Error::of_body(io::ErrorKind::UnexpectedEof, "gone"),
            Error::BodyCut("gone".into())
        );
    }
}
