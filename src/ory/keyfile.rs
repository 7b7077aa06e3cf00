//! Signing keys from a file: a private JWKS, validated completely before the proxy starts.
//!
//! Replicas behind a load balancer must sign with the same key, and a restart must not invalidate
//! the tokens applications already hold, so the key can come from a file (`--jwks-file`). The file
//! is a JSON Web Key Set (RFC 7517 §5) of P-256 keys *with* their private part `d`:
//!
//! ```json
//! {"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid":"…","x":"…","y":"…","d":"…"}]}
//! ```
//!
//! The first key signs; every key's public half is published at `/.ory/jwks.json`. That order is
//! what makes rotation a three-step, zero-downtime procedure (docs/operations.md, "Keys and rotation"): add
//! the new key second (published, not yet signing), move it first (signing), drop the old one once
//! no token signed by it can still be valid.
//!
//! Everything that could make a replica sign tokens nobody can verify is refused at start-up with
//! the file's path and the reason: a key of another type or curve, a `d` that does not belong to
//! `x`/`y`, duplicate key ids, an empty set. A key without `kid` gets its RFC 7638 thumbprint, so
//! the id is the same on every replica and after every restart. No message ever quotes `d`.

use crate::ory::jwt::{generate_signing_key, public_jwk, thumbprint, NamedKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::{SigningKey, VerifyingKey};
use std::collections::HashSet;
use std::io::{self, Read};
use std::path::Path;

/// The largest key file read (a key is ~250 bytes; this allows thousands).
pub const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

/// Reads and validates a key file. The error names the path and the reason.
pub fn load(path: &Path) -> Result<Vec<NamedKey>, String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("key file '{shown}': {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("key file '{shown}': {e}"))?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(format!(
            "key file '{shown}': larger than 1 MiB, not a key set"
        ));
    }
    parse(&bytes).map_err(|reason| format!("key file '{shown}': {reason}"))
}

/// Whether a key file can be read by users other than its owner (Unix), for a start-up warning.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Parses and validates a private JWKS document.
pub fn parse(json: &[u8]) -> Result<Vec<NamedKey>, String> {
    let doc: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
        // serde_json's messages quote positions, never content, so they are safe to show.
        format!("not valid JSON ({e})")
    })?;
    let list = match doc.get("keys") {
        Some(serde_json::Value::Array(list)) => list,
        Some(_) => return Err("\"keys\" must be an array".into()),
        None if doc.get("kty").is_some() => {
            return Err("this is a single key; wrap it in a key set: {\"keys\":[ … ]}".into())
        }
        None => return Err("not a key set: expected {\"keys\":[ … ]}".into()),
    };
    if list.is_empty() {
        return Err("the key set has no keys".into());
    }
    let mut keys = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for (i, jwk) in list.iter().enumerate() {
        let key = parse_key(jwk).map_err(|reason| format!("key {}: {reason}", i + 1))?;
        if !seen.insert(key.kid.clone()) {
            return Err(format!(
                "key {}: duplicate kid \"{}\" (every key needs its own id)",
                i + 1,
                key.kid
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

fn parse_key(jwk: &serde_json::Value) -> Result<NamedKey, String> {
    let obj = jwk.as_object().ok_or("not a JSON object")?;
    let text = |name: &str| -> Result<Option<&str>, String> {
        match obj.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("\"{name}\" must be a string")),
        }
    };
    match text("kty")? {
        Some("EC") => {}
        Some(other) => {
            return Err(format!(
                "kty \"{other}\" is not supported: only EC keys on P-256 (ES256)"
            ))
        }
        None => return Err("missing \"kty\" (expected \"EC\")".into()),
    }
    match text("crv")? {
        Some("P-256") => {}
        Some(other) => {
            return Err(format!(
                "curve \"{other}\" is not supported: only P-256 (ES256)"
            ))
        }
        None => return Err("missing \"crv\" (expected \"P-256\")".into()),
    }
    if let Some(alg) = text("alg")? {
        if alg != "ES256" {
            return Err(format!("alg \"{alg}\" does not match a P-256 key (ES256)"));
        }
    }
    if let Some(usage) = text("use")? {
        if usage != "sig" {
            return Err(format!("use \"{usage}\" is not \"sig\""));
        }
    }
    let x = coordinate(text("x")?, "x")?;
    let y = coordinate(text("y")?, "y")?;
    let d = match text("d")? {
        Some(d) => d,
        None => {
            return Err("no private part \"d\": the key file holds private keys \
                        (make one with --generate-jwks)"
                .into())
        }
    };
    let d = decode_32(d).map_err(|why| format!("\"d\" {why}"))?;
    let key = SigningKey::from_bytes(&d.into())
        .map_err(|_| "\"d\" is not a valid P-256 private key (zero or not below the order)")?;
    let mut sec1 = [0u8; 65];
    sec1[0] = 4;
    sec1[1..33].copy_from_slice(&x);
    sec1[33..].copy_from_slice(&y);
    let stated =
        VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| "\"x\"/\"y\" is not a point on P-256")?;
    if &stated != key.verifying_key() {
        return Err(
            "\"d\" does not match \"x\"/\"y\" (the public half belongs to another key)".into(),
        );
    }
    let kid = match text("kid")? {
        Some("") => return Err("\"kid\" is empty".into()),
        Some(kid) if kid.len() > 256 => return Err("\"kid\" is longer than 256 bytes".into()),
        Some(kid) => kid.to_owned(),
        None => thumbprint(key.verifying_key()),
    };
    Ok(NamedKey { kid, key })
}

fn coordinate(value: Option<&str>, name: &str) -> Result<[u8; 32], String> {
    let value = value.ok_or_else(|| format!("missing \"{name}\""))?;
    decode_32(value).map_err(|why| format!("\"{name}\" {why}"))
}

/// Decodes a base64url field that must hold exactly 32 bytes. The message never quotes the value.
fn decode_32(value: &str) -> Result<[u8; 32], &'static str> {
    let bytes = URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| "is not base64url")?;
    bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (a P-256 value, leading zeros kept)")
}

/// The private JWK of a key (public members plus `d`). Only for `--generate-jwks`.
pub fn private_jwk(kid: &str, key: &SigningKey) -> serde_json::Value {
    let mut jwk = public_jwk(kid, key.verifying_key());
    jwk["d"] = serde_json::Value::String(URL_SAFE_NO_PAD.encode(key.to_bytes()));
    jwk
}

/// A fresh private JWKS with one key whose `kid` is its thumbprint, pretty-printed, for
/// `--generate-jwks`.
pub fn generate_private_jwks() -> io::Result<String> {
    let key = generate_signing_key()?;
    let kid = thumbprint(key.verifying_key());
    let doc = serde_json::json!({ "keys": [private_jwk(&kid, &key)] });
    let mut text = serde_json::to_string_pretty(&doc).map_err(io::Error::other)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ory::jwt::{Claims, KeySet};
    use sha2::{Digest, Sha256};

    fn private(kid: Option<&str>) -> (SigningKey, serde_json::Value) {
        let key = generate_signing_key().unwrap();
        let mut jwk = private_jwk(kid.unwrap_or(""), &key);
        if kid.is_none() {
            jwk.as_object_mut().unwrap().remove("kid");
        }
        (key, jwk)
    }

    fn set(keys: Vec<serde_json::Value>) -> Vec<u8> {
        serde_json::json!({ "keys": keys }).to_string().into_bytes()
    }

    fn err(doc: &[u8]) -> String {
        match parse(doc) {
            Ok(_) => panic!("accepted {}", String::from_utf8_lossy(doc)),
            Err(e) => e,
        }
    }

    #[test]
    fn generated_set_round_trips_and_signs() {
        let text = generate_private_jwks().unwrap();
        let keys = parse(text.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid, thumbprint(keys[0].key.verifying_key()));
        let set = KeySet::new(keys);
        let token = set
            .mint(&Claims {
                issuer: "http://x",
                subject: "s",
                session_json: "{}",
                session_claim: crate::ory::claims::SessionClaim::Full,
                now: 1,
                ttl_secs: 60,
            })
            .unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert!(!String::from_utf8_lossy(set.jwks_json()).contains("\"d\""));
    }

    #[test]
    fn two_keys_first_signs_both_published() {
        let (_, new) = private(Some("new"));
        let (_, old) = private(Some("old"));
        let keys = parse(&set(vec![new, old])).unwrap();
        let set = KeySet::new(keys);
        assert_eq!(set.kid(), "new");
        let jwks: serde_json::Value = serde_json::from_slice(set.jwks_json()).unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["new", "old"]);
    }

    #[test]
    fn missing_kid_gets_rfc7638_thumbprint() {
        // RFC 7638 §3.1 describes the canonical form; check ours against a hand-computed digest.
        let (key, jwk) = private(None);
        let keys = parse(&set(vec![jwk.clone()])).unwrap();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        assert_eq!(keys[0].kid, expected);
        assert_eq!(keys[0].kid, thumbprint(key.verifying_key()));
        assert_eq!(keys[0].kid.len(), 43);
    }

    #[test]
    fn rfc7517_example_key_is_accepted() {
        // RFC 7517 Appendix A.2's P-256 private key (its "use":"enc" dropped); the expected kid
        // is the RFC 7638 thumbprint computed independently (Python hashlib).
        let doc = br#"{"keys":[{"kty":"EC","crv":"P-256",
            "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
            "d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}]}"#;
        let keys = parse(doc).unwrap();
        assert_eq!(keys[0].kid, "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
        assert!(!format!("{:?}", keys[0]).contains("870MB6"));
    }

    #[test]
    fn bad_documents_are_refused_with_a_reason() {
        assert!(err(b"").contains("not valid JSON"));
        assert!(err(b"{\"keys\":").contains("not valid JSON"));
        assert!(err(b"[]").contains("not a key set"));
        assert!(err(b"{\"keys\":{}}").contains("must be an array"));
        assert!(err(b"{\"keys\":[]}").contains("no keys"));
        assert!(err(b"{\"kty\":\"EC\"}").contains("single key"));
        assert!(err(b"{\"keys\":[5]}").contains("key 1: not a JSON object"));
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        let (_, good) = private(Some("k"));
        let with = |name: &str, value: serde_json::Value| {
            let mut jwk = good.clone();
            jwk[name] = value;
            set(vec![jwk])
        };
        let without = |name: &str| {
            let mut jwk = good.clone();
            jwk.as_object_mut().unwrap().remove(name);
            set(vec![jwk])
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (with("kty", "RSA".into()), "kty \"RSA\" is not supported"),
            (with("kty", "OKP".into()), "kty \"OKP\""),
            (with("crv", "P-384".into()), "curve \"P-384\""),
            (with("crv", "secp256k1".into()), "curve \"secp256k1\""),
            (with("alg", "ES384".into()), "alg \"ES384\""),
            (with("use", "enc".into()), "use \"enc\""),
            (with("kid", "".into()), "\"kid\" is empty"),
            (with("kid", 7.into()), "\"kid\" must be a string"),
            (without("d"), "no private part \"d\""),
            (without("x"), "missing \"x\""),
            (without("kty"), "missing \"kty\""),
            (with("d", "!!!".into()), "\"d\" is not base64url"),
            (with("d", "AAAA".into()), "\"d\" must be 32 bytes"),
            (
                with("d", URL_SAFE_NO_PAD.encode([0u8; 32]).into()),
                "not a valid P-256 private key",
            ),
            (
                with("x", URL_SAFE_NO_PAD.encode([1u8; 32]).into()),
                "not a point on P-256",
            ),
        ];
        for (doc, expected) in cases {
            let e = err(&doc);
            assert!(
                e.starts_with("key 1: ") && e.contains(expected),
                "{expected}: {e}"
            );
        }
    }

    #[test]
    fn mismatched_private_part_is_refused_without_quoting_it() {
        let (_, a) = private(Some("a"));
        let (_, b) = private(Some("b"));
        let mut mixed = a.clone();
        mixed["d"] = b["d"].clone();
        let e = err(&set(vec![mixed]));
        assert!(e.contains("\"d\" does not match \"x\"/\"y\""), "{e}");
        assert!(!e.contains(b["d"].as_str().unwrap()));
    }

    #[test]
    fn duplicate_kids_are_refused() {
        let (_, a) = private(Some("same"));
        let (_, b) = private(Some("same"));
        let e = err(&set(vec![a, b]));
        assert!(e.contains("key 2: duplicate kid \"same\""), "{e}");
    }

    #[test]
    fn load_names_the_path() {
        let dir = std::env::temp_dir().join(format!("ory-proxy-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.json");
        let e = load(&missing).unwrap_err();
        assert!(
            e.contains(&missing.display().to_string()) && e.contains("No such file"),
            "{e}"
        );
        let bad = dir.join("bad.json");
        std::fs::write(&bad, b"{\"keys\":[]}").unwrap();
        let e = load(&bad).unwrap_err();
        assert!(e.contains("bad.json") && e.contains("no keys"), "{e}");
        let good = dir.join("good.json");
        std::fs::write(&good, generate_private_jwks().unwrap()).unwrap();
        assert_eq!(load(&good).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
