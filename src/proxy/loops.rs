//! Requests that come back: an upstream (or, in tunnel mode, an Ory URL) that is the proxy's
//! own address.
//!
//! `ory-proxy http://localhost:4000` is an easy slip with the default port 4000. Without a
//! check each request is forwarded to the proxy again, about four thousand times, until the
//! connection limit answers `503 proxy overloaded`, which sends the user looking for the wrong
//! problem. RFC 9110 §7.6.3 has intermediaries add `Via`; ours carries a token drawn once per
//! process, so a request that arrives with it has been here before and is answered 508 Loop
//! Detected at once: one error line, not thousands. The token is random rather than the host
//! name so that two proxies in a chain (or replicas behind one balancer) never take each
//! other's requests for their own.

use crate::http::head::Request;
use crate::proxy::header_pairs;

/// This process's `Via` received-by token: `ory-proxy-` and 16 hex digits.
pub(crate) fn token() -> String {
    let mut b = [0u8; 8];
    if crate::random::fill(&mut b).is_err() {
        // Without /dev/urandom: still different between processes and restarts.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        b = (u64::from(std::process::id()) << 32 | u64::from(nanos)).to_le_bytes();
    }
    format!("ory-proxy-{:016x}", u64::from_le_bytes(b))
}

/// Whether one of the request's `Via` entries (`1.1 <token>`, comma-separated, any number of
/// fields) was received by this process.
pub(crate) fn came_back(request: &Request, token: &str) -> bool {
    header_pairs(request)
        .filter(|(n, _)| n.eq_ignore_ascii_case("via"))
        .flat_map(|(_, v)| v.split(','))
        .any(|entry| entry.split_whitespace().nth(1) == Some(token))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_differ_and_look_like_a_pseudonym() {
        let (a, b) = (super::token(), super::token());
        assert_ne!(a, b);
        assert!(a.starts_with("ory-proxy-") && a.len() == 26, "{a}");
    }
}
