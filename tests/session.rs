//! Session lookup and tokens (SPEC §5): anonymous and signed-in requests, the credentials that
//! trigger a lookup, the token verified with the served JWKS, `Authorization` never smuggled,
//! the JWKS endpoints, `--no-jwt`, and the whoami `Set-Cookie` reaching the client.

use crate::util::head_request::head_mirrors_get;
use crate::util::proxy::bearer_of;
use crate::util::Stack;
use crate::util::{jwt, Req, TestSession};
use serde_json::Value;

fn setup(extra: &[&str]) -> Stack {
    Stack::start(extra)
}

/// Sends `GET path` with these headers; returns the upstream's view of it.
fn through(s: &Stack, path: &str, headers: &[(&str, &str)]) -> crate::util::Recorded {
    let before = s.upstream.request_count();
    let r = crate::util::client::get(&s.proxy.url(path), headers);
    assert_eq!(r.status, 200, "{}", r.text());
    let all = s.upstream.wait_for_requests(before + 1);
    all[before].clone()
}

/// Verifies the token the upstream received and checks it against the session.
fn assert_token_for(s: &Stack, seen: &crate::util::Recorded, session: &TestSession) -> Value {
    assert_eq!(
        seen.header_all("authorization").len(),
        1,
        "exactly one Authorization: {:?}",
        seen.headers
    );
    let token = bearer_of(seen).expect("a bearer token");
    let v = jwt::verify(&s.proxy, &token);
    let jwks = jwt::fetch_jwks(&s.proxy);
    assert_eq!(
        v.header["kid"], jwks["keys"][0]["kid"],
        "signed by the first key"
    );
    let header_keys: Vec<&String> = v.header.as_object().unwrap().keys().collect();
    assert_eq!(header_keys, ["alg", "kid", "typ"], "{}", v.header);
    let c = &v.claims;
    assert_eq!(c["iss"], s.ory.url(), "iss is the SDK URL without a slash");
    assert_eq!(c["sub"], session.identity_id);
    assert_eq!(
        c["session"],
        session.json(),
        "session claim is the whoami body"
    );
    let iat = c["iat"].as_i64().expect("iat");
    assert_eq!(c["nbf"].as_i64(), Some(iat));
    assert_eq!(c["exp"].as_i64(), Some(iat + 60), "exp - iat = 60");
    let now = crate::util::unix_now();
    assert!(
        (now - 300..=now + 5).contains(&iat),
        "iat {iat} near now {now}"
    );
    let jti = c["jti"].as_str().expect("jti");
    assert_eq!(jti.len(), 36, "{jti}");
    assert_eq!(&jti[14..15], "4", "UUID v4: {jti}");
    c.clone()
}

#[test]
fn anonymous_request_is_not_looked_up_and_has_no_authorization() {
    let s = setup(&[]);
    let seen = through(&s, "/page", &[("Accept", "text/html")]);
    assert!(!seen.has_header("authorization"), "{:?}", seen.headers);
    assert_eq!(s.ory.whoami_calls(), 0);
    assert!(s.ory.requests().is_empty());
}

#[test]
fn signed_in_by_cookie() {
    let s = setup(&[]);
    let session = s.ory.create_session("cookie@example.org");
    let cookie = format!("theme=dark; {}; other=1", session.cookie());
    let seen = through(
        &s,
        "/dashboard?tab=1",
        &[("Cookie", &cookie), ("X-Request-Id", "req-42")],
    );
    assert_token_for(&s, &seen, &session);
    // The cookie itself still reaches the application.
    assert_eq!(seen.header("cookie"), Some(cookie.as_str()));
    // What Ory was asked.
    let w = s.ory.whoami_requests();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].method, "GET");
    assert_eq!(w[0].target, "/sessions/whoami");
    assert_eq!(w[0].header("cookie"), Some(cookie.as_str()));
    assert_eq!(w[0].header("accept"), Some("application/json"));
    assert_eq!(w[0].header("x-request-id"), Some("req-42"));
    assert_eq!(w[0].header("host"), Some(s.ory.authority().as_str()));
    assert!(w[0].body.is_empty());
}

#[test]
fn signed_in_by_session_token() {
    let s = setup(&[]);
    let session = s.ory.create_session("token@example.org");
    let seen = through(&s, "/api", &[("X-Session-Token", &session.token)]);
    assert_token_for(&s, &seen, &session);
    let w = s.ory.whoami_requests();
    assert_eq!(w[0].header("x-session-token"), Some(session.token.as_str()));
    // The client's session token travels on to the application.
    assert_eq!(seen.header("x-session-token"), Some(session.token.as_str()));
}

#[test]
fn signed_in_by_bearer_which_the_proxy_replaces() {
    let s = setup(&[]);
    let session = s.ory.create_session("bearer@example.org");
    let seen = through(&s, "/api", &[("Authorization", &session.bearer())]);
    assert_token_for(&s, &seen, &session);
    assert_ne!(
        seen.header("authorization"),
        Some(session.bearer().as_str()),
        "the Ory session token must not reach the application"
    );
    let w = s.ory.whoami_requests();
    assert_eq!(
        w[0].header("authorization"),
        Some(session.bearer().as_str())
    );
}

#[test]
fn forged_authorization_never_reaches_the_upstream() {
    let s = setup(&[]);
    // Not a credential: no lookup, and the header is dropped.
    let seen = through(&s, "/a", &[("Authorization", "Basic YWRtaW46YWRtaW4=")]);
    assert!(!seen.has_header("authorization"), "{:?}", seen.headers);
    assert_eq!(s.ory.whoami_calls(), 0);

    // A forged bearer: Ory says 401, the request goes on anonymous, without it.
    let forged = "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.";
    let seen = through(&s, "/b", &[("Authorization", forged)]);
    assert!(!seen.has_header("authorization"), "{:?}", seen.headers);
    assert_eq!(s.ory.whoami_calls(), 1);

    // Signed in by cookie plus a forged header (twice, in two casings): only the proxy's token.
    let session = s.ory.create_session("victim@example.org");
    let seen = through(
        &s,
        "/c",
        &[
            ("Cookie", &session.cookie()),
            ("Authorization", "Basic Zm9yZ2VkOg=="),
            ("authorization", "Bearer forged"),
        ],
    );
    assert_token_for(&s, &seen, &session);
}

#[test]
fn different_sessions_get_different_subjects() {
    let s = setup(&[]);
    let a = s.ory.create_session("a@example.org");
    let b = s.ory.create_session("b@example.org");
    let ta = assert_token_for(&s, &through(&s, "/", &[("Cookie", &a.cookie())]), &a);
    let tb = assert_token_for(&s, &through(&s, "/", &[("Cookie", &b.cookie())]), &b);
    assert_ne!(ta["sub"], tb["sub"]);
    assert_ne!(ta["jti"], tb["jti"]);
}

#[test]
fn unknown_credentials_are_anonymous() {
    let s = setup(&[]);
    for headers in [
        vec![("Cookie", "ory_kratos_session=unknown")],
        vec![("X-Session-Token", "unknown")],
        vec![("Cookie", "just=a-cookie")],
    ] {
        let seen = through(&s, "/", &headers);
        assert!(!seen.has_header("authorization"), "{headers:?}");
    }
    assert_eq!(s.ory.whoami_calls(), 3);
}

#[test]
fn jwks_endpoints_are_served_by_the_proxy() {
    let s = setup(&[]);
    let a = crate::util::client::get(&s.proxy.url("/.ory/jwks.json"), &[]);
    let b = crate::util::client::get(&s.proxy.url("/.ory/proxy/jwks.json"), &[]);
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.json(), b.json());
    let keys = a.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    let mut fields: Vec<&String> = keys[0].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    // HEAD answers as GET would, without the body, and the connection goes on.
    for path in ["/.ory/jwks.json", "/.ory/proxy/jwks.json"] {
        let seen = head_mirrors_get(s.proxy.addr, path, "application/json");
        assert_eq!(seen.head_status, 200, "{path}");
        assert_eq!(seen.get.json(), a.json(), "{path}");
    }
    assert!(
        s.ory.requests().is_empty(),
        "JWKS requests are never forwarded"
    );
    assert_eq!(s.upstream.request_count(), 0);
}

#[test]
fn no_jwt_does_no_session_work_and_passes_authorization() {
    let s = setup(&["--no-jwt"]);
    let session = s.ory.create_session("nojwt@example.org");
    let seen = through(
        &s,
        "/x",
        &[
            ("Cookie", &session.cookie()),
            ("Authorization", "Basic dTpw"),
        ],
    );
    assert_eq!(seen.header("authorization"), Some("Basic dTpw"));
    assert_eq!(s.ory.whoami_calls(), 0);

    // No JWKS: /.ory/jwks.json belongs to Ory again, /.ory/proxy/jwks.json is the proxy's 404.
    let r = crate::util::client::get(&s.proxy.url("/.ory/jwks.json"), &[]);
    assert_eq!(r.status, 404, "from the fake Ory");
    assert_eq!(s.ory.last_request().target, "/jwks.json");
    let r = crate::util::client::get(&s.proxy.url("/.ory/proxy/jwks.json"), &[]);
    r.assert_proxy_error(404);
    s.proxy.wait_for_log(|l| l.contains("--no-jwt"));
}

#[test]
fn whoami_set_cookie_is_passed_to_the_client() {
    let s = setup(&[]);
    s.ory.set_whoami_cookies(&[
        "ory_kratos_session=refreshed; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax",
    ]);
    s.upstream.always(
        crate::util::Reply::new(200)
            .header("Set-Cookie", "app=1; Path=/")
            .body("ok"),
    );
    let session = s.ory.create_session("refresh@example.org");
    let r = Req::get(&s.proxy.url("/"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200);
    let cookies = r.header_all("set-cookie");
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies.iter().any(|c| c.starts_with("app=1")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("ory_kratos_session=refreshed") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
}

#[test]
fn ory_requests_never_trigger_a_lookup() {
    let s = setup(&[]);
    let session = s.ory.create_session("ory@example.org");
    let r = Req::get(&s.proxy.url("/.ory/sessions/whoami"))
        .header("Cookie", &session.cookie())
        .send();
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["identity"]["id"], session.identity_id);
    // Ory bodies are rewritten for the public URL; the session itself is untouched.
    let public = format!("http://{}/.ory", s.proxy.public_authority());
    assert!(
        body["identity"]["schema_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&public)),
        "{body}"
    );
    // One whoami: the client's own, forwarded; none made by the proxy for it.
    assert_eq!(s.ory.whoami_calls(), 1);
    let req = s.ory.last_request();
    assert_eq!(req.header("cookie"), Some(session.cookie().as_str()));
}
