//! Where a forwarded request goes, and what failing to get an answer from there is called: the
//! one mapping from a next hop's failure to the request's [`Error`], for the plain forward, the
//! direct path, the answer's body and the WebSocket handshake alike.

use crate::error::Error;
use std::io;

/// Where a forwarded request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Ory,
    Upstream,
}

impl Dest {
    /// The hop could not be reached or broke the protocol.
    pub(crate) fn unreachable(self, why: String) -> Error {
        match self {
            Dest::Ory => Error::OryUnreachable(why),
            Dest::Upstream => Error::UpstreamUnreachable(why),
        }
    }

    /// The hop did not answer in time.
    pub(crate) fn timed_out(self, why: String) -> Error {
        match self {
            Dest::Ory => Error::OryTimeout(why),
            Dest::Upstream => Error::UpstreamTimeout(why),
        }
    }

    /// A failed read or write on the connection to the hop: a timeout, or unreachable.
    pub(crate) fn io_error(self, e: &io::Error) -> Error {
        if crate::error::is_timeout(e) {
            self.timed_out(e.to_string())
        } else {
            self.unreachable(e.to_string())
        }
    }

    /// The hop in a sentence: `Ory`, `the upstream`.
    pub(crate) fn who(self) -> &'static str {
        match self {
            Dest::Ory => "Ory",
            Dest::Upstream => "the upstream",
        }
    }
}
