//! Strict reading of what the proxy sends: a head (RFC 9112 §2-5) and how its body is framed
//! (RFC 9112 §6). The readers of [`super::raw`], [`super::conn`] and [`super::client`] build on
//! it, so a test that reads the proxy's bytes itself reads them one way, and strictly.
//!
//! The proxy is the sender these readers check: a fault is the proxy's, and fails the test
//! (with the bytes), never something to read around. Checked:
//!
//! - every line ends in CRLF (no bare CR or LF), no line folded or starting with whitespace;
//! - the start line: `HTTP/1.1 NNN reason` (a reason the proxy always sends; `HTTP/1.0` only
//!   where the test asks for it), or a request line `METHOD target HTTP/1.1`;
//! - a field is `name: value`: the name a token, the colon right after it (`Name : v` is a
//!   fault), the value without control bytes;
//! - framing: `Content-Length` once and digits only (`+5`, `5, 5` and a second
//!   `Content-Length` are faults); `Transfer-Encoding` once and exactly `chunked` (the only
//!   coding the proxy applies); never both (RFC 9112 §6.3: a sender must not send both);
//!   neither in a `1xx` or `204` (RFC 9110 §8.6, RFC 9112 §6.1).
//!
//! Duplicate fields are all kept, in order: [`one`] refuses to pick one of several (the test
//! then says what it expects with [`all`]).

/// `(name, value)` in order, names as sent, values without surrounding whitespace.
pub type Fields = Vec<(String, String)>;

/// How a message's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: a `1xx`, `204` or `304`, or a request without a length.
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// A response with neither: the body ends at the close.
    ToClose,
}

/// Splits a head (the bytes before the empty line that ends it) into its start line and its
/// fields, checking the line endings and every field line.
pub fn parse_head(head: &[u8]) -> Result<(String, Fields), String> {
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    let last = lines.len() - 1;
    let mut text_lines = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        // Every line but the last was followed by an LF, which must have had a CR before it;
        // the last one is followed by the CRLF CRLF that ends the head.
        let line = if i < last {
            line.strip_suffix(b"\r")
                .ok_or_else(|| format!("line {} ends in a bare LF", i + 1))?
        } else {
            line
        };
        if line.contains(&b'\r') {
            return Err(format!("line {} holds a bare CR", i + 1));
        }
        text_lines.push(line);
    }
    let (first, fields) = text_lines.split_first().ok_or("an empty head")?;
    let first = std::str::from_utf8(first)
        .map_err(|_| "the start line is not UTF-8".to_owned())?
        .to_owned();
    let fields = fields
        .iter()
        .map(|line| field(line))
        .collect::<Result<Fields, String>>()?;
    Ok((first, fields))
}

/// One `name: value` line.
fn field(line: &[u8]) -> Result<(String, String), String> {
    let shown = String::from_utf8_lossy(line);
    if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return Err(format!(
            "a line starting with whitespace (obs-fold): {shown:?}"
        ));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| format!("a field line without a colon: {shown:?}"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.last().is_some_and(|&b| b == b' ' || b == b'\t') {
        return Err(format!("whitespace before the colon: {shown:?}"));
    }
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(format!("a field name that is not a token: {shown:?}"));
    }
    let value = trim_ows(value);
    if value.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return Err(format!("a control byte in a field value: {shown:?}"));
    }
    Ok((
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}

/// A head's start line (a status line saying `version`, or a request line), fields and framing,
/// all checked.
pub fn checked_head(head: &[u8], version: &str) -> Result<(String, Fields, Framing), String> {
    let (first, headers) = parse_head(head)?;
    let status = if first.starts_with("HTTP/") {
        Some(status_line(&first, version)?)
    } else {
        request_line(&first).map_err(|_| {
            format!("neither a status line `{version} NNN reason` nor a request line: {first:?}")
        })?;
        None
    };
    let framing = framing(status, &headers)?;
    Ok((first, headers, framing))
}

/// Checks a status line: exactly `version`, a space, three digits, a space and a reason
/// phrase; returns the status.
pub fn status_line(first: &str, version: &str) -> Result<u16, String> {
    let fault = |what: &str| format!("{what}: {first:?}");
    let rest = first
        .strip_prefix(version)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| fault(&format!("not a {version} status line")))?;
    let (code, reason) = rest
        .split_at_checked(3)
        .ok_or_else(|| fault("no status code"))?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !code.starts_with(['1', '2', '3', '4', '5']) {
        return Err(fault(
            "a status code that is not three digits from 100 to 599",
        ));
    }
    let reason = reason
        .strip_prefix(' ')
        .ok_or_else(|| fault("no space after the status code"))?;
    if reason.is_empty() {
        return Err(fault("no reason phrase"));
    }
    if reason.starts_with([' ', '\t']) {
        return Err(fault("whitespace before the reason phrase"));
    }
    if reason.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(fault("a control byte in the reason phrase"));
    }
    Ok(code.parse().expect("three digits"))
}

/// Checks a request line: a method token, a target without whitespace, `HTTP/1.1`.
pub fn request_line(first: &str) -> Result<(), String> {
    let parts: Vec<&str> = first.split(' ').collect();
    let ok = match parts[..] {
        [method, target, "HTTP/1.1"] => {
            !method.is_empty()
                && method.bytes().all(is_tchar)
                && !target.is_empty()
                && target.bytes().all(|b| b.is_ascii_graphic())
        }
        _ => false,
    };
    ok.then_some(())
        .ok_or_else(|| format!("not a request line `METHOD target HTTP/1.1`: {first:?}"))
}

/// Checks the framing fields of a message (a response when `status` is given) and says how its
/// body is delimited.
pub fn framing(status: Option<u16>, fields: &[(String, String)]) -> Result<Framing, String> {
    let lengths = all(fields, "content-length");
    let codings = all(fields, "transfer-encoding");
    let length = match lengths[..] {
        [] => None,
        [n] if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Some(
            n.parse::<u64>()
                .map_err(|_| format!("Content-Length overflows: {n:?}"))?,
        ),
        [n] => return Err(format!("Content-Length not digits only: {n:?}")),
        _ => {
            return Err(format!(
                "Content-Length sent {} times: {lengths:?}",
                lengths.len()
            ))
        }
    };
    let chunked = match codings[..] {
        [] => false,
        [c] if c.eq_ignore_ascii_case("chunked") => true,
        [c] => return Err(format!("Transfer-Encoding other than chunked: {c:?}")),
        _ => {
            return Err(format!(
                "Transfer-Encoding sent {} times: {codings:?}",
                codings.len()
            ))
        }
    };
    if length.is_some() && chunked {
        return Err(
            "both Content-Length and Transfer-Encoding (RFC 9112 §6.3: a sender must not send both)"
                .to_owned(),
        );
    }
    let framed = length
        .map(Framing::Length)
        .or(chunked.then_some(Framing::Chunked));
    Ok(match status {
        Some(s) if (100..200).contains(&s) || s == 204 => {
            if let Some(f) = framed {
                return Err(format!(
                    "{f:?} framing in a {s} (RFC 9110 §8.6, RFC 9112 §6.1)"
                ));
            }
            Framing::None
        }
        Some(304) => Framing::None,
        Some(_) => framed.unwrap_or(Framing::ToClose),
        None => framed.unwrap_or(Framing::None),
    })
}

/// The value of a field sent at most once; panics when it was sent more than once (the test
/// must then say which it expects, with [`all`]).
pub fn one<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    match all(fields, name)[..] {
        [] => None,
        [v] => Some(v),
        ref several => panic!("{name} sent {} times: {several:?}", several.len()),
    }
}

/// Every value of a field, in order.
pub fn all<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A field value without the optional whitespace (SP, HTAB) around it.
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(head: &str) -> Result<Framing, String> {
        let (first, fields) = parse_head(head.as_bytes())?;
        framing(Some(status_line(&first, "HTTP/1.1")?), &fields)
    }

    #[test]
    fn reads_good_heads_and_refuses_each_fault() {
        let ok = "HTTP/1.1 200 OK\r\nA: 1\r\nA:2\r\nContent-Length: 5";
        assert_eq!(response(ok), Ok(Framing::Length(5)));
        let (_, fields) = parse_head(ok.as_bytes()).unwrap();
        assert_eq!(all(&fields, "a"), ["1", "2"]);
        assert_eq!(
            response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"),
            Ok(Framing::Chunked)
        );
        assert_eq!(response("HTTP/1.1 599 Unknown"), Ok(Framing::ToClose));
        assert_eq!(
            response("HTTP/1.1 304 Not Modified\r\nContent-Length: 3"),
            Ok(Framing::None)
        );
        assert!(request_line("GET /a?b HTTP/1.1").is_ok());
        for bad in [
            "HTTP/1.0 200 OK",
            "HTTP/1.1 200",
            "HTTP/1.1 200 ",
            "HTTP/1.1  200 OK",
            "HTTP/1.1 20 OK",
            "HTTP/1.1 600 Odd",
            "HTTP/1.1 200 OK\nA: 1",
            "HTTP/1.1 200 OK\r\nA : 1",
            "HTTP/1.1 200 OK\r\nA\r: 1",
            "HTTP/1.1 200 OK\r\n A: 1",
            "HTTP/1.1 200 OK\r\nA: 1\r\n b",
            "HTTP/1.1 200 OK\r\nno colon",
            "HTTP/1.1 200 OK\r\nA(: 1",
            "HTTP/1.1 200 OK\r\nA: x\x01y",
            "HTTP/1.1 200 OK\r\nContent-Length: +5",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 5",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            "HTTP/1.1 204 No Content\r\nContent-Length: 0",
            "HTTP/1.1 101 Switching Protocols\r\nTransfer-Encoding: chunked",
        ] {
            assert!(response(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "GET /a HTTP/1.0",
            "GET  /a HTTP/1.1",
            "G(T /a HTTP/1.1",
            "GET /a b HTTP/1.1",
        ] {
            assert!(request_line(bad).is_err(), "{bad:?}");
        }
        assert_eq!(status_line("HTTP/1.0 200 OK", "HTTP/1.0"), Ok(200));
    }
}
