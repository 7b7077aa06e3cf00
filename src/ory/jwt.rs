//! ES256 tokens and the JWKS that verifies them, assembled by hand.
//!
//! A compact JWS is three base64url parts: a fixed header, the claims, and the raw 64-byte `r‖s`
//! ECDSA P-256/SHA-256 signature over `header.claims` (RFC 7515 §7.1, RFC 7518 §3.4). Doing it
//! here takes a page and keeps a JOSE library out of the dependency budget; the header and the
//! JWKS document are rendered once per key set, so a token costs one signature and one
//! serialisation of the claims.
//!
//! The `session` claim is the whoami body *as received* (Ory's JSON, already validated by the
//! caller), spliced in without re-encoding, or the part of it `--jwt-session` asks for (see
//! [`crate::ory::claims`]).

use crate::ory::claims::SessionClaim;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::io;
use std::sync::Arc;

/// The keys of this process: the first signs, all are published in the JWKS.
pub struct KeySet {
    signing: SigningKey,
    /// `base64url({"alg":"ES256","kid":…,"typ":"JWT"})`, rendered once.
    header_b64: String,
    kid: String,
    /// The RFC 7638 thumbprint of the signing key: which key signed a remembered token, even
    /// when a reloaded file gives another key the same `kid`.
    signer: Arc<str>,
    /// Every published key id, in file order.
    kids: Vec<String>,
    jwks_json: Vec<u8>,
}

/// One key: its id and its private half.
pub struct NamedKey {
    pub kid: String,
    pub key: SigningKey,
}

/// Shows the key id and the public key only: the private part is never printed.
impl std::fmt::Debug for NamedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedKey")
            .field("kid", &self.kid)
            .field("key", &"<private>")
            .finish()
    }
}

impl KeySet {
    /// A fresh P-256 key with a random key id, for a proxy started without a key file.
    pub fn generate() -> io::Result<KeySet> {
        let key = generate_signing_key()?;
        let mut id = [0u8; 12];
        crate::random::fill(&mut id)?;
        Ok(KeySet::new(vec![NamedKey {
            kid: URL_SAFE_NO_PAD.encode(id),
            key,
        }]))
    }

    /// A key set whose first key signs; every key's public half is published.
    ///
    /// # Panics
    /// When `keys` is empty (callers validate their input first).
    pub fn new(keys: Vec<NamedKey>) -> KeySet {
        let jwks = serde_json::json!({
            "keys": keys.iter().map(|k| public_jwk(&k.kid, k.key.verifying_key())).collect::<Vec<_>>()
        });
        let kids = keys.iter().map(|k| k.kid.clone()).collect();
        let mut keys = keys.into_iter();
        let first = keys.next().expect("a key set needs at least one key");
        let header = serde_json::json!({"alg": "ES256", "kid": first.kid, "typ": "JWT"});
        // `json!` keeps keys sorted, which is the order the contract shows: alg, kid, typ.
        KeySet {
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
            signer: thumbprint(first.key.verifying_key()).into(),
            kid: first.kid,
            signing: first.key,
            kids,
            jwks_json: jwks.to_string().into_bytes(),
        }
    }

    /// The id of the signing key (the token header's `kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Identifies the signing key itself (its thumbprint), for remembering who signed a token.
    pub fn signer(&self) -> &Arc<str> {
        &self.signer
    }

    /// Every published key id, the signing key's first.
    pub fn kids(&self) -> &[String] {
        &self.kids
    }

    /// The public JWKS document served at `/.ory/jwks.json`.
    pub fn jwks_json(&self) -> &[u8] {
        &self.jwks_json
    }

    /// Mints a token for a session.
    ///
    /// `session_json` must be valid JSON (the whoami body); `now` is Unix seconds.
    pub fn mint(&self, claims: &Claims<'_>) -> io::Result<String> {
        let jti = crate::random::uuid_v4()?;
        let session = claims.session_claim.claim(claims.session_json);
        let mut payload = String::with_capacity(session.as_ref().map_or(0, |s| s.len()) + 256);
        payload.push_str("{\"iss\":");
        push_json_string(&mut payload, claims.issuer);
        payload.push_str(",\"sub\":");
        push_json_string(&mut payload, claims.subject);
        if let Some(session) = session {
            payload.push_str(",\"session\":");
            payload.push_str(&session);
        }
        let exp = claims.now + claims.ttl_secs;
        payload.push_str(&format!(
            ",\"iat\":{now},\"nbf\":{now},\"exp\":{exp},\"jti\":\"{jti}\"}}",
            now = claims.now
        ));
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 90);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), &mut token);
        let signature: Signature = self.signing.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        Ok(token)
    }
}

/// What goes into a token besides the fixed header.
pub struct Claims<'a> {
    /// `iss`: the SDK URL without a trailing slash.
    pub issuer: &'a str,
    /// `sub`: the identity id.
    pub subject: &'a str,
    /// The whoami body as received.
    pub session_json: &'a str,
    /// How much of it goes into the `session` claim (`--jwt-session`).
    pub session_claim: SessionClaim,
    /// `iat` and `nbf`, Unix seconds.
    pub now: u64,
    /// `exp - iat`.
    pub ttl_secs: u64,
}

/// A fresh random P-256 private key.
pub fn generate_signing_key() -> io::Result<SigningKey> {
    // A random 32-byte string is a valid scalar unless it is zero or ≥ n (probability ~2^-32).
    for _ in 0..16 {
        let mut bytes = [0u8; 32];
        crate::random::fill(&mut bytes)?;
        if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
            return Ok(key);
        }
    }
    Err(io::Error::other("could not draw a valid P-256 scalar"))
}

/// The public JWK of a key (RFC 7517/7518): fixed-width 32-byte coordinates, base64url.
pub fn public_jwk(kid: &str, key: &VerifyingKey) -> serde_json::Value {
    let point = key.to_encoded_point(false);
    let (x, y) = match (point.x(), point.y()) {
        (Some(x), Some(y)) => (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y)),
        // An uncompressed encoding of a public key always has both coordinates.
        _ => (String::new(), String::new()),
    };
    serde_json::json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": x, "y": y,
    })
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a &str to JSON cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// The RFC 7638 JWK thumbprint of a P-256 public key: base64url(SHA-256 of the canonical JSON of
/// the required members `crv`, `kty`, `x`, `y` in lexicographic order, without whitespace).
pub fn thumbprint(key: &VerifyingKey) -> String {
    let jwk = public_jwk("", key);
    let x = jwk["x"].as_str().unwrap_or_default();
    let y = jwk["y"].as_str().unwrap_or_default();
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;

    fn decode_json(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn token_verifies_with_published_key() {
        let keys = KeySet::generate().unwrap();
        let session = r#"{"id":"s1","active":true,"identity":{"id":"i1"}}"#;
        let token = keys
            .mint(&Claims {
                issuer: "https://x.projects.oryapis.com",
                subject: "i1",
                session_json: session,
                session_claim: SessionClaim::Full,
                now: 1000,
                ttl_secs: 60,
            })
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header_raw = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(
            String::from_utf8(header_raw).unwrap(),
            format!(r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#, keys.kid())
        );
        let claims = decode_json(parts[1]);
        assert_eq!(claims["iss"], "https://x.projects.oryapis.com");
        assert_eq!(claims["sub"], "i1");
        assert_eq!(claims["session"]["identity"]["id"], "i1");
        assert_eq!(claims["iat"], 1000);
        assert_eq!(claims["nbf"], 1000);
        assert_eq!(claims["exp"], 1060);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 36);

        let jwks: serde_json::Value = serde_json::from_slice(keys.jwks_json()).unwrap();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kid"], keys.kid());
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
        assert_eq!((x.len(), y.len()), (32, 32));
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let vk = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let sig_bytes = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(sig_bytes.len(), 64);
        let sig = Signature::from_slice(&sig_bytes).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        vk.verify(signed.as_bytes(), &sig).unwrap();
        let mut tampered = signed.into_bytes();
        tampered[5] ^= 1;
        assert!(vk.verify(&tampered, &sig).is_err());
    }

    #[test]
    fn escapes_claim_strings() {
        let keys = KeySet::generate().unwrap();
        let token = keys
            .mint(&Claims {
                issuer: "http://a\"b",
                subject: "x\\y",
                session_json: " {} ",
                session_claim: SessionClaim::Full,
                now: 1,
                ttl_secs: 5,
            })
            .unwrap();
        let claims = decode_json(token.split('.').nth(1).unwrap());
        assert_eq!(claims["iss"], "http://a\"b");
        assert_eq!(claims["sub"], "x\\y");
        assert_eq!(claims["exp"], 6);
    }

    #[test]
    fn session_claim_follows_the_mode() {
        let keys = KeySet::generate().unwrap();
        let session = r#"{"id":"s1","active":true,"devices":[{"id":"d"}],"identity":{"id":"i1"}}"#;
        let claims_for = |session_claim| {
            let token = keys
                .mint(&Claims {
                    issuer: "http://x",
                    subject: "i1",
                    session_json: session,
                    session_claim,
                    now: 1,
                    ttl_secs: 5,
                })
                .unwrap();
            decode_json(token.split('.').nth(1).unwrap())
        };
        let none = claims_for(SessionClaim::None);
        let mut names: Vec<&str> = none
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["exp", "iat", "iss", "jti", "nbf", "sub"]);
        let identity = claims_for(SessionClaim::Identity);
        assert_eq!(
            identity["session"],
            serde_json::json!({"id":"s1","active":true,"identity":{"id":"i1"}})
        );
        let full = claims_for(SessionClaim::Full);
        assert_eq!(full["session"]["devices"][0]["id"], "d");
    }

    #[test]
    fn every_key_is_published_first_signs() {
        let a = generate_signing_key().unwrap();
        let b = generate_signing_key().unwrap();
        let set = KeySet::new(vec![
            NamedKey {
                kid: "new".into(),
                key: a,
            },
            NamedKey {
                kid: "old".into(),
                key: b,
            },
        ]);
        assert_eq!(set.kid(), "new");
        let jwks: serde_json::Value = serde_json::from_slice(set.jwks_json()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][1]["kid"], "old");
        assert!(!String::from_utf8_lossy(set.jwks_json()).contains("\"d\""));
    }
}
