//! `--jwt-session full|identity|none` (issue 11 §3): each mode's claim set, verified with the
//! served JWKS, for a session with 50 devices; the token sizes; the one warning per process for
//! a token over 6 KiB; the mode kept by the session cache and by token reuse.

use crate::util::proxy::bearer_of;
use crate::util::usage::assert_refused;
use crate::util::{jwt, FakeOry, Stack, TestSession};
use serde_json::{json, Value};

/// A session like the one of a user who signed in from 50 browsers and phones.
fn many_devices(ory: &FakeOry, email: &str) -> TestSession {
    ory.create_session_with(email, |s| {
        let devices: Vec<Value> = (0..50)
            .map(|i| {
                json!({
                    "id": crate::util::uuid(),
                    "ip_address": format!("203.0.113.{i}"),
                    "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \
                                   AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 \
                                   Safari/537.36",
                    "location": "Berlin, DE",
                })
            })
            .collect();
        s["devices"] = Value::Array(devices);
        s["identity"]["metadata_public"] = json!({"plan": "team"});
        s["identity"]["recovery_addresses"] = json!([{"value": email, "via": "email"}]);
        s["identity"]["verifiable_addresses"] = json!([{"value": email, "verified": true}]);
    })
}

/// The token the upstream received for one request with the session's cookie.
fn token_for(s: &Stack, session: &TestSession) -> String {
    let before = s.upstream.request_count();
    let r = crate::util::client::get(&s.proxy.url("/page"), &[("cookie", &session.cookie())]);
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = s.upstream.wait_for_requests(before + 1)[before].clone();
    bearer_of(&seen).expect("a token for an active session")
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    n.sort();
    n
}

#[test]
fn full_carries_the_whole_session_and_warns_once_about_its_size() {
    let s = Stack::start(&["--jwt-session", "full"]);
    let session = many_devices(&s.ory, "full@example.org");
    let token = token_for(&s, &session);
    let claims = jwt::verify(&s.proxy, &token).claims;
    assert_eq!(claims["session"], session.json());
    assert_eq!(claims["session"]["devices"].as_array().unwrap().len(), 50);
    assert!(token.len() > 6 * 1024, "{} bytes", token.len());
    eprintln!(
        "jwt-session full, 50 devices: token {} bytes (whoami body {} bytes)",
        token.len(),
        session.body.len()
    );
    let warning = s
        .proxy
        .wait_for_log(|l| l.contains("WARN") && l.contains("minted a token"));
    assert!(
        warning.contains(&format!("{} bytes", token.len())) && warning.contains("--jwt-session"),
        "{warning}"
    );
    // A second large token (another session): no second warning.
    let other = many_devices(&s.ory, "again@example.org");
    token_for(&s, &other);
    let warnings = s.proxy.stderr().matches("minted a token").count();
    assert_eq!(warnings, 1, "{}", s.proxy.stderr());
}

#[test]
fn identity_keeps_who_the_user_is_in_under_2_kib() {
    let s = Stack::start(&["--jwt-session", "identity"]);
    let session = many_devices(&s.ory, "identity@example.org");
    let token = token_for(&s, &session);
    let claims = jwt::verify(&s.proxy, &token).claims;
    eprintln!(
        "jwt-session identity, 50 devices: token {} bytes",
        token.len()
    );
    assert!(token.len() < 2048, "{} bytes: {claims}", token.len());
    assert_eq!(
        names(&claims),
        ["exp", "iat", "iss", "jti", "nbf", "session", "sub"]
    );
    let whoami = session.json();
    assert_eq!(
        claims["session"],
        json!({
            "id": whoami["id"],
            "active": true,
            "expires_at": whoami["expires_at"],
            "authenticated_at": whoami["authenticated_at"],
            "authenticator_assurance_level": "aal1",
            "identity": {
                "id": session.identity_id,
                "schema_id": "default",
                "state": "active",
                "traits": {"email": "identity@example.org"},
                "metadata_public": {"plan": "team"},
            },
        })
    );
    assert_eq!(claims["sub"], session.identity_id);
    assert!(
        !s.proxy.stderr().contains("minted a token"),
        "no size warning for a small token: {}",
        s.proxy.stderr()
    );
}

#[test]
fn none_leaves_only_the_standard_claims_also_with_the_cache_off() {
    let s = Stack::start(&["--jwt-session", "none", "--session-cache-ttl", "0"]);
    let session = many_devices(&s.ory, "none@example.org");
    let first = token_for(&s, &session);
    let claims = jwt::verify(&s.proxy, &first).claims;
    assert_eq!(names(&claims), ["exp", "iat", "iss", "jti", "nbf", "sub"]);
    assert_eq!(claims["sub"], session.identity_id);
    assert_eq!(claims["iss"], s.ory.url());
    // Reused from the token memo (same session body): still without a session claim.
    let second = token_for(&s, &session);
    assert_eq!(second, first, "the token is reused while fresh");
    assert_eq!(s.ory.whoami_calls(), 2, "the cache is off: Ory asked twice");
}

#[test]
fn the_mode_comes_from_the_environment_and_bad_values_are_usage_errors() {
    let ory = FakeOry::start();
    let upstream = crate::util::Upstream::start();
    let proxy = crate::util::ProxyProcess::start_args(
        &[&upstream.url(), "--sdk-url", &ory.url()],
        &[("ORY_PROXY_JWT_SESSION", "identity")],
    );
    let s = Stack {
        ory,
        upstream,
        proxy,
    };
    let session = many_devices(&s.ory, "env@example.org");
    let claims = jwt::verify(&s.proxy, &token_for(&s, &session)).claims;
    assert!(claims["session"].get("devices").is_none(), "{claims}");
    assert_eq!(claims["session"]["identity"]["id"], session.identity_id);

    let sdk = [
        "http://127.0.0.1:3000",
        "--sdk-url",
        "http://127.0.0.1:4433",
    ];
    assert_refused(
        &[&sdk[..], &["--jwt-session", "some"]].concat(),
        &[],
        "--jwt-session 'some' must be 'full', 'identity' or 'none'",
    );
    assert_refused(
        &[&sdk[..], &["--jwt-session", "none", "--no-jwt"]].concat(),
        &[],
        "--jwt-session needs the session lookup",
    );
}
