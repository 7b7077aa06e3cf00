//! Request bodies: `Content-Length` and chunked (RFC 9112 §6–7), read from the connection as
//! the next hop asks for them, never held whole.
//!
//! The rule that matters for a proxy: a body that ends early is an error, never a complete
//! body. A client that closes inside a chunk or before its declared length gets an
//! `UnexpectedEof`, so the forward fails and the next hop never sees a last chunk or a full
//! length the client did not send. Malformed chunk framing is `InvalidData`; chunked framing
//! lines must end with CRLF (a bare LF is malformed there). Trailer fields after the last chunk
//! are read (at most [`MAX_TRAILERS`] bytes) and dropped.
//!
//! `Expect: 100-continue` is answered here, when the body is first read: a request the proxy
//! refuses before forwarding never asks the client for its body.

use crate::http::framing::BodyFraming;
use crate::http::input::Input;
use std::io::{self, Read, Write};

/// Bytes of trailer fields accepted after the last chunk.
pub const MAX_TRAILERS: usize = 16 * 1024;
/// Longest chunk-size line (size and extensions).
const MAX_CHUNK_LINE: usize = 4 * 1024;

/// Where a body read stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// `Content-Length` bytes left.
    Length(u64),
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Bytes left in the current chunk.
    Chunk(u64),
    /// Expecting the CRLF that ends a chunk's data.
    ChunkEnd,
    /// Reading trailer fields up to the empty line; bytes read so far.
    Trailers(usize),
    Done,
}

/// The progress of one request body, kept on the connection so the connection knows afterwards
/// whether the body was read to its end.
#[derive(Debug)]
pub struct BodyState {
    stage: Stage,
    /// Body bytes handed out so far.
    pub read: u64,
    /// `100 Continue` is owed before the first read.
    continue_owed: bool,
    /// The first error, as kind and message (later reads repeat it).
    pub error: Option<(io::ErrorKind, String)>,
}

impl BodyState {
    pub fn new(framing: BodyFraming, expects_continue: bool) -> BodyState {
        let stage = match framing {
            BodyFraming::None | BodyFraming::Length(0) => Stage::Done,
            BodyFraming::Length(n) => Stage::Length(n),
            BodyFraming::Chunked => Stage::ChunkSize,
        };
        BodyState {
            stage,
            read: 0,
            continue_owed: expects_continue && stage != Stage::Done,
            error: None,
        }
    }

    /// The body was read to its end.
    pub fn done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// For a `Content-Length` body, the bytes not read yet.
    pub fn length_left(&self) -> Option<u64> {
        match self.stage {
            Stage::Length(n) => Some(n),
            Stage::Done => Some(0),
            _ => None,
        }
    }

    /// Whether the client was never asked for the body (`100 Continue` still owed): then it
    /// may not send it at all, and nothing has to be drained.
    pub fn never_asked(&self) -> bool {
        self.continue_owed
    }

    /// Reads body bytes into `out`.
    pub fn read(&mut self, input: &mut Input, out: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, message)) = &self.error {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if out.is_empty() || self.stage == Stage::Done {
            return Ok(0);
        }
        if self.continue_owed {
            self.continue_owed = false;
            if input.buffered().is_empty() {
                input
                    .stream_mut()
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            }
        }
        match self.step(input, out) {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.error = Some((e.kind(), e.to_string()));
                Err(e)
            }
        }
    }

    fn step(&mut self, input: &mut Input, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stage {
                Stage::Done => return Ok(0),
                Stage::Length(left) => {
                    let n = read_some(input, out, left)?;
                    if n == 0 {
                        return Err(eof(format!(
                            "connection closed with {left} body bytes unsent"
                        )));
                    }
                    self.stage = match left - n as u64 {
                        0 => Stage::Done,
                        l => Stage::Length(l),
                    };
                    return Ok(n);
                }
                Stage::Chunk(left) => {
                    let n = read_some(input, out, left)?;
                    if n == 0 {
                        return Err(eof("connection closed inside a chunk".into()));
                    }
                    self.stage = match left - n as u64 {
                        0 => Stage::ChunkEnd,
                        l => Stage::Chunk(l),
                    };
                    return Ok(n);
                }
                Stage::ChunkSize => {
                    let line = line(input, MAX_CHUNK_LINE)?;
                    // chunk-size is 1*HEXDIG (RFC 9112 §7.1); httparse reads a line without
                    // digits ("\r\n", ";ext") as size 0, a last chunk that was never sent.
                    if !input.buffered()[0].is_ascii_hexdigit() {
                        return Err(invalid("invalid chunk size line"));
                    }
                    let size = match httparse::parse_chunk_size(input.buffered()) {
                        Ok(httparse::Status::Complete((_, size))) => size,
                        _ => return Err(invalid("invalid chunk size line")),
                    };
                    input.consume(line);
                    self.stage = if size == 0 {
                        Stage::Trailers(0)
                    } else {
                        Stage::Chunk(size)
                    };
                }
                Stage::ChunkEnd => {
                    let len = line(input, 2)?;
                    let ok = &input.buffered()[..len] == b"\r\n";
                    if !ok {
                        return Err(invalid("chunk data longer than its size"));
                    }
                    input.consume(len);
                    self.stage = Stage::ChunkSize;
                }
                Stage::Trailers(seen) => {
                    let len = line(input, MAX_TRAILERS.saturating_sub(seen).max(2))?;
                    let empty = &input.buffered()[..len] == b"\r\n";
                    input.consume(len);
                    self.stage = if empty {
                        Stage::Done
                    } else if seen + len > MAX_TRAILERS {
                        return Err(invalid("trailer fields too large"));
                    } else {
                        Stage::Trailers(seen + len)
                    };
                }
            }
        }
    }
}

/// Reads at most `left` bytes (buffered first).
fn read_some(input: &mut Input, out: &mut [u8], left: u64) -> io::Result<usize> {
    let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
    input.read(&mut out[..want])
}

/// Makes sure one whole line (up to `\n`) is buffered; returns its length with the `\n`.
fn line(input: &mut Input, limit: usize) -> io::Result<usize> {
    let mut searched = 0;
    loop {
        let buffered = input.buffered();
        if let Some(i) = buffered[searched..].iter().position(|&b| b == b'\n') {
            return Ok(searched + i + 1);
        }
        searched = buffered.len();
        if searched >= limit {
            return Err(invalid("chunked framing line too long"));
        }
        if input.fill(limit)? == 0 {
            return Err(eof("connection closed inside the chunked framing".into()));
        }
    }
}

fn eof(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, message)
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// A request body as a reader (what the next hop's request streams from).
pub struct BodyReader<'a> {
    pub(crate) state: &'a mut BodyState,
    pub(crate) input: &'a mut Input,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.state.read(self.input, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    /// Reads the whole body the client side sends (then closes); returns it or the error.
    fn body_of(framing: BodyFraming, sent: &[u8]) -> io::Result<Vec<u8>> {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(sent).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut input = Input::new(std::sync::Arc::new(s));
        input
            .set_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        let mut state = BodyState::new(framing, false);
        let mut out = Vec::new();
        BodyReader {
            state: &mut state,
            input: &mut input,
        }
        .read_to_end(&mut out)?;
        assert!(state.done());
        Ok(out)
    }

    #[test]
    fn content_length_bodies() {
        assert_eq!(body_of(BodyFraming::Length(5), b"hello").unwrap(), b"hello");
        let e = body_of(BodyFraming::Length(6), b"hello").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn chunked_bodies_with_extensions_and_trailers() {
        let sent = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
        assert_eq!(body_of(BodyFraming::Chunked, sent).unwrap(), b"hello world");
        // Chunked framing lines end with CRLF: a bare LF there is malformed (no guessing
        // where a chunk ends).
        let bare = b"3\nabc\n0\n\n";
        let e = body_of(BodyFraming::Chunked, bare).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_cut_or_malformed_chunked_body_is_an_error() {
        let cases: &[(&[u8], io::ErrorKind)] = &[
            (b"5\r\nhel", io::ErrorKind::UnexpectedEof),
            (b"5\r\nhello\r\n", io::ErrorKind::UnexpectedEof),
            (b"5\r\nhello\r\n0\r\n", io::ErrorKind::UnexpectedEof),
            (b"zz\r\nhello\r\n0\r\n\r\n", io::ErrorKind::InvalidData),
            (b"2\r\nhello\r\n0\r\n\r\n", io::ErrorKind::InvalidData),
            // No digits: not a last chunk.
            (b"\r\n\r\n", io::ErrorKind::InvalidData),
            (b";ext=1\r\n\r\n", io::ErrorKind::InvalidData),
            (b" 5\r\nhello\r\n0\r\n\r\n", io::ErrorKind::InvalidData),
        ];
        for (sent, kind) in cases {
            let e = body_of(BodyFraming::Chunked, sent).unwrap_err();
            assert_eq!(e.kind(), *kind, "{:?}", String::from_utf8_lossy(sent));
        }
    }
}
