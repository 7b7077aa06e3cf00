//! What the test server ([`super::server`]) reads and writes: the request as it was received,
//! the reply it is told to write, and the reply's bytes on the wire (the request's bytes are
//! read, strictly, by [`super::server_read`]). Apart from the server's threads and lifetime so
//! that each file holds one concept (and stays under 400 lines).

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The raw request-target, never decoded.
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Every header line in arrival order, duplicates kept, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body with chunked framing removed.
    pub body: Vec<u8>,
    /// Whether the body came chunked.
    pub chunked: bool,
    /// The TCP peer (the proxy).
    pub peer: SocketAddr,
}

impl Recorded {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        all_headers(&self.headers, name)
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// The query (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// A query parameter's raw (undecoded) value.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// A cookie's value from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header_all("cookie")
            .into_iter()
            .flat_map(|h| h.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The body as (lossy) text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Wait this long before writing the response head.
    pub delay: Duration,
}

/// A response body and its framing.
#[derive(Debug, Clone)]
pub enum Body {
    /// Sent with `Content-Length` (unless the reply sets framing headers itself).
    Full(Vec<u8>),
    /// Sent chunked, one chunk per piece, waiting `pause` before each piece.
    Chunked {
        pieces: Vec<Vec<u8>>,
        pause: Duration,
    },
    /// No framing header: the body ends when the connection closes.
    UntilClose(Vec<u8>),
    /// Declares `Content-Length: declared`, sends `sent`, then closes the connection.
    Truncated { declared: u64, sent: Vec<u8> },
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Full(Vec::new()),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::Full(body.into());
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, value: &serde_json::Value) -> Reply {
        self.header("Content-Type", "application/json")
            .body(value.to_string())
    }

    pub fn chunked(mut self, pieces: Vec<Vec<u8>>, pause: Duration) -> Reply {
        self.body = Body::Chunked { pieces, pause };
        self
    }

    pub fn until_close(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::UntilClose(body.into());
        self
    }

    pub fn truncated(mut self, declared: u64, sent: impl Into<Vec<u8>>) -> Reply {
        self.body = Body::Truncated {
            declared,
            sent: sent.into(),
        };
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// Writes a reply; returns whether the connection may be reused.
pub fn write_reply(
    writer: &mut TcpStream,
    request: &Recorded,
    reply: Reply,
    sleep: &dyn Fn(Duration),
) -> io::Result<bool> {
    sleep(reply.delay);
    let bodiless = request.method == "HEAD"
        || (100..200).contains(&reply.status)
        || reply.status == 204
        || reply.status == 304;
    let own_framing = reply.headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (n, v) in &reply.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    let framing = |head: &mut String, line: String| {
        if !own_framing {
            head.push_str(&line);
        }
    };
    let mut reusable = true;
    match &reply.body {
        Body::Full(b) if reply.status != 304 && !(reply.status < 200 || reply.status == 204) => {
            framing(&mut head, format!("Content-Length: {}\r\n", b.len()))
        }
        Body::Full(_) => {}
        Body::Chunked { .. } if !bodiless => {
            framing(&mut head, "Transfer-Encoding: chunked\r\n".into())
        }
        Body::Chunked { .. } => {}
        Body::UntilClose(_) => {
            head.push_str("Connection: close\r\n");
            reusable = false;
        }
        Body::Truncated { declared, .. } => {
            head.push_str(&format!("Content-Length: {declared}\r\n"));
            reusable = false;
        }
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.flush()?;
    if bodiless {
        return Ok(reusable);
    }
    match reply.body {
        Body::Full(b) | Body::UntilClose(b) => writer.write_all(&b)?,
        Body::Truncated { sent, .. } => writer.write_all(&sent)?,
        Body::Chunked { pieces, pause } => {
            for piece in pieces.iter().filter(|p| !p.is_empty()) {
                sleep(pause);
                writer.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                writer.write_all(piece)?;
                writer.write_all(b"\r\n")?;
                writer.flush()?;
            }
            writer.write_all(b"0\r\n\r\n")?;
        }
    }
    writer.flush()?;
    Ok(reusable)
}

/// The reason phrase the test servers write for `status`.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// The first value of a header in a name/value list (case-insensitive name).
pub fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of a header in a name/value list, in order.
pub fn all_headers<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}
