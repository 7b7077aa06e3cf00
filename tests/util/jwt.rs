//! Verifies the proxy's tokens the way an application would: with the JWKS the proxy serves.
//!
//! The token's header names a `kid`; the key with that id is taken from `/.ory/jwks.json`, its
//! `x`/`y` coordinates become a P-256 verifying key, and the ES256 signature (raw `r‖s`,
//! RFC 7518 §3.4) is checked over `header.payload`. Any deviation panics with a clear message.

use super::client::get;
use super::proxy::ProxyProcess;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

/// A verified token.
#[derive(Debug, Clone)]
pub struct Verified {
    pub header: Value,
    pub claims: Value,
}

/// Fetches the JWKS from the proxy (asserting its shape and content type).
pub fn fetch_jwks(proxy: &ProxyProcess) -> Value {
    let r = get(&proxy.url("/.ory/jwks.json"), &[]);
    assert_eq!(r.status, 200, "jwks: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "jwks content-type"
    );
    r.json()
}

/// The key ids the proxy publishes right now, in order.
pub fn published_kids(proxy: &ProxyProcess) -> Vec<String> {
    fetch_jwks(proxy)["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// Verifies `token` with the proxy's served JWKS; returns header and claims.
pub fn verify(proxy: &ProxyProcess, token: &str) -> Verified {
    verify_with_jwks(&fetch_jwks(proxy), token)
}

fn decode(part: &str, what: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_else(|e| panic!("token {what} is not base64url without padding: {e}"))
}

/// Verifies `token` with a JWKS document.
pub fn verify_with_jwks(jwks: &Value, token: &str) -> Verified {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    let header: Value = serde_json::from_slice(&decode(parts[0], "header"))
        .unwrap_or_else(|e| panic!("token header is not JSON: {e}"));
    assert_eq!(header["alg"], "ES256", "header {header}");
    assert_eq!(header["typ"], "JWT", "header {header}");
    let kid = header["kid"]
        .as_str()
        .unwrap_or_else(|| panic!("token header without kid: {header}"));
    let keys = jwks["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("JWKS without keys: {jwks}"));
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS {jwks}"));
    for (field, want) in [
        ("kty", "EC"),
        ("crv", "P-256"),
        ("alg", "ES256"),
        ("use", "sig"),
    ] {
        assert_eq!(jwk[field], want, "jwk {field}: {jwk}");
    }
    assert!(
        jwk.get("d").is_none(),
        "the JWKS leaks a private key: {jwk}"
    );
    let x = decode(jwk["x"].as_str().expect("jwk x"), "jwk x");
    let y = decode(jwk["y"].as_str().expect("jwk y"), "jwk y");
    assert_eq!(
        (x.len(), y.len()),
        (32, 32),
        "jwk coordinates must be 32 bytes"
    );
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    let key = VerifyingKey::from_sec1_bytes(&sec1)
        .unwrap_or_else(|e| panic!("jwk is not a P-256 point: {e}"));
    let sig = decode(parts[2], "signature");
    assert_eq!(sig.len(), 64, "ES256 signature must be raw r||s (64 bytes)");
    let sig = Signature::from_slice(&sig).unwrap_or_else(|e| panic!("bad signature bytes: {e}"));
    let signed = format!("{}.{}", parts[0], parts[1]);
    key.verify(signed.as_bytes(), &sig)
        .unwrap_or_else(|e| panic!("signature does not verify with kid {kid}: {e}"));
    let claims: Value = serde_json::from_slice(&decode(parts[1], "payload"))
        .unwrap_or_else(|e| panic!("token payload is not JSON: {e}"));
    Verified { header, claims }
}
