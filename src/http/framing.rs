//! Is a request's head safe to act on? Size limits and message framing (RFC 9112 §6).
//!
//! `tiny_http` parses the head without limits and picks a body framing by itself: the first
//! `Transfer-Encoding` header means chunked whatever its value, and a `Content-Length` it cannot
//! parse means "no body". A proxy that forwarded such a request could disagree with the next hop
//! about where the body ends (request smuggling). So before anything is forwarded, the head is
//! checked here and every ambiguous framing is refused with 400 and a closed connection:
//! `Content-Length` together with `Transfer-Encoding`, several different `Content-Length`s, a
//! length that is not a plain decimal number, a transfer coding other than exactly `chunked`.
//! Heads larger than [`MAX_HEAD_BYTES`] or with more than [`MAX_HEADERS`] fields get 431.
//!
//! Pure functions over name/value pairs, so they are unit-tested and fuzzed without sockets.

/// Largest request head (request line and header fields, as received) the proxy accepts.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields one request may carry.
pub const MAX_HEADERS: usize = 100;

/// How the body of an accepted request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (no `Content-Length`, no `Transfer-Encoding`).
    None,
    /// Exactly this many bytes (`Content-Length: 0` included: a POST keeps its length).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a head is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 431: too large or too many fields.
    TooLarge(String),
    /// 400: framing that could be read two ways, or a malformed field.
    Ambiguous(String),
}

/// Checks a request head and returns its body framing.
pub fn check_request<'a>(
    method: &str,
    target: &str,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<BodyFraming, Refusal> {
    // "METHOD SP target SP HTTP/1.1 CRLF" and "name: value CRLF" per field.
    let mut size = method.len() + target.len() + 12;
    let mut count = 0usize;
    let mut length: Option<u64> = None;
    let mut transfer_encodings = 0usize;
    let mut chunked = false;
    let mut hosts = 0usize;
    if let Some(authority) = crate::proxy::route::absolute_authority(target) {
        if authority.is_empty() || !valid_host(authority) {
            return Err(Refusal::Ambiguous(format!(
                "invalid authority in target '{}'",
                clip(authority)
            )));
        }
    }
    for (name, value) in headers {
        count += 1;
        size += name.len() + value.len() + 4;
        if name.eq_ignore_ascii_case("host") {
            // RFC 9112 §3.2: several Host lines or an invalid one is a 400; the upstream's
            // virtual host and the URLs it builds must not depend on which one a hop picks.
            hosts += 1;
            if hosts > 1 {
                return Err(Refusal::Ambiguous("several host fields".into()));
            }
            if !valid_host(value) {
                return Err(Refusal::Ambiguous(format!(
                    "invalid host '{}'",
                    clip(value)
                )));
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(',') {
                let n = parse_length(part.trim()).ok_or_else(|| {
                    Refusal::Ambiguous(format!("invalid content-length '{}'", clip(value)))
                })?;
                match length {
                    Some(prev) if prev != n => {
                        return Err(Refusal::Ambiguous("conflicting content-length".into()))
                    }
                    _ => length = Some(n),
                }
            }
            if value.contains(',') {
                // tiny_http cannot read a list; refuse rather than let it see "no body".
                return Err(Refusal::Ambiguous(
                    "content-length must be a single number".into(),
                ));
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encodings += 1;
            if !value.trim().eq_ignore_ascii_case("chunked") {
                return Err(Refusal::Ambiguous(format!(
                    "unsupported transfer-encoding '{}' (only chunked)",
                    clip(value)
                )));
            }
            chunked = true;
        }
    }
    if count > MAX_HEADERS {
        return Err(Refusal::TooLarge(format!(
            "{count} header fields (at most {MAX_HEADERS})"
        )));
    }
    if size > MAX_HEAD_BYTES {
        return Err(Refusal::TooLarge(format!(
            "request head of {size} bytes (at most {MAX_HEAD_BYTES})"
        )));
    }
    if transfer_encodings > 1 {
        return Err(Refusal::Ambiguous("repeated transfer-encoding".into()));
    }
    match (chunked, length) {
        (true, Some(_)) => Err(Refusal::Ambiguous(
            "both content-length and transfer-encoding".into(),
        )),
        (true, None) => Ok(BodyFraming::Chunked),
        (false, None) => Ok(BodyFraming::None),
        (false, Some(n)) => Ok(BodyFraming::Length(n)),
    }
}

/// `1*DIGIT` that fits the platform's `usize` (what `tiny_http` can represent).
fn parse_length(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = s.parse().ok()?;
    usize::try_from(n).ok()?;
    Some(n)
}

/// `uri-host [ ":" port ]` (RFC 3986 §3.2.2): reg-name, IPv4 or bracketed IP literal
/// characters only, so no path, userinfo, whitespace or control bytes reach the upstream.
fn valid_host(value: &str) -> bool {
    value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
            )
    })
}

/// At most 64 characters of a client-sent value, for error messages.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &[(&str, &str)]) -> Result<BodyFraming, Refusal> {
        check_request("POST", "/", headers.iter().copied())
    }

    #[test]
    fn plain_framings() {
        assert_eq!(check(&[]), Ok(BodyFraming::None));
        assert_eq!(
            check(&[("Content-Length", "0")]),
            Ok(BodyFraming::Length(0))
        );
        assert_eq!(
            check(&[("content-length", "42")]),
            Ok(BodyFraming::Length(42))
        );
        assert_eq!(
            check(&[("Content-Length", "42"), ("Content-Length", "42")]),
            Ok(BodyFraming::Length(42))
        );
        assert_eq!(
            check(&[("Transfer-Encoding", "Chunked")]),
            Ok(BodyFraming::Chunked)
        );
    }

    #[test]
    fn smuggling_shapes_are_refused() {
        let cases: &[&[(&str, &str)]] = &[
            &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
            &[("Transfer-Encoding", "chunked"), ("Content-Length", "0")],
            &[("Content-Length", "5"), ("Content-Length", "6")],
            &[("Host", "a"), ("host", "a")],
            &[("Host", "a/b")],
            &[("Host", "a b")],
            &[("Content-Length", "5, 6")],
            &[("Content-Length", "5, 5")],
            &[("Content-Length", "+5")],
            &[("Content-Length", "-1")],
            &[("Content-Length", "0x10")],
            &[("Content-Length", "")],
            &[("Content-Length", "99999999999999999999999")],
            &[("Transfer-Encoding", "gzip, chunked")],
            &[("Transfer-Encoding", "chunked, identity")],
            &[("Transfer-Encoding", "identity")],
            &[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "chunked"),
            ],
        ];
        for headers in cases {
            assert!(
                matches!(check(headers), Err(Refusal::Ambiguous(_))),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn size_and_count_limits() {
        let big = "x".repeat(MAX_HEAD_BYTES);
        assert!(matches!(
            check(&[("X-Big", big.as_str())]),
            Err(Refusal::TooLarge(_))
        ));
        let many: Vec<(&str, &str)> = (0..=MAX_HEADERS).map(|_| ("X-A", "b")).collect();
        assert!(matches!(check(&many), Err(Refusal::TooLarge(_))));
        let ok: Vec<(&str, &str)> = (0..MAX_HEADERS).map(|_| ("X-A", "b")).collect();
        assert_eq!(check(&ok), Ok(BodyFraming::None));
    }
}
