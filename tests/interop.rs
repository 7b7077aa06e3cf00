//! Interop: the proxy's tokens verify with a widely used JWT library outside this project,
//! PyJWT (with `cryptography` for ES256), using nothing but the JWKS the proxy serves.
//!
//! The Python side loads the JWKS with `PyJWKSet`, picks the key by the token's `kid`, and
//! decodes with `algorithms=["ES256"]`, the expected issuer and every time claim required; a
//! token with a flipped signature byte must be refused. Without Python + PyJWT the test says so
//! loudly and passes, unless `ORY_PROXY_TEST_REQUIRE_PYJWT=1` (set by `.ci/run`) demands it.

use crate::util::{jwt, proxy::bearer_of, FakeOry, ProxyProcess, Req, Upstream};
use std::process::Command;

const VERIFY_PY: &str = r#"
import json, sys
import jwt

jwks, token, issuer = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
header = jwt.get_unverified_header(token)
assert header["alg"] == "ES256" and header["typ"] == "JWT", header
key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
claims = jwt.decode(
    token,
    key=key.key,
    algorithms=["ES256"],
    issuer=issuer,
    options={"require": ["exp", "iat", "nbf", "iss", "sub", "jti"]},
)
parts = token.split(".")
sig = bytearray(jwt.utils.base64url_decode(parts[2]))
sig[10] ^= 1
forged = parts[0] + "." + parts[1] + "." + jwt.utils.base64url_encode(bytes(sig)).decode()
try:
    jwt.decode(forged, key=key.key, algorithms=["ES256"], issuer=issuer)
    print("FORGED TOKEN ACCEPTED")
    sys.exit(3)
except jwt.InvalidSignatureError:
    pass
print(json.dumps({"pyjwt": jwt.__version__, "claims": claims}))
"#;

/// A Python interpreter that can `import jwt, cryptography`.
fn python_with_pyjwt() -> Option<String> {
    ["/usr/bin/python3", "python3", "python"]
        .into_iter()
        .find(|py| {
            Command::new(py)
                .args(["-c", "import jwt, cryptography"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_owned)
}

#[test]
fn tokens_verify_with_pyjwt() {
    let Some(python) = python_with_pyjwt() else {
        assert!(
            std::env::var("ORY_PROXY_TEST_REQUIRE_PYJWT").as_deref() != Ok("1"),
            "ORY_PROXY_TEST_REQUIRE_PYJWT=1 but no python3 with PyJWT and cryptography"
        );
        eprintln!(
            "\n\n*** SKIPPED interop test: no python3 with PyJWT + cryptography \
             (apt-get install python3-jwt python3-cryptography; .ci/run does) ***\n"
        );
        return;
    };
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let session = ory.create_session("interop@example.org");
    let r = Req::get(&proxy.url("/"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200);
    let token = bearer_of(&upstream.last_request()).expect("token");
    let jwks = jwt::fetch_jwks(&proxy);

    let out = Command::new(&python)
        .args(["-c", VERIFY_PY, &jwks.to_string(), &token, &ory.url()])
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "PyJWT refused the token ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("python output");
    let claims = &result["claims"];
    assert_eq!(claims["sub"], session.identity_id);
    assert_eq!(claims["iss"], ory.url());
    assert_eq!(
        claims["session"]["identity"]["traits"]["email"],
        "interop@example.org"
    );
    assert!(result["pyjwt"].is_string());
}
