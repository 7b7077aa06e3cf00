//! Is a request's body framing safe to act on? (RFC 9112 §6)
//!
//! A proxy that forwarded an ambiguous framing could disagree with the next hop about where the
//! body ends (request smuggling). So every ambiguous framing is refused with 400 and a closed
//! connection: `Content-Length` together with `Transfer-Encoding`, several different
//! `Content-Length`s, a length that is not a plain decimal number, a transfer coding other than
//! exactly `chunked`, several or invalid `Host` fields. A declared length above
//! [`MAX_BODY_LENGTH`] is refused with 413 before a byte of it is read.
//!
//! Pure functions over name/value pairs, so they are unit-tested without sockets.

use crate::http::error::Error;

/// Largest `Content-Length` accepted: 1 TiB. Bodies are streamed, never held, so the cap is not
/// about memory; it refuses lengths no real upload has (and that some next hops would
/// mishandle) before anything is read or forwarded.
pub const MAX_BODY_LENGTH: u64 = 1 << 40;

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

/// Checks a request's framing fields and returns its body framing.
pub fn check_request<'a>(
    target: &str,
    headers: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> Result<BodyFraming, Error> {
    let bad = |m: String| Error::BadHead(m);
    let mut length: Option<u64> = None;
    let mut transfer_encodings = 0usize;
    let mut chunked = false;
    let mut hosts = 0usize;
    if let Some(authority) = crate::http::target::absolute_authority(target) {
        if authority.is_empty() || !valid_host(authority.as_bytes()) {
            return Err(bad(format!(
                "invalid authority in target '{}'",
                clip(authority.as_bytes())
            )));
        }
    }
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("host") {
            // RFC 9112 §3.2: several Host lines or an invalid one is a 400; the upstream's
            // virtual host and the URLs it builds must not depend on which one a hop picks.
            hosts += 1;
            if hosts > 1 {
                return Err(bad("several host fields".into()));
            }
            if !valid_host(value) {
                return Err(bad(format!("invalid host '{}'", clip(value))));
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            if value.contains(&b',') {
                return Err(bad("content-length must be a single number".into()));
            }
            let n = parse_length(value)
                .ok_or_else(|| bad(format!("invalid content-length '{}'", clip(value))))?;
            match length {
                Some(prev) if prev != n => return Err(bad("conflicting content-length".into())),
                _ => length = Some(n),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encodings += 1;
            if !value.eq_ignore_ascii_case(b"chunked") {
                return Err(bad(format!(
                    "unsupported transfer-encoding '{}' (only chunked)",
                    clip(value)
                )));
            }
            chunked = true;
        }
    }
    if transfer_encodings > 1 {
        return Err(bad("repeated transfer-encoding".into()));
    }
    match (chunked, length) {
        (true, Some(_)) => Err(bad("both content-length and transfer-encoding".into())),
        (true, None) => Ok(BodyFraming::Chunked),
        (false, None) => Ok(BodyFraming::None),
        (false, Some(n)) if n > MAX_BODY_LENGTH => Err(Error::BodyTooLarge(format!(
            "content-length {n} is larger than {MAX_BODY_LENGTH} bytes"
        ))),
        (false, Some(n)) => Ok(BodyFraming::Length(n)),
    }
}

/// `1*DIGIT` that fits a `u64`.
fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `uri-host [ ":" port ]` (RFC 3986 §3.2.2): reg-name, IPv4 or bracketed IP literal
/// characters only, so no path, userinfo, whitespace or control bytes reach the upstream.
fn valid_host(value: &[u8]) -> bool {
    value.iter().all(|&b| {
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
fn clip(s: &[u8]) -> String {
    String::from_utf8_lossy(&s[..s.len().min(64)])
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The framing, or the refusal's status.
    fn check(headers: &[(&str, &str)]) -> Result<BodyFraming, u16> {
        check_request("/", headers.iter().map(|(n, v)| (*n, v.as_bytes()))).map_err(|e| e.status())
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
            assert_eq!(check(headers), Err(400), "{headers:?}");
        }
    }

    #[test]
    fn lengths_beyond_the_cap_are_413() {
        let at = MAX_BODY_LENGTH.to_string();
        assert_eq!(
            check(&[("Content-Length", at.as_str())]),
            Ok(BodyFraming::Length(MAX_BODY_LENGTH))
        );
        let over = (MAX_BODY_LENGTH + 1).to_string();
        assert_eq!(check(&[("Content-Length", over.as_str())]), Err(413));
    }
}
