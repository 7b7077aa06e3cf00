//! Serialized origins (RFC 6454 §6.2: `scheme://host[:port]`) and the `--allowed-cors-origins`
//! patterns they are matched against.
//!
//! Only a well-formed origin can be allowed: `http` or `https`, a host that is a DNS name
//! (letters, digits, `-` and `_` in labels of at most 63 bytes) or a bracketed IPv6 literal,
//! and a port of digits. A browser never sends anything else, so a value with a space, a quote,
//! a path, user info, a control or any other odd character is a crafted one, and an allowed
//! origin is echoed into `Access-Control-Allow-Origin`: nothing about it may be loose. Patterns
//! follow the same grammar, with `*` allowed inside a host label.

use std::net::Ipv6Addr;

/// An allowed origin: scheme, host labels (a label may contain `*`, matching any run of
/// characters within that one label), and port.
#[derive(Debug, Clone)]
pub struct OriginPattern {
    pub(super) scheme: String,
    pub(super) labels: Vec<String>,
    pub(super) port: u16,
    pub(super) text: String,
    /// The host is compared as one string (the public origin, IPv6 literals).
    pub(super) exact_host: bool,
}

impl OriginPattern {
    /// Parses `http(s)://host[:port]` (one trailing `/` tolerated), where a host label may
    /// contain `*` (`https://*.example.org`, `https://pr-*.preview.example.org:8443`). A path,
    /// a query, user info, a wildcard in the port or in an IP literal, or a character that
    /// cannot be in a host is an error.
    pub fn parse(pattern: &str) -> Result<OriginPattern, String> {
        let bad = |why: &str| format!("--allowed-cors-origins '{pattern}' {why}");
        let (scheme, rest) = pattern
            .split_once("://")
            .ok_or_else(|| bad("must be an origin like https://app.example.org"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = default_port(&scheme).ok_or_else(|| bad("must use http or https"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("must be an origin (no path, query or user info)"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("has an invalid port"))?;
        if host.is_empty() {
            return Err(bad("has no host"));
        }
        let host = host.to_ascii_lowercase();
        let exact_host = host.starts_with('[');
        if exact_host {
            if host.contains('*') {
                return Err(bad("cannot use '*' in an IP address"));
            }
            if !is_ipv6_literal(&host) {
                return Err(bad("has an invalid IPv6 address"));
            }
        }
        let labels: Vec<String> = if exact_host {
            vec![host]
        } else {
            host.split('.').map(str::to_owned).collect()
        };
        if labels.iter().any(String::is_empty) {
            return Err(bad("has an empty host label"));
        }
        if !exact_host && !labels.iter().all(|l| is_label(l, true)) {
            return Err(bad(
                "has a character that cannot be in a host name (letters, digits, '-', '_', '*')",
            ));
        }
        Ok(OriginPattern {
            text: pattern.to_owned(),
            scheme,
            labels,
            port: port.unwrap_or(default_port),
            exact_host,
        })
    }

    pub(super) fn matches(&self, origin: &RequestOrigin) -> bool {
        if origin.scheme != self.scheme || origin.port != self.port {
            return false;
        }
        if self.exact_host {
            return origin.host == self.labels[0];
        }
        let labels: Vec<&str> = origin.host.split('.').collect();
        labels.len() == self.labels.len()
            && labels
                .iter()
                .zip(&self.labels)
                .all(|(l, p)| glob(p.as_bytes(), l.as_bytes()))
    }
}

/// A request's `Origin`, normalised (lowercase scheme and host, effective port).
#[derive(Debug)]
pub(super) struct RequestOrigin {
    scheme: String,
    host: String,
    port: u16,
}

impl RequestOrigin {
    /// The origin when `origin` is a well-formed serialized origin, exactly (no surrounding
    /// space, no trailing `/`), else `None`.
    pub(super) fn parse(origin: &str) -> Option<RequestOrigin> {
        let (scheme, rest) = origin.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = default_port(&scheme)?;
        let (host, port) = split_host_port(rest)?;
        let well_formed = if host.starts_with('[') {
            is_ipv6_literal(host)
        } else {
            host.len() <= 253 && host.split('.').all(|l| is_label(l, false))
        };
        well_formed.then(|| RequestOrigin {
            scheme,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(default_port),
        })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// A DNS label as browsers serialize hosts: 1 to 63 of letters, digits, `-` and `_` (and `*`
/// in a pattern).
fn is_label(label: &str, wildcard: bool) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (wildcard && b == b'*'))
}

/// `[v6]` with a valid IPv6 address inside.
fn is_ipv6_literal(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|inner| inner.parse::<Ipv6Addr>().is_ok())
}

/// Splits `host[:port]` (`[v6]:port` too); `None` when the port is not 1 to 5 digits.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let port_start = if authority.starts_with('[') {
        let close = authority.find(']')?;
        match &authority[close + 1..] {
            "" => return Some((authority, None)),
            p if p.starts_with(':') => close + 1,
            _ => return None,
        }
    } else {
        match authority.rfind(':') {
            Some(i) => i,
            None => return Some((authority, None)),
        }
    };
    let port = &authority[port_start + 1..];
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = port.parse::<u16>().ok()?;
    Some((&authority[..port_start], Some(port)))
}

/// `*` matches any run of bytes (within one label); everything else matches itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((p, rest)) => text
            .split_first()
            .is_some_and(|(t, tr)| p == t && glob(rest, tr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_origins() {
        for o in [
            "https://app.example.org",
            "HTTPS://APP.example.org:8443",
            "http://localhost:4000",
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
            "http://[2001:db8::1]",
            "https://my_host.local",
            "https://xn--bcher-kva.example",
        ] {
            assert!(RequestOrigin::parse(o).is_some(), "{o}");
        }
        for o in [
            "",
            "null",
            "https://",
            "https://a.example.org/",
            "https://a.example.org/x",
            "https://a.example.org?x",
            "https://u@a.example.org",
            " https://a.example.org",
            "https://a.example.org ",
            "https://a.example.org\u{2028}",
            "https://a.exa mple.org",
            "https://a\".example.org",
            "https://a'.example.org",
            "https://a.example.org\t",
            "https://evil\u{202e}.example",
            "https://bücher.example",
            "https://a..b",
            "https://.a",
            "https://a.example.org:",
            "https://a.example.org:+80",
            "https://a.example.org:80x",
            "https://a.example.org:65536",
            "https://a.example.org:000443",
            "https://*.example.org",
            "https://[::1",
            "https://[zz]",
            "https://[::1]x",
            "ftp://a.example.org",
        ] {
            assert!(RequestOrigin::parse(o).is_none(), "{o:?}");
        }
        let long = format!("https://{}.example", "a".repeat(64));
        assert!(RequestOrigin::parse(&long).is_none());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for p in [
            "example.org",
            "ftp://example.org",
            "https://example.org/app",
            "https://example.org:*",
            "https://",
            "https://a..b",
            "https://u@example.org",
            "https://[::*]",
            "https://[zz]",
            "https://a b.example.org",
            "https://a\".example.org",
            "https://a\u{202e}.example.org",
            "https://example.org:+1",
            "https://example.org:",
        ] {
            assert!(OriginPattern::parse(p).is_err(), "{p:?}");
        }
        for p in [
            "https://*.example.org",
            "https://pr-*.preview.example.org:8443",
            "http://[::1]:3000",
            "https://exact.example.com/",
        ] {
            assert!(OriginPattern::parse(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn globbing() {
        assert!(glob(b"*", b"abc"));
        assert!(glob(b"a*c", b"abbc"));
        assert!(glob(b"a*", b"a"));
        assert!(!glob(b"a*c", b"abd"));
        assert!(!glob(b"abc", b"ab"));
    }
}
