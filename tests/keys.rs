//! Signing keys from `--jwks-file`: generation, loading, rotation, restarts, and every kind of
//! bad file refused at start-up with the path and the reason.

use crate::util::files::TempDir;
use crate::util::{jwt, proxy::bearer_of, run_cli, FakeOry, ProxyProcess, Req, Upstream};
use serde_json::{json, Value};

/// A fresh private JWKS from `ory-proxy --generate-jwks`.
fn generate() -> Value {
    let out = run_cli(&["--generate-jwks"], &[]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// The single key of a generated set.
fn generated_key() -> Value {
    generate()["keys"][0].clone()
}

/// A token minted by `proxy` for a new session of `ory`.
fn token_from(proxy: &ProxyProcess, ory: &FakeOry, upstream: &Upstream) -> String {
    let session = ory.create_session("keys@example.org");
    let r = Req::get(&proxy.url("/"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    bearer_of(&upstream.last_request()).expect("a token reached the upstream")
}

fn start_with_file(upstream: &Upstream, ory: &FakeOry, file: &std::path::Path) -> ProxyProcess {
    let path = file.to_str().expect("utf-8 path");
    ProxyProcess::start(&upstream.url(), &ory.url(), &["--jwks-file", path])
}

#[test]
fn generate_jwks_prints_a_private_p256_set() {
    let set = generate();
    let keys = set["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(
        (k["kty"].as_str(), k["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(k["alg"], "ES256");
    for member in ["x", "y", "d", "kid"] {
        assert!(
            k[member].as_str().is_some_and(|v| !v.is_empty()),
            "{member} in {k}"
        );
    }
    assert_ne!(generated_key()["d"], k["d"], "every run draws a new key");
}

#[test]
fn key_file_signs_and_only_its_public_half_is_published() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("keys");
    let key = generated_key();
    let file = dir.write("keys.json", json!({ "keys": [key] }).to_string());
    let proxy = start_with_file(&upstream, &ory, &file);

    let served = jwt::fetch_jwks(&proxy);
    let published = served["keys"].as_array().unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["kid"], key["kid"]);
    assert_eq!(published[0]["x"], key["x"]);
    assert_eq!(published[0]["y"], key["y"]);
    assert!(
        published[0].get("d").is_none(),
        "private part published: {served}"
    );

    let token = token_from(&proxy, &ory, &upstream);
    let verified = jwt::verify(&proxy, &token);
    assert_eq!(verified.header["kid"], key["kid"]);
    let stderr = proxy.stderr();
    assert!(
        !stderr.contains(key["d"].as_str().unwrap()),
        "d logged: {stderr}"
    );
    assert!(
        stderr.contains(key["kid"].as_str().unwrap()),
        "kid not named: {stderr}"
    );
}

#[test]
fn a_restart_with_the_same_file_keeps_tokens_valid() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("restart");
    let file = dir.write("keys.json", generate().to_string());
    let first = start_with_file(&upstream, &ory, &file);
    let token = token_from(&first, &ory, &upstream);
    drop(first);
    // Also through the environment variable this time.
    let path = file.to_str().unwrap();
    let second = ProxyProcess::start_args(
        &[&upstream.url(), "--sdk-url", &ory.url()],
        &[("ORY_PROXY_JWKS_FILE", path)],
    );
    jwt::verify(&second, &token);
}

#[test]
fn rotation_publishes_both_keys_and_the_first_signs() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("rotate");
    let (old, new) = (generated_key(), generated_key());

    // Before: only the old key.
    let before = dir.write("before.json", json!({ "keys": [old] }).to_string());
    let proxy = start_with_file(&upstream, &ory, &before);
    let old_token = token_from(&proxy, &ory, &upstream);
    drop(proxy);

    // Step 1: the new key is added second: published, the old one still signs.
    let step1 = dir.write("step1.json", json!({ "keys": [old, new] }).to_string());
    let proxy = start_with_file(&upstream, &ory, &step1);
    assert_eq!(
        jwt::published_kids(&proxy),
        [old["kid"].as_str().unwrap(), new["kid"].as_str().unwrap()]
    );
    assert_eq!(
        jwt::verify(&proxy, &token_from(&proxy, &ory, &upstream)).header["kid"],
        old["kid"]
    );
    drop(proxy);

    // Step 2: the new key moves first and signs; tokens of the old key still verify.
    let step2 = dir.write("step2.json", json!({ "keys": [new, old] }).to_string());
    let proxy = start_with_file(&upstream, &ory, &step2);
    let new_token = token_from(&proxy, &ory, &upstream);
    assert_eq!(jwt::verify(&proxy, &new_token).header["kid"], new["kid"]);
    assert_eq!(jwt::verify(&proxy, &old_token).header["kid"], old["kid"]);
    drop(proxy);

    // Step 3: the old key is dropped; only the new one is published.
    let step3 = dir.write("step3.json", json!({ "keys": [new] }).to_string());
    let proxy = start_with_file(&upstream, &ory, &step3);
    let jwks = jwt::fetch_jwks(&proxy);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    jwt::verify_with_jwks(&jwks, &new_token);
}

/// The example P-256 key of RFC 7517, Appendix A.1 (public) and A.2 (private).
const RFC7517_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
const RFC7517_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
const RFC7517_D: &str = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";
/// Its RFC 7638 thumbprint, computed outside this project with OpenSSL:
/// `printf '%s' '{"crv":"P-256","kty":"EC","x":"<x>","y":"<y>"}' | openssl dgst -sha256 -binary
/// | openssl base64 -A | tr '+/' '-_' | tr -d '='`.
const RFC7517_THUMBPRINT: &str = "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s";

/// RFC 7638 §3 in Python's standard library (`json`, `hashlib`, `base64`), not the proxy's
/// code: the required members `crv`, `kty`, `x`, `y` in lexicographic order, no whitespace,
/// SHA-256, base64url without padding. One thumbprint per key, in order.
const THUMBPRINT_PY: &str = r#"
import base64, hashlib, json, sys
for k in json.loads(sys.argv[1]):
    for c in ("x", "y"):
        assert len(base64.urlsafe_b64decode(k[c] + "=" * (-len(k[c]) % 4))) == 32, k
    canonical = json.dumps({"kty": "EC", "crv": "P-256", "x": k["x"], "y": k["y"]},
                           sort_keys=True, separators=(",", ":"))
    assert canonical.startswith('{"crv":"P-256","kty":"EC","x":"'), canonical
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    print(base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))
"#;

/// The RFC 7638 thumbprints of `keys`, computed by `python3` (a requirement of the test
/// suite, see `.ci/run`).
fn thumbprints_by_python(keys: &[&Value]) -> Vec<String> {
    let out = std::process::Command::new("python3")
        .args(["-c", THUMBPRINT_PY, &json!(keys).to_string()])
        .output()
        .expect("run python3 (needed for the RFC 7638 check)");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn generated_and_unnamed_keys_are_named_by_their_rfc7638_thumbprint() {
    let rfc_key =
        json!({ "kty": "EC", "crv": "P-256", "x": RFC7517_X, "y": RFC7517_Y, "d": RFC7517_D });
    let mut generated = generated_key();
    let generated_kid = generated.as_object_mut().unwrap().remove("kid").unwrap();
    let expected = thumbprints_by_python(&[&rfc_key, &generated]);
    // The Python computation agrees with OpenSSL's on the RFC's key.
    assert_eq!(expected[0], RFC7517_THUMBPRINT);
    // --generate-jwks names its key by the thumbprint.
    assert_eq!(
        generated_kid,
        expected[1].as_str(),
        "kid of the generated key"
    );

    // Keys without a kid in a key file get theirs.
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("thumbprint");
    let file = dir.write(
        "keys.json",
        json!({ "keys": [rfc_key, generated] }).to_string(),
    );
    let proxy = start_with_file(&upstream, &ory, &file);
    assert_eq!(
        jwt::published_kids(&proxy),
        [RFC7517_THUMBPRINT, expected[1].as_str()]
    );
    // The first signs, under its thumbprint.
    let token = token_from(&proxy, &ory, &upstream);
    assert_eq!(
        jwt::verify(&proxy, &token).header["kid"],
        RFC7517_THUMBPRINT
    );
}

#[test]
fn bad_key_files_are_refused_with_path_and_reason() {
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let dir = TempDir::new("bad");
    let good = generated_key();
    let other = generated_key();
    let edit = |change: &dyn Fn(&mut Value)| {
        let mut k = good.clone();
        change(&mut k);
        json!({ "keys": [k] }).to_string()
    };
    let public_only = edit(&|k| {
        k.as_object_mut().unwrap().remove("d");
    });
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("missing.json", None, "No such file or directory"),
        ("a-directory", None, "Is a directory"),
        ("empty.json", Some(String::new()), "not valid JSON"),
        (
            "truncated.json",
            Some("{\"keys\":[{".into()),
            "not valid JSON",
        ),
        ("no-keys.json", Some(r#"{"keys":[]}"#.into()), "no keys"),
        ("not-a-set.json", Some("[1,2]".into()), "not a key set"),
        ("public.json", Some(public_only), "no private part \"d\""),
        (
            "p384.json",
            Some(edit(&|k| k["crv"] = "P-384".into())),
            "curve \"P-384\"",
        ),
        (
            "rsa.json",
            Some(edit(&|k| k["kty"] = "RSA".into())),
            "kty \"RSA\"",
        ),
        (
            "mismatch.json",
            Some(edit(&|k| k["d"] = other["d"].clone())),
            "\"d\" does not match \"x\"/\"y\"",
        ),
        (
            "duplicate.json",
            Some(json!({ "keys": [good, same_kid(&other, &good)] }).to_string()),
            "duplicate kid",
        ),
    ];
    std::fs::create_dir(dir.path().join("a-directory")).unwrap();
    for (name, content, reason) in cases {
        let path = match content {
            Some(c) => dir.write(name, c),
            None => dir.path().join(name),
        };
        let path = path.to_str().unwrap().to_owned();
        let out = run_cli(
            &[
                &upstream.url(),
                "--sdk-url",
                &ory.url(),
                "--jwks-file",
                &path,
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
            ],
            &[],
        );
        assert_eq!(out.code, Some(1), "{name}: {out:?}");
        assert!(
            out.stderr.contains(&path) && out.stderr.contains(reason),
            "{name}: expected the path and {reason:?} in {:?}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("listening"),
            "{name}: {:?}",
            out.stderr
        );
        for d in [&good["d"], &other["d"]] {
            assert!(
                !out.stderr.contains(d.as_str().unwrap()),
                "{name}: d in stderr"
            );
        }
    }
}

/// `key` renamed to `like`'s kid.
fn same_kid(key: &Value, like: &Value) -> Value {
    let mut k = key.clone();
    k["kid"] = like["kid"].clone();
    k
}
