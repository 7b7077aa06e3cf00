//! Writing a response on the client connection, head and body, by hand.
//!
//! The status line, the headers and the framing are written here, and every piece read from the
//! next hop is written at once (server-sent events and streaming downloads reach the client as
//! they arrive). A head and a small body go out in one write, one chunk (size line, data, CRLF)
//! in one write, so a small response is one segment on the wire.

use std::io::{self, Read, Write};

/// Size of the copy buffer between the upstream body and the client.
pub const COPY_BUFFER: usize = 32 * 1024;
/// Room kept before the data in the copy buffer for a chunk-size line.
const CHUNK_PREFIX: usize = 18;

/// A response body.
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A stream; `length` is its `Content-Length` when known (otherwise chunked on HTTP/1.1,
    /// close-delimited on HTTP/1.0).
    Stream {
        reader: &'a mut dyn Read,
        length: Option<u64>,
    },
}

/// What was written, for the access log.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub body_bytes: u64,
    /// The body was delimited by closing the connection (HTTP/1.0 client, unknown length): the
    /// connection must close after it.
    pub close_delimited: bool,
}

/// Appends one `name: value` line of a head (request or response) to `head`.
pub fn push_field(head: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    head.extend_from_slice(name);
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

/// Whether a response with this status to this method carries no body (RFC 9110 §6.4.1).
pub fn bodiless(method_is_head: bool, status: u16) -> bool {
    method_is_head || (100..200).contains(&status) || status == 204 || status == 304
}

/// What the response writer must know about the request and the connection.
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    /// A `HEAD` request: no body, but the length a `GET` would have.
    pub is_head: bool,
    /// An HTTP/1.0 client: no chunked encoding.
    pub http10: bool,
    /// The connection stays open after this response (else `Connection: close`); false once a
    /// graceful shutdown began.
    pub keep_alive: bool,
}

/// Writes a whole response.
///
/// `headers` must not contain framing headers (`Content-Length`, `Transfer-Encoding`) or
/// `Connection`: they are written here. For a HEAD request or a bodiless status,
/// `Content-Length` is still sent when `body` knows its length (so HEAD mirrors GET).
pub fn write(
    writer: &mut dyn Write,
    framing: Framing,
    status: u16,
    headers: &[(&str, &str)],
    body: Body<'_>,
) -> io::Result<Written> {
    let no_body = bodiless(framing.is_head, status);
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(status.to_string().as_bytes());
    head.push(b' ');
    head.extend_from_slice(crate::status::reason_phrase(status).as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        push_field(&mut head, name.as_bytes(), value.as_bytes());
    }
    let length = match &body {
        Body::Empty => Some(0),
        Body::Bytes(b) => Some(b.len() as u64),
        Body::Stream { length, .. } => *length,
    };
    let chunked = !no_body && length.is_none() && !framing.http10;
    let status_forbids_length = (100..200).contains(&status) || status == 204;
    match length {
        Some(n) if !status_forbids_length && (status != 304 || n > 0) => {
            head.extend_from_slice(b"Content-Length: ");
            head.extend_from_slice(n.to_string().as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        _ if chunked => head.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        _ => {}
    }
    let close_delimited = length.is_none() && !no_body && !chunked;
    if close_delimited || !framing.keep_alive {
        head.extend_from_slice(b"Connection: close\r\n");
    } else if framing.http10 {
        head.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let body_bytes = write_head_and_body(writer, head, no_body, body, chunked)?;
    Ok(Written {
        body_bytes,
        close_delimited,
    })
}

/// The head of a `101 Switching Protocols` to `protocol`.
///
/// `Upgrade: <protocol>` and `Connection: Upgrade` are written here, always: a client rejects a
/// 101 without them (Chromium: "'Upgrade' header is missing"), and the caller's headers come
/// through the hop-by-hop filter, which removes exactly these two. Any `Upgrade` or
/// `Connection` in `headers` is skipped, so the head names one protocol, the one given.
pub fn switching_head(protocol: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    push_field(&mut head, b"Upgrade", protocol.as_bytes());
    push_field(&mut head, b"Connection", b"Upgrade");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("upgrade") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        push_field(&mut head, name.as_bytes(), value.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Writes the head, then the body with its framing; returns the body bytes written.
fn write_head_and_body(
    writer: &mut dyn Write,
    mut head: Vec<u8>,
    no_body: bool,
    body: Body<'_>,
    chunked: bool,
) -> io::Result<u64> {
    if no_body {
        writer.write_all(&head)?;
        writer.flush()?;
        return Ok(0);
    }
    let mut written = 0;
    match body {
        Body::Empty => writer.write_all(&head)?,
        Body::Bytes(b) => {
            head.extend_from_slice(b);
            writer.write_all(&head)?;
            written = b.len() as u64;
        }
        Body::Stream { reader, length } => {
            written = copy_body(reader, writer, length, chunked, head)?;
        }
    }
    writer.flush()?;
    Ok(written)
}

thread_local! {
    /// Each connection thread's copy buffer, allocated once: a fresh zeroed buffer per
    /// response showed up as the largest user-space cost in the profile (memset and page
    /// faults). Freed when the connection's thread ends.
    static COPY_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Copies a body, flushing after every read so each piece reaches the client as it arrives.
///
/// `head` is the response head. A body of unknown length (server-sent events, say) gets it at
/// once; a body of known length sends it together with its first piece, in one write, so a small
/// response is one segment on the wire instead of two.
fn copy_body(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    length: Option<u64>,
    chunked: bool,
    head: Vec<u8>,
) -> io::Result<u64> {
    COPY_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < COPY_BUFFER + CHUNK_PREFIX + 2 {
                buf.resize(COPY_BUFFER + CHUNK_PREFIX + 2, 0);
            }
            copy_with(reader, writer, length, chunked, head, &mut buf)
        }
        // Only reachable if a copy ever nested inside another on one thread.
        Err(_) => copy_with(
            reader,
            writer,
            length,
            chunked,
            head,
            &mut vec![0u8; COPY_BUFFER + CHUNK_PREFIX + 2],
        ),
    })
}

fn copy_with(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    length: Option<u64>,
    chunked: bool,
    head: Vec<u8>,
    buf: &mut [u8],
) -> io::Result<u64> {
    let mut pending_head = Some(head);
    if length.is_none() {
        if let Some(h) = pending_head.take() {
            writer.write_all(&h)?;
            writer.flush()?;
        }
    }
    let mut total = 0u64;
    // Data is read after room for a chunk-size line, so a chunk goes out in one write.
    let data_end = buf.len() - 2;
    loop {
        let room = data_end - CHUNK_PREFIX;
        let want = match length {
            Some(n) if total >= n => break,
            Some(n) => room.min((n - total) as usize),
            None => room,
        };
        let read = match reader.read(&mut buf[CHUNK_PREFIX..CHUNK_PREFIX + want]) {
            Ok(0) => break,
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let data = CHUNK_PREFIX..CHUNK_PREFIX + read;
        if chunked {
            let size = format!("{read:x}\r\n");
            let from = CHUNK_PREFIX - size.len();
            buf[from..CHUNK_PREFIX].copy_from_slice(size.as_bytes());
            buf[data.end..data.end + 2].copy_from_slice(b"\r\n");
            writer.write_all(&buf[from..data.end + 2])?;
        } else if let Some(mut h) = pending_head.take() {
            h.extend_from_slice(&buf[data]);
            writer.write_all(&h)?;
        } else {
            writer.write_all(&buf[data])?;
        }
        writer.flush()?;
        total += read as u64;
    }
    if let Some(h) = pending_head {
        // An empty body, or one that ended early: the head still goes out.
        writer.write_all(&h)?;
    }
    if let Some(n) = length {
        if total < n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("body ended after {total} of {n} bytes"),
            ));
        }
    }
    if chunked {
        writer.write_all(b"0\r\n\r\n")?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_copy_frames_each_read() {
        let mut out = Vec::new();
        let data = b"hello world";
        let n = copy_body(&mut &data[..], &mut out, None, true, Vec::new()).unwrap();
        assert_eq!(n, 11);
        assert_eq!(out, b"b\r\nhello world\r\n0\r\n\r\n");
    }

    #[test]
    fn sized_copy_stops_at_length_and_reports_short_bodies() {
        let mut out = Vec::new();
        let n = copy_body(&mut &b"abcdef"[..], &mut out, Some(4), false, Vec::new()).unwrap();
        assert_eq!((n, out.as_slice()), (4, &b"abcd"[..]));
        let err =
            copy_body(&mut &b"ab"[..], &mut Vec::new(), Some(4), false, Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_switch_always_names_its_protocol_and_connection() {
        let head = switching_head(
            "websocket",
            &[
                ("sec-websocket-accept", "abc="),
                ("upgrade", "h2c"),
                ("Connection", "close"),
            ],
        );
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             sec-websocket-accept: abc=\r\n\r\n"
        );
    }

    #[test]
    fn bodiless_statuses() {
        assert!(bodiless(true, 200));
        assert!(bodiless(false, 204));
        assert!(bodiless(false, 304));
        assert!(bodiless(false, 101));
        assert!(!bodiless(false, 200));
    }
}
