//! Reads the requests the proxy forwards to the test server ([`super::server`]) and checks them
//! strictly ([`super::forwarded`]): a fault is recorded (the server reports it loudly), and the
//! request is still read as far as its framing allows, so the test goes on and the fault, not a
//! confusing 502 or timeout, is what fails it.

use super::chunked::Chunked;
use super::forwarded::{self, MAX_HEAD};
use super::message::Framing;
use super::server_wire::{first_header, Recorded};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

/// Reads the next request off a connection: `None` at its end. A fault of the proxy's is pushed
/// to `faults`; one that leaves the body's end unknown (a head too long, broken chunked framing)
/// also ends the connection (an `Err`).
pub fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    peer: SocketAddr,
    faults: &mut Vec<String>,
) -> io::Result<Option<Recorded>> {
    let Some(head) = read_head(reader, faults)? else {
        return Ok(None);
    };
    let strict = forwarded::check(&head);
    let mut request = lenient(&head, peer);
    if request
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let framing = match strict {
        Ok((_, framing)) => framing,
        Err(fault) => {
            faults.push(fault);
            // The fault is on record; read the body the way the old lenient reader did, so the
            // test goes on to its end, where the fault is reported.
            lenient_framing(&request)?
        }
    };
    match framing {
        Framing::Chunked => {
            request.chunked = true;
            request.body = match read_chunked(reader)? {
                Ok(body) => body,
                Err(fault) => {
                    let fault = format!(
                        "the proxy forwarded a faulty chunked body: {fault}; after the head \"{}\"",
                        head.escape_ascii()
                    );
                    faults.push(fault.clone());
                    return Err(io::Error::other(fault));
                }
            };
        }
        Framing::Length(n) => {
            let mut body = vec![0; n as usize];
            reader.read_exact(&mut body)?;
            request.body = body;
        }
        Framing::None | Framing::ToClose => {}
    }
    Ok(Some(request))
}

/// The head's bytes, the empty line that ends it included (and any empty line before the
/// request line, which is a fault); `None` at the end of the connection before a byte.
pub fn read_head(
    reader: &mut impl BufRead,
    faults: &mut Vec<String>,
) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut started = false;
    loop {
        let before = head.len();
        if reader
            .by_ref()
            .take((MAX_HEAD + 1 - before.min(MAX_HEAD)) as u64)
            .read_until(b'\n', &mut head)?
            == 0
        {
            return Ok(None);
        }
        if head.len() > MAX_HEAD {
            let fault = format!(
                "the proxy forwarded a head longer than {MAX_HEAD} bytes: \"{}…\"",
                head[..200].escape_ascii()
            );
            faults.push(fault.clone());
            return Err(io::Error::other(fault));
        }
        let line = &head[before..];
        let empty = line == b"\r\n" || line == b"\n";
        if empty && started {
            return Ok(Some(head));
        }
        started |= !empty;
        if !head.ends_with(b"\n") {
            return Ok(None); // The end of the connection inside a head.
        }
    }
}

/// The request as the old lenient reader saw it: lines split at LF (a CR before it dropped),
/// fields split at the first colon, values trimmed.
fn lenient(head: &[u8], peer: SocketAddr) -> Recorded {
    let text = String::from_utf8_lossy(head);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let first = lines.next().unwrap_or_default();
    let mut parts = first.splitn(3, ' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    Recorded {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
        chunked: false,
        peer,
    }
}

/// How the old lenient reader framed a body: any `chunked` coding wins, else the first length.
fn lenient_framing(request: &Recorded) -> io::Result<Framing> {
    if request
        .header_all("transfer-encoding")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Ok(Framing::Chunked);
    }
    Ok(match first_header(&request.headers, "content-length") {
        Some(n) => Framing::Length(
            n.trim()
                .parse()
                .map_err(|_| io::Error::other("bad content-length"))?,
        ),
        None => Framing::None,
    })
}

/// A chunked body through the strict decoder, leaving what follows it in `reader`: the inner
/// `Err` is a framing fault; the end of the connection inside the body is an `io::Error` only
/// (the proxy cuts a forward whose client went away).
pub fn read_chunked(reader: &mut impl BufRead) -> io::Result<Result<Vec<u8>, String>> {
    let mut decoder = Chunked::new();
    let mut body = Vec::new();
    while !decoder.is_done() {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let n = buf.len();
        match decoder.feed(buf) {
            Ok(data) => body.extend(data),
            Err(fault) => return Ok(Err(fault)),
        }
        // Bytes past the body's end belong to the next request.
        let past = decoder.rest().len();
        reader.consume(n - past);
    }
    Ok(Ok(body))
}
