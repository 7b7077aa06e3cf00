//! `HEAD` checked against `GET` on one connection (RFC 9110 §9.3.2): the `HEAD` answer carries
//! the fields the `GET` answer carries (its `Content-Type`, its `Content-Length` for the body the
//! `GET` would send), no body byte follows it on the wire, and the connection then serves the
//! `GET` itself.

use super::client::{read_until_close, RawResponse};
use super::raw::read_head;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// What [`head_mirrors_get`] saw.
#[derive(Debug)]
pub struct HeadAndGet {
    /// The `HEAD` answer's status and fields, in order.
    pub head_status: u16,
    pub head_fields: Vec<(String, String)>,
    /// The `GET` answer that followed on the same connection, its body exactly
    /// `Content-Length` bytes.
    pub get: RawResponse,
}

/// Sends `HEAD path` and then, on the same connection once the `HEAD` answer's head has arrived,
/// `GET path` (with `Connection: close`, so the end of the GET answer is the close). Asserts:
/// no byte after the `HEAD` answer's head before the `GET` answer's status line; the same
/// status; the same fields in the same order (the GET's `Connection: close` aside), among them
/// `Content-Type: content_type` and a `Content-Length` equal to the GET body's length.
pub fn head_mirrors_get(addr: SocketAddr, path: &str, content_type: &str) -> HeadAndGet {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let head = read_head(&mut s).expect("the HEAD answer");
    assert!(
        head.first.starts_with("HTTP/1.1 "),
        "HEAD {path}: {:?}",
        head.first
    );
    assert_eq!(
        String::from_utf8_lossy(&head.rest),
        "",
        "HEAD {path}: body bytes after the head"
    );
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let bytes = read_until_close(&mut s, Duration::from_secs(20));
    assert!(
        bytes.starts_with(b"HTTP/1.1 "),
        "HEAD {path}: the GET answer on the same connection began with {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
    );
    let get = RawResponse::parse(&bytes);
    assert_eq!(head.status(), get.status, "HEAD {path}: status");
    let get_fields: Vec<(String, String)> = get
        .headers
        .iter()
        .filter(|(n, v)| !(n.eq_ignore_ascii_case("connection") && v == "close"))
        .cloned()
        .collect();
    assert_eq!(
        head.headers, get_fields,
        "HEAD {path}: the fields of HEAD and of GET"
    );
    assert_eq!(
        get.header("content-type"),
        Some(content_type),
        "GET {path}: content-type"
    );
    assert_eq!(
        get.header("content-length"),
        Some(get.body.len().to_string().as_str()),
        "GET {path}: content-length and the body"
    );
    HeadAndGet {
        head_status: head.status(),
        head_fields: head.headers,
        get,
    }
}
