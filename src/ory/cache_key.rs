//! Cache keys derived from credentials, so that the session cache never holds a secret.
//!
//! The key is the SHA-256 of the credentials whoami sees (the `Cookie` header,
//! `X-Session-Token`, `Authorization`), each length-prefixed so that no two different triples
//! frame to the same bytes. A collision would hand one user another's session, which is why a
//! cryptographic hash (not a 64-bit hasher) is used. For logout, each entry also keeps the
//! 128-bit hashes of its single parts (each `name=value` cookie pair, the token, the bearer), so
//! a logout request evicts every entry that shares one of them.

use crate::ory::session::Credentials;
use sha2::{Digest, Sha256};

/// A cache key: SHA-256 of the framed credentials.
pub type Key = [u8; 32];
/// A hash of one credential part (a cookie pair, the token, the bearer), for logout eviction.
pub type Part = [u8; 16];

/// The key of a request's credentials.
pub fn key_of(creds: &Credentials<'_>) -> Key {
    let mut h = Sha256::new();
    for (tag, value) in [
        (b'c', creds.cookie),
        (b't', creds.session_token),
        (b'a', creds.authorization),
    ] {
        match value {
            Some(v) => {
                h.update([tag]);
                h.update((v.len() as u64).to_be_bytes());
                h.update(v.as_bytes());
            }
            None => h.update([0u8]),
        }
    }
    h.finalize().into()
}

/// The hashes of the single credential parts of a request: every `name=value` pair of the
/// `Cookie` header, the session token and the `Authorization` value.
pub fn parts_of(creds: &Credentials<'_>) -> Vec<Part> {
    fn part(tag: u8, value: &str) -> Part {
        let digest = Sha256::new()
            .chain_update([tag])
            .chain_update(value.as_bytes())
            .finalize();
        let mut p = [0u8; 16];
        p.copy_from_slice(&digest[..16]);
        p
    }
    let mut parts = Vec::new();
    if let Some(cookie) = creds.cookie {
        parts.extend(
            cookie
                .split(';')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| part(b'c', c)),
        );
    }
    if let Some(t) = creds.session_token.map(str::trim).filter(|t| !t.is_empty()) {
        parts.push(part(b't', t));
    }
    if let Some(a) = creds.authorization.map(str::trim).filter(|a| !a.is_empty()) {
        parts.push(part(b'a', a));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(cookie: &str) -> Credentials<'_> {
        Credentials {
            cookie: Some(cookie),
            ..Credentials::default()
        }
    }

    #[test]
    fn keys_frame_their_parts() {
        let a = key_of(&creds("x=1"));
        assert_eq!(a, key_of(&creds("x=1")));
        assert_ne!(a, key_of(&creds("x=2")));
        // The same text in another header is another key.
        let t = Credentials {
            session_token: Some("x=1"),
            ..Credentials::default()
        };
        assert_ne!(a, key_of(&t));
        let both = Credentials {
            cookie: Some("a"),
            session_token: Some("b"),
            ..Credentials::default()
        };
        let shifted = Credentials {
            cookie: Some("ab"),
            session_token: Some(""),
            ..Credentials::default()
        };
        assert_ne!(key_of(&both), key_of(&shifted));
        assert_eq!(parts_of(&creds(" a=1; b=2 ;")).len(), 2);
        assert_eq!(parts_of(&creds("a=1; b=2"))[1], parts_of(&creds("b=2"))[0]);
    }
}
